/**
 * The built bundle (dist/neuronos-chat.js, made by `npm run build`): one script tag must be
 * enough, and loading it twice must not throw. Skipped when the bundle has not been built.
 * Runs in its own page (wtr gives every test file one), apart from element.test.ts's source build.
 */
import { expect } from '@open-wc/testing';

declare function it(name: string, fn: (this: { skip(): void }) => void | Promise<void>): void;

const BUNDLE = '/dist/neuronos-chat.js';

function addScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.type = 'module';
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

it('dist/neuronos-chat.js: a single script tag registers <neuronos-chat>; a second copy is harmless', async function () {
  const head = await fetch(BUNDLE, { method: 'HEAD' });
  if (!head.ok || !/javascript/.test(head.headers.get('content-type') ?? '')) {
    this.skip();
    return;
  }
  const errors: string[] = [];
  const onError = (e: ErrorEvent) => errors.push(e.message);
  window.addEventListener('error', onError);
  try {
    await addScript(BUNDLE);
    const ctor = await customElements.whenDefined('neuronos-chat');
    await addScript(`${BUNDLE}?second-copy=1`); // e.g. two widgets on a page each bring the script
    expect(customElements.get('neuronos-chat')).to.equal(ctor);
    const el = document.createElement('neuronos-chat') as HTMLElement & { updateComplete: Promise<boolean> };
    el.setAttribute('model', 'https://models.example/some-model-q4_0.gguf');
    document.body.appendChild(el);
    await el.updateComplete;
    const button = el.shadowRoot!.querySelector('[part~="load-button"]');
    expect(button, 'a Load button, nothing downloaded').to.not.equal(null);
    expect(el.shadowRoot!.textContent).to.contain('some-model-q4_0.gguf');
    await expect(el).to.be.accessible();
    el.remove();
    expect(errors).to.deep.equal([]);
  } finally {
    window.removeEventListener('error', onError);
  }
});
