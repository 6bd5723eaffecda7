/**
 * <neuronos-chat> in headless Chromium, against the fake client (test/browser/fake-client.ts).
 * No timing assertions: every wait is "until this state is reached" with a generous limit.
 */
import { aTimeout, expect, fixture, html, waitUntil } from '@open-wc/testing';
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import '../../components/neuronos-chat/define.js';
import { NeuronOSChat, modelNameFromUrl, type NeuronOSChatEventMap } from '../../components/neuronos-chat/neuronos-chat.js';
import { isSafeUrl, renderMarkdown } from '../../components/neuronos-chat/markdown.js';
import { FakeBackend, type FakeStream } from './fake-client.js';
import { XSS_CORPUS } from './xss-corpus.js';

// Mocha's globals (wtr runs mocha in the page; @types/mocha is not among the devDependencies).
declare function describe(name: string, fn: () => void): void;
declare function it(name: string, fn: () => void | Promise<void>): void;
declare function beforeEach(fn: () => void | Promise<void>): void;
declare function afterEach(fn: () => void | Promise<void>): void;

const MODEL = 'https://models.example/org/repo/resolve/main/qwen2.5-0.5b-instruct-q4_0.gguf';
const MODEL2 = 'https://models.example/other/tiny-llama-q8_0.gguf';
const WAIT_MS = 8000;

declare global {
  interface Window {
    __xss?: unknown;
  }
}

type EventName = keyof NeuronOSChatEventMap;
type Detail<K extends EventName> = NeuronOSChatEventMap[K]['detail'];
const EVENT_NAMES: EventName[] = ['neuronos-ready', 'neuronos-progress', 'neuronos-token', 'neuronos-message', 'neuronos-error'];

let backend: FakeBackend;
/** Every neuronos-* event that reached `document` (so: bubbling and composed). */
let events: Array<{ type: EventName; detail: unknown; target: EventTarget | null; bubbles: boolean; composed: boolean }> = [];
const recordEvent = (e: Event) =>
  events.push({ type: e.type as EventName, detail: (e as CustomEvent).detail, target: e.target, bubbles: e.bubbles, composed: e.composed });

beforeEach(() => {
  backend = new FakeBackend();
  NeuronOSChat.clientFactory = backend.factory;
  events = [];
  for (const t of EVENT_NAMES) document.addEventListener(t, recordEvent);
  delete window.__xss;
});

afterEach(() => {
  for (const t of EVENT_NAMES) document.removeEventListener(t, recordEvent);
});

// --- helpers --------------------------------------------------------------------------------------

function root(el: NeuronOSChat): ShadowRoot {
  return el.shadowRoot!;
}
function part<T extends HTMLElement = HTMLElement>(el: NeuronOSChat, name: string): T | null {
  return root(el).querySelector<T>(`[part~="${name}"]`);
}
function parts(el: NeuronOSChat, name: string): HTMLElement[] {
  return [...root(el).querySelectorAll<HTMLElement>(`[part~="${name}"]`)];
}
function input(el: NeuronOSChat): HTMLTextAreaElement {
  return part<HTMLTextAreaElement>(el, 'input')!;
}
function visible(node: HTMLElement | null): boolean {
  return !!node && !node.hidden && node.checkVisibility();
}
function errorText(el: NeuronOSChat): string {
  const box = part(el, 'error');
  return box && !box.hidden ? (box.textContent ?? '').replace(/\s+/g, ' ').trim() : '';
}
function replies(el: NeuronOSChat): HTMLElement[] {
  return parts(el, 'message-assistant');
}
function lastReply(el: NeuronOSChat): HTMLElement {
  const r = replies(el);
  return r[r.length - 1]!;
}
async function until(pred: () => unknown, message: string): Promise<void> {
  await waitUntil(pred, message, { timeout: WAIT_MS, interval: 5 });
}
/** Resolves with the detail of the next `type` event from `el` that matches. */
function next<K extends EventName>(el: EventTarget, type: K, match: (d: Detail<K>) => boolean = () => true): Promise<Detail<K>> {
  return new Promise((resolve) => {
    const on = (e: Event) => {
      const d = (e as CustomEvent<Detail<K>>).detail;
      if (!match(d)) return;
      el.removeEventListener(type, on);
      resolve(d);
    };
    el.addEventListener(type, on);
  });
}
const replyEnded = (el: NeuronOSChat) => next(el, 'neuronos-message', (d) => d.role === 'assistant');

async function readyChat(extra: Partial<Record<string, string>> = {}): Promise<NeuronOSChat> {
  const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" model=${MODEL}></neuronos-chat>`);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) el.setAttribute(k, v);
  await until(() => el.status === 'ready', 'the model should load');
  await el.updateComplete;
  return el;
}

/** No executable or navigating content anywhere under `scope`. */
function assertInert(scope: ParentNode, label: string): void {
  const banned = scope.querySelectorAll(
    'script, iframe, frame, object, embed, form, meta, base, link, style, svg, math, template, noscript, img, video, audio, source, input, button, details, marquee, body',
  );
  expect(banned.length, `${label}: forbidden elements ${[...banned].map((b) => b.localName).join(',')}`).to.equal(0);
  for (const node of scope.querySelectorAll('*')) {
    for (const attr of node.attributes) {
      const name = attr.name.toLowerCase();
      expect(name.startsWith('on'), `${label}: handler attribute ${name} on <${node.localName}>`).to.equal(false);
      expect(name, `${label}: style/id/name attribute on <${node.localName}>`).to.not.be.oneOf(['style', 'id', 'name', 'srcdoc', 'formaction', 'action']);
      // eslint-disable-next-line no-control-regex
      const value = attr.value.replace(/[\u0000-\u0020\u007f-\u009f]/g, '').toLowerCase();
      if (['href', 'src', 'xlink:href', 'data', 'action', 'formaction', 'background', 'poster', 'srcset'].includes(name)) {
        expect(value, `${label}: ${name}=${attr.value}`).to.not.match(/^(javascript|data|vbscript):/);
      }
    }
    if (node.localName === 'a' && node.hasAttribute('href')) {
      expect(node.getAttribute('target'), `${label}: link target`).to.equal('_blank');
      expect(node.getAttribute('rel'), `${label}: link rel`).to.equal('noopener noreferrer nofollow');
    }
  }
}

// --- tests ----------------------------------------------------------------------------------------

describe('<neuronos-chat>', () => {
  describe('registration and helpers', () => {
    it('registers the tag once; importing define.ts again changes nothing', async () => {
      expect(customElements.get('neuronos-chat')).to.equal(NeuronOSChat);
      await import('../../components/neuronos-chat/define.js');
      expect(customElements.get('neuronos-chat')).to.equal(NeuronOSChat);
    });

    it('takes the model name from the URL', () => {
      expect(modelNameFromUrl(MODEL)).to.equal('qwen2.5-0.5b-instruct-q4_0.gguf');
      expect(modelNameFromUrl('/models/My%20Model.gguf?download=1#x')).to.equal('My Model.gguf');
      expect(modelNameFromUrl('')).to.equal('');
    });

    it('accepts only http(s), mailto and relative link URLs', () => {
      for (const ok of ['https://a.example/x', 'http://a.example', 'mailto:a@b.example', '/rel', 'rel/x', '#frag']) expect(isSafeUrl(ok), ok).to.equal(true);
      for (const bad of ['javascript:x', ' JAVASCRIPT:x', 'jav\tascript:x', 'java\nscript:x', 'data:text/html,x', 'vbscript:x', 'file:///etc/passwd', '']) {
        expect(isSafeUrl(bad), bad).to.equal(false);
      }
    });
  });

  describe('loading', () => {
    it('load="click" (the default) shows the model name and downloads nothing until Load is clicked', async () => {
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL}></neuronos-chat>`);
      await aTimeout(50);
      expect(el.load).to.equal('click');
      expect(el.getAttributeNames().sort(), 'defaults are not reflected').to.deep.equal(['model']);
      expect(backend.factoryCalls, 'no client (worker) before the click').to.have.length(0);
      expect(backend.loadCalls).to.have.length(0);
      const button = part(el, 'load-button')!;
      expect(visible(button)).to.equal(true);
      expect(root(el).textContent).to.contain('qwen2.5-0.5b-instruct-q4_0.gguf');
      const ready = next(el, 'neuronos-ready');
      button.click();
      const detail = await ready;
      expect(backend.loadCalls).to.have.length(1);
      expect(backend.loadCalls[0]!.url).to.equal(MODEL);
      expect(backend.loadCalls[0]!.opts.contextSize).to.equal(2048);
      expect(detail.url).to.equal(MODEL);
      expect(detail.model.name).to.equal('Fake qwen2.5-0.5b-instruct-q4_0');
      expect(detail.variant).to.equal('st');
      expect(detail.threads).to.equal(1);
      await el.updateComplete;
      expect(part(el, 'load-button')).to.equal(null);
      expect(part(el, 'status')!.textContent).to.contain('Ready');
    });

    it('load="eager" loads at once; events bubble out of the shadow root', async () => {
      const el = await readyChat();
      expect(backend.loadCalls).to.have.length(1);
      const ready = events.find((e) => e.type === 'neuronos-ready');
      expect(ready, 'neuronos-ready reached document').to.not.equal(undefined);
      expect(ready!.bubbles && ready!.composed).to.equal(true);
      expect(ready!.target).to.equal(el);
      const progress = events.filter((e) => e.type === 'neuronos-progress').map((e) => e.detail as Detail<'neuronos-progress'>);
      expect(progress.some((p) => p.phase === 'download' && p.percent === 50 && p.loaded === 2048 && p.total === 4096)).to.equal(true);
      expect(progress.at(-1)!.phase).to.equal('ready');
    });

    it('shows download progress (bytes, percent, phase) while loading', async () => {
      backend.holdLoads = true;
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL}></neuronos-chat>`);
      part(el, 'load-button')!.click();
      await until(() => (part(el, 'progress')?.textContent ?? '').includes('50%'), 'progress at 50%');
      const progress = part(el, 'progress')!;
      expect(progress.textContent).to.match(/Downloading: 2\.0 KB of 4\.0 KB \(50%\)/);
      expect(progress.querySelector('progress')!.value).to.equal(50);
      expect(progress.getAttribute('data-phase')).to.equal('download');
      backend.releaseLoads();
      await until(() => el.status === 'ready', 'ready');
      await el.updateComplete;
      expect(part(el, 'progress')).to.equal(null);
    });

    it('load="visible" waits until the element scrolls into view', async () => {
      const wrap = await fixture<HTMLDivElement>(html`<div>
        <div style="height: 4000px">spacer</div>
        <neuronos-chat load="visible" model=${MODEL}></neuronos-chat>
      </div>`);
      const el = wrap.querySelector('neuronos-chat')!;
      await aTimeout(100);
      expect(backend.loadCalls, 'not loaded while out of view').to.have.length(0);
      el.scrollIntoView();
      await until(() => el.status === 'ready', 'loads once visible');
      expect(backend.loadCalls).to.have.length(1);
      window.scrollTo(0, 0);
    });

    it('leaves a hook for cached models: isCached(url) true loads without a click', async () => {
      class CachedChat extends NeuronOSChat {
        protected override isCached(url: string): boolean {
          return url === MODEL;
        }
      }
      if (!customElements.get('cached-neuronos-chat')) customElements.define('cached-neuronos-chat', CachedChat);
      const wrap = await fixture<HTMLDivElement>(html`<div><cached-neuronos-chat model=${MODEL}></cached-neuronos-chat></div>`);
      const el = wrap.firstElementChild as NeuronOSChat;
      await until(() => el.status === 'ready', 'a cached model loads by itself');
    });

    for (const code of ['http_error', 'model_invalid', 'network'] as const) {
      it(`a ${code} load error shows a message, fires neuronos-error, and a good model loads afterwards`, async () => {
        backend.failLoad('broken', code);
        const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" model="https://models.example/broken.gguf"></neuronos-chat>`);
        await until(() => el.status === 'error', 'the load fails');
        await el.updateComplete;
        const fired = events.filter((e) => e.type === 'neuronos-error').map((e) => e.detail as Detail<'neuronos-error'>);
        expect(fired.map((d) => d.code)).to.deep.equal([code]);
        const text = errorText(el);
        expect(text.length).to.be.greaterThan(10);
        expect(text).to.equal(part(el, 'error')!.textContent!.replace(/\s+/g, ' ').trim());
        expect(text, 'no stack trace').to.not.contain(' at ');
        expect(text, 'no stack trace').to.not.contain('fake-client.ts');
        expect(part(el, 'error')!.getAttribute('role')).to.equal('alert');
        expect(part(el, 'error')!.querySelector(`[data-code="${code}"]`)).to.not.equal(null);
        expect(visible(part(el, 'load-button')), 'a retry button').to.equal(true);

        el.model = MODEL;
        await until(() => el.status === 'ready', 'the good model loads');
        await el.updateComplete;
        expect(errorText(el)).to.equal('');
        await el.send('hi');
        expect(lastReply(el).textContent).to.contain('You said: hi');
      });
    }

    it('a client that cannot start (worker_failed) is reported; Retry starts a new one', async () => {
      backend.factoryError = 'worker_failed';
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" model=${MODEL}></neuronos-chat>`);
      await until(() => el.status === 'error', 'start fails');
      await el.updateComplete;
      expect(errorText(el)).to.contain('The AI engine could not start');
      expect(events.some((e) => e.type === 'neuronos-error' && (e.detail as Detail<'neuronos-error'>).code === 'worker_failed')).to.equal(true);
      backend.factoryError = null;
      part(el, 'load-button')!.click();
      await until(() => el.status === 'ready', 'retry works');
      expect(backend.factoryCalls).to.have.length(2);
    });
  });

  describe('chatting', () => {
    it('streams a reply; Enter sends, Shift+Enter inserts a newline; the tokens/s readout appears', async () => {
      const el = await readyChat();
      backend.reply = () => ({ pieces: ['**Hel', 'lo**', ' there, see ', '[the docs](https://example.com/docs)'], tokensPerSecond: 12.5 });
      const ta = input(el);
      ta.focus();
      await sendKeys({ type: 'Hi' });
      await sendKeys({ press: 'Shift+Enter' });
      await sendKeys({ type: 'you' });
      expect(ta.value).to.equal('Hi\nyou');
      expect(backend.chatCalls, 'Shift+Enter does not send').to.have.length(0);

      const ended = replyEnded(el);
      await sendKeys({ press: 'Enter' });
      const detail = await ended;
      await el.updateComplete;

      expect(backend.chatCalls).to.have.length(1);
      expect(backend.chatCalls[0]!.message).to.equal('Hi\nyou');
      expect(ta.value, 'the box is emptied').to.equal('');
      expect(detail.content).to.equal('**Hello** there, see [the docs](https://example.com/docs)');
      expect(detail.finish).to.equal('eos');
      expect(detail.stats!.tokensPerSecond).to.equal(12.5);

      const tokens = events.filter((e) => e.type === 'neuronos-token').map((e) => (e.detail as Detail<'neuronos-token'>).piece);
      expect(tokens).to.deep.equal(['**Hel', 'lo**', ' there, see ', '[the docs](https://example.com/docs)']);
      const messages = events.filter((e) => e.type === 'neuronos-message').map((e) => e.detail as Detail<'neuronos-message'>);
      expect(messages.map((m) => m.role)).to.deep.equal(['user', 'assistant']);
      expect(messages[0]).to.deep.equal({ role: 'user', content: 'Hi\nyou', finish: null, stats: null });

      const user = parts(el, 'message-user');
      expect(user).to.have.length(1);
      expect(user[0]!.textContent).to.contain('Hi\nyou');
      const reply = lastReply(el);
      expect(reply.querySelector('strong')!.textContent).to.equal('Hello');
      const link = reply.querySelector('a')!;
      expect(link.href).to.equal('https://example.com/docs');
      expect(link.target).to.equal('_blank');
      expect(link.rel).to.equal('noopener noreferrer nofollow');
      expect(reply.textContent).to.contain('12.5 tokens/s');
      expect(part(el, 'status')!.textContent).to.contain('12.5 tokens/s');
      expect(part(el, 'messages')!.getAttribute('aria-busy')).to.equal('false');
      expect(root(el).activeElement).to.equal(ta);
      // the completed reply is announced once, as text
      const live = root(el).querySelector('[aria-live="polite"]')!;
      expect(live.textContent).to.contain('Hello there, see the docs');
    });

    it('re-renders the Markdown while the reply grows, and marks the log busy', async () => {
      const el = await readyChat();
      backend.reply = () => ({ pieces: ['- one\n', '- two\n', '\n`code`'], holdAfter: 2 });
      void el.send('list');
      await until(() => backend.lastClient!.lastStream?.holding, 'two pieces streamed');
      await until(() => lastReply(el).querySelectorAll('li').length === 2, 'partial Markdown rendered');
      expect(part(el, 'messages')!.getAttribute('aria-busy')).to.equal('true');
      expect(visible(part(el, 'stop-button'))).to.equal(true);
      expect(visible(part(el, 'send-button'))).to.equal(false);
      const ended = replyEnded(el);
      backend.lastClient!.lastStream!.release();
      await ended;
      await el.updateComplete;
      expect(lastReply(el).querySelector('code')!.textContent).to.equal('code');
      expect(part(el, 'messages')!.getAttribute('aria-busy')).to.equal('false');
    });

    it('Stop ends the reply with its partial text; the same client serves the next message', async () => {
      const el = await readyChat();
      backend.reply = () => ({ pieces: ['one ', 'two ', 'three ', 'four'], holdAfter: 2 });
      void el.send('count');
      const client = backend.lastClient!;
      await until(() => client.lastStream?.holding, 'two pieces streamed');
      await until(() => lastReply(el).textContent!.includes('one two'), 'partial text shown');
      const ended = replyEnded(el);
      part(el, 'stop-button')!.click();
      const detail = await ended;
      await el.updateComplete;
      expect(detail.finish).to.equal('aborted');
      expect(detail.content).to.equal('one two ');
      expect(client.lastStream!.abortCalls).to.equal(1);
      expect(lastReply(el).textContent).to.contain('one two');
      expect(lastReply(el).textContent).to.not.contain('three');
      expect(lastReply(el).textContent).to.contain('Stopped');
      expect(root(el).activeElement, 'focus back in the text box').to.equal(input(el));
      expect(el.status).to.equal('ready');

      backend.reply = () => ({ pieces: ['again'] });
      await el.send('next');
      expect(lastReply(el).textContent).to.contain('again');
      expect(backend.clients, 'no new client').to.have.length(1);
      expect(client.restartCalls, 'no restart').to.equal(0);
      expect(client.chatCalls).to.have.length(2);
    });

    it('a worker that ignores Stop is restarted as a last resort', async () => {
      const el = await readyChat();
      el.stopTimeoutMs = 30;
      backend.reply = () => ({ pieces: ['stuck ', 'forever'], holdAfter: 1, ignoreAbort: true });
      void el.send('x');
      const client = backend.lastClient!;
      await until(() => client.lastStream?.holding, 'streaming');
      const ended = replyEnded(el);
      el.stop();
      expect((await ended).content).to.equal('stuck ');
      await until(() => client.restartCalls === 1 && el.status === 'ready', 'restarted and reloaded');
      expect(client.loadCalls).to.have.length(2);
      backend.reply = () => ({ pieces: ['fine'] });
      await el.send('y');
      expect(lastReply(el).textContent).to.contain('fine');
    });

    it('a message before the model is loaded is refused with a hint', async () => {
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL}></neuronos-chat>`);
      await el.send('hello');
      await el.updateComplete;
      expect(backend.chatCalls).to.have.length(0);
      expect(errorText(el)).to.contain('Load the model first');
    });

    it('Clear conversation empties the log and the client history', async () => {
      const el = await readyChat();
      await el.send('one');
      expect(parts(el, 'message')).to.have.length(2);
      el.clear();
      await el.updateComplete;
      expect(parts(el, 'message')).to.have.length(0);
      expect(backend.lastClient!.resetCalls).to.equal(1);
    });
  });

  describe('crash recovery', () => {
    it('wasm_crashed during a reply: restart(), reload the model, keep the conversation, usable again', async () => {
      const el = await readyChat();
      const client = backend.lastClient!;
      await el.send('first');
      expect(client.history).to.have.length(2);
      backend.crashNextChat = true;
      backend.reply = () => ({ pieces: ['par', 'tial'] });
      const error = next(el, 'neuronos-error');
      const ready = next(el, 'neuronos-ready');
      void el.send('boom');
      expect((await error).code).to.equal('wasm_crashed');
      await ready;
      await el.updateComplete;
      expect(client.restartCalls).to.equal(1);
      expect(client.loadCalls).to.have.length(2);
      expect(backend.clients).to.have.length(1);
      expect(client.history, 'the conversation is put back').to.have.length(2);
      expect(errorText(el)).to.contain('restarted');
      expect(lastReply(el).textContent).to.contain('partial');
      expect(lastReply(el).textContent).to.contain('Interrupted');
      backend.reply = () => ({ pieces: ['back'] });
      await el.send('again');
      expect(lastReply(el).textContent).to.contain('back');
      expect(client.chatCalls.at(-1)!.message).to.equal('again');
    });

    it('wasm_crashed while loading: restart and load again', async () => {
      backend.failLoad('crashy', 'wasm_crashed', 1);
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" model="https://models.example/crashy.gguf"></neuronos-chat>`);
      await until(() => el.status === 'ready', 'recovered');
      expect(backend.lastClient!.restartCalls).to.equal(1);
      expect(events.filter((e) => e.type === 'neuronos-error').map((e) => (e.detail as Detail<'neuronos-error'>).code)).to.deep.equal(['wasm_crashed']);
    });

    it('gives up after repeated crashes, then a new model loads with a fresh client', async () => {
      backend.failLoad('doomed', 'wasm_crashed');
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" model="https://models.example/doomed.gguf"></neuronos-chat>`);
      await until(() => el.status === 'error', 'gives up');
      await el.updateComplete;
      const first = backend.clients[0]!;
      expect(first.restartCalls).to.equal(2);
      expect(first.disposeCalls, 'the broken client is ended').to.equal(1);
      expect(errorText(el)).to.contain('again');
      el.model = MODEL;
      await until(() => el.status === 'ready', 'a good model loads');
      expect(backend.clients).to.have.length(2);
    });
  });

  describe('lifecycle', () => {
    it('removing the element disposes its client; adding it again starts cleanly', async () => {
      const el = await readyChat();
      await el.send('hello');
      const parent = el.parentNode!;
      const first = backend.lastClient!;
      el.remove();
      await aTimeout(0);
      expect(first.disposeCalls).to.equal(1);
      parent.appendChild(el);
      await until(() => el.status === 'ready', 'loads again');
      await el.updateComplete;
      expect(backend.clients).to.have.length(2);
      expect(backend.lastClient).to.not.equal(first);
      expect(parts(el, 'message'), 'a fresh conversation').to.have.length(0);
      await el.send('again');
      expect(backend.lastClient!.chatCalls).to.have.length(1);
      expect(first.chatCalls).to.have.length(1);
    });

    it('removing the element during a reply ends the stream and the client', async () => {
      const el = await readyChat();
      backend.reply = () => ({ pieces: ['a', 'b'], holdAfter: 1 });
      void el.send('x');
      const client = backend.lastClient!;
      await until(() => client.lastStream?.holding, 'streaming');
      el.remove();
      await aTimeout(0);
      expect(client.lastStream!.abortCalls).to.equal(1);
      expect(client.disposeCalls).to.equal(1);
    });

    it('removing the element during a load disposes the client it was creating', async () => {
      backend.holdLoads = true;
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" model=${MODEL}></neuronos-chat>`);
      await until(() => backend.lastClient?.loadCalls.length === 1, 'loading');
      el.remove();
      await aTimeout(0);
      expect(backend.lastClient!.disposeCalls).to.equal(1);
      backend.releaseLoads();
      await aTimeout(20);
      expect(events.some((e) => e.type === 'neuronos-ready')).to.equal(false);
    });

    it('moving the element within the page keeps its client', async () => {
      const el = await readyChat();
      const parent = el.parentNode!;
      parent.appendChild(document.createElement('div'));
      parent.appendChild(el); // a move: disconnected and connected in the same task
      await aTimeout(10);
      expect(backend.lastClient!.disposeCalls).to.equal(0);
      expect(el.status).to.equal('ready');
    });
  });

  describe('attributes', () => {
    it('sampling attributes apply to the next message; system-prompt and chat-template are passed', async () => {
      const el = await readyChat({ temperature: '0.2', 'max-tokens': '64', 'system-prompt': 'Be brief.', 'chat-template': 'chatml' });
      await el.send('a');
      let opts = backend.chatCalls.at(-1)!.opts;
      expect(opts).to.deep.include({ temperature: 0.2, maxTokens: 64, systemPrompt: 'Be brief.', template: 'chatml' });
      el.setAttribute('temperature', '1.5');
      el.maxTokens = 100;
      await el.send('b');
      opts = backend.chatCalls.at(-1)!.opts;
      expect(opts.temperature).to.equal(1.5);
      expect(opts.maxTokens).to.equal(100);
      await el.updateComplete;
      expect(el.getAttribute('max-tokens'), 'reflected').to.equal('100');
      expect(backend.loadCalls, 'no reload for sampling changes').to.have.length(1);
    });

    it('changing model loads the new model (eager) and starts a new conversation', async () => {
      const el = await readyChat();
      await el.send('hello');
      const ready = next(el, 'neuronos-ready');
      el.setAttribute('model', MODEL2);
      expect((await ready).url).to.equal(MODEL2);
      await el.updateComplete;
      expect(backend.loadCalls.map((c) => c.url)).to.deep.equal([MODEL, MODEL2]);
      expect(backend.clients, 'the same client loads it').to.have.length(1);
      expect(parts(el, 'message')).to.have.length(0);
    });

    it('changing model with load="click" waits for a click on the new model', async () => {
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL}></neuronos-chat>`);
      part(el, 'load-button')!.click();
      await until(() => el.status === 'ready', 'first model');
      el.model = MODEL2;
      await el.updateComplete;
      await aTimeout(20);
      expect(backend.loadCalls).to.have.length(1);
      expect(visible(part(el, 'load-button'))).to.equal(true);
      expect(root(el).textContent).to.contain('tiny-llama-q8_0.gguf');
      part(el, 'load-button')!.click();
      await until(() => el.status === 'ready', 'second model');
      expect(backend.loadCalls.map((c) => c.url)).to.deep.equal([MODEL, MODEL2]);
    });

    it('context-size and threads apply at the next load (Reload model in the settings)', async () => {
      const el = await readyChat();
      el.setAttribute('context-size', '4096');
      el.setAttribute('threads', '4');
      await el.updateComplete;
      await aTimeout(20);
      expect(backend.loadCalls, 'no reload by itself').to.have.length(1);
      const settings = part(el, 'settings') as HTMLDetailsElement;
      settings.open = true;
      const reload = [...settings.querySelectorAll('button')].find((b) => b.textContent!.includes('Reload model'))!;
      expect(reload, 'a Reload model button').to.not.equal(undefined);
      reload.click();
      await until(() => backend.loadCalls.length === 2 && el.status === 'ready', 'reloaded');
      expect(backend.loadCalls[1]!.opts.contextSize).to.equal(4096);
      expect(backend.loadCalls[1]!.opts.threads).to.equal(4);
      el.removeAttribute('threads');
      el.removeAttribute('context-size');
      expect(el.threads, 'absent = automatic').to.equal(undefined);
      expect(el.contextSize, 'absent = the default').to.equal(2048);
    });

    it('invalid values: a visible, specific message and an invalid_argument event; the value is clamped or kept; no NaN reaches the client', async () => {
      const el = await readyChat();
      const cases: Array<[string, string, string, () => unknown, unknown]> = [
        ['temperature', 'hot', "temperature must be a number between 0 and 2; got 'hot'", () => el.temperature, 0.7],
        ['temperature', '5', "temperature must be a number between 0 and 2; got '5', using 2", () => el.temperature, 2],
        ['max-tokens', '99999', "max-tokens must be a whole number between 1 and 8192; got '99999', using 8192", () => el.maxTokens, 8192],
        ['max-tokens', '12.5', "max-tokens must be a whole number between 1 and 8192; got '12.5'", () => el.maxTokens, 8192],
        ['context-size', 'big', "context-size must be a whole number between 128 and 32768; got 'big'", () => el.contextSize, 2048],
        ['context-size', '64', "context-size must be a whole number between 128 and 32768; got '64', using 128", () => el.contextSize, 128],
        ['threads', '0', "threads must be a whole number between 1 and 16; got '0', using 1", () => el.threads, 1],
        ['threads', 'many', "threads must be a whole number between 1 and 16 (or 'auto'); got 'many'", () => el.threads, 1],
        ['load', 'soon', "load must be 'click', 'visible' or 'eager'; got 'soon'", () => el.load, 'eager'],
        ['theme', 'purple', "theme must be 'light' or 'dark'; got 'purple'", () => el.theme, undefined],
      ];
      for (const [attr, value, message, read, expected] of cases) {
        const fired = next(el, 'neuronos-error');
        el.setAttribute(attr, value);
        const d = await fired;
        expect(d, `${attr}=${value}`).to.deep.equal({ code: 'invalid_argument', message });
        await el.updateComplete;
        expect(errorText(el), `${attr}=${value} is shown`).to.contain(message);
        expect(read(), `${attr}=${value} value`).to.equal(expected);
      }
      // properties are checked too
      const fired = next(el, 'neuronos-error');
      el.temperature = Number.NaN;
      expect((await fired).message).to.equal("temperature must be a number between 0 and 2; got 'NaN'");
      expect(el.temperature).to.equal(2);

      await el.send('check');
      const opts = backend.chatCalls.at(-1)!.opts;
      expect(Number.isFinite(opts.temperature) && Number.isFinite(opts.maxTokens), 'numbers reach the client').to.equal(true);
      expect(opts).to.deep.include({ temperature: 2, maxTokens: 8192 });

      // a valid value clears that attribute's message
      el.setAttribute('temperature', '0.3');
      await el.updateComplete;
      expect(errorText(el)).to.not.contain('temperature must be');
      expect(errorText(el)).to.contain('max-tokens must be');
    });

    it('an invalid attribute in the markup is reported when the element appears', async () => {
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat temperature="warm" model=${MODEL}></neuronos-chat>`);
      expect(errorText(el)).to.contain("temperature must be a number between 0 and 2; got 'warm'");
      const fired = events.filter((e) => e.type === 'neuronos-error').map((e) => e.detail as Detail<'neuronos-error'>);
      expect(fired).to.deep.equal([{ code: 'invalid_argument', message: "temperature must be a number between 0 and 2; got 'warm'" }]);
      expect(el.temperature).to.equal(0.7);
    });

    it('the settings panel edits the same values as the attributes', async () => {
      const el = await readyChat();
      const settings = part(el, 'settings') as HTMLDetailsElement;
      settings.open = true;
      const field = (label: string) => {
        const l = [...settings.querySelectorAll('label')].find((x) => x.textContent!.startsWith(label))!;
        return root(el).getElementById(l.htmlFor) as HTMLInputElement;
      };
      const temp = field('Temperature');
      expect(temp.value).to.equal('0.7');
      temp.value = '1.3';
      temp.dispatchEvent(new Event('change'));
      await el.updateComplete;
      expect(el.temperature).to.equal(1.3);
      expect(el.getAttribute('temperature')).to.equal('1.3');
      el.setAttribute('temperature', '0.4');
      await el.updateComplete;
      expect(temp.value).to.equal('0.4');
      temp.value = '9';
      temp.dispatchEvent(new Event('change'));
      await el.updateComplete;
      expect(el.temperature).to.equal(2);
      expect(temp.value, 'the field shows the clamped value').to.equal('2');
      const max = field('Max tokens');
      max.value = '';
      max.dispatchEvent(new Event('change'));
      await el.updateComplete;
      expect(el.maxTokens).to.equal(512);
      expect(max.value, 'a rejected value is put back').to.equal('512');
      const ctx = field('Context size');
      ctx.value = '1024';
      ctx.dispatchEvent(new Event('change'));
      await el.updateComplete;
      expect(el.getAttribute('context-size')).to.equal('1024');

      el.hideSettings = true;
      await el.updateComplete;
      expect(part(el, 'settings')).to.equal(null);
      expect(el.hasAttribute('hide-settings')).to.equal(true);
    });

    it('without a model it says so and loads nothing', async () => {
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager"></neuronos-chat>`);
      await aTimeout(20);
      expect(el.hasAttribute('model')).to.equal(false);
      expect(backend.factoryCalls).to.have.length(0);
      expect(part(el, 'status')!.textContent).to.contain('No model set');
      el.model = MODEL;
      await until(() => el.status === 'ready', 'a model set later loads (eager)');
    });

    it('worker-url and wasm-base are passed to the client', async () => {
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" worker-url="/w/worker.js" wasm-base="/w/" model=${MODEL}></neuronos-chat>`);
      await until(() => el.status === 'ready', 'ready');
      expect(backend.factoryCalls[0]).to.deep.equal({ workerUrl: '/w/worker.js', wasmBase: '/w/' });
    });
  });

  describe('untrusted output (XSS)', () => {
    it(`renders ${XSS_CORPUS.length} hostile replies inert (Markdown and raw HTML, streamed in pieces)`, async () => {
      expect(XSS_CORPUS.length).to.be.at.least(20);
      const el = await readyChat();
      let payload = '';
      backend.reply = () => ({ pieces: payload.match(/[\s\S]{1,7}/g) ?? [] });
      for (const p of XSS_CORPUS) {
        payload = p.payload;
        await el.send(p.name);
        await el.updateComplete;
        assertInert(part(el, 'messages')!, p.name);
      }
      expect(replies(el)).to.have.length(XSS_CORPUS.length);
      // raw HTML from the model shows as text
      expect(replies(el)[0]!.textContent).to.contain('<script>window.__xss=1</script>');
      await aTimeout(300);
      expect(window.__xss, 'no payload ran').to.equal(undefined);
      // the element itself still works, and page-level styles from a payload did not apply
      expect(visible(input(el))).to.equal(true);
    });

    it('the sanitiser alone (raw HTML allowed through Markdown) leaves every payload inert', async () => {
      const host = document.createElement('div');
      const shadow = host.attachShadow({ mode: 'open' });
      document.body.appendChild(host);
      try {
        for (const p of XSS_CORPUS) {
          const box = document.createElement('div');
          box.appendChild(renderMarkdown(p.payload, { allowHtml: true }));
          shadow.appendChild(box);
          assertInert(box, p.name);
        }
        await aTimeout(300);
        expect(window.__xss, 'no payload ran').to.equal(undefined);
        expect((window as unknown as Record<string, unknown>)['__xss'], 'no DOM clobbering').to.equal(undefined);
      } finally {
        host.remove();
      }
    });

    it('keeps useful Markdown: headings, lists, code, tables, safe links; images become links', () => {
      const frag = renderMarkdown('# T\n\n1. a\n2. b\n\n```js\nlet x;\n```\n\n| h |\n|:-:|\n| c |\n\n[l](https://e.example "t") ![alt](https://img.example/p.png)');
      const box = document.createElement('div');
      box.appendChild(frag);
      expect(box.querySelector('h1')!.textContent).to.equal('T');
      expect(box.querySelectorAll('ol li')).to.have.length(2);
      expect(box.querySelector('pre code')!.className).to.equal('language-js');
      expect(box.querySelector('th')!.getAttribute('align')).to.equal('center');
      const links = box.querySelectorAll('a');
      expect(links).to.have.length(2);
      expect(links[0]!.title).to.equal('t');
      expect(links[1]!.textContent).to.equal('[image: alt]');
      expect(box.querySelector('img')).to.equal(null);
    });
  });

  describe('accessibility', () => {
    it('passes axe when idle, loaded (with a conversation and open settings), streaming and in error', async () => {
      const idle = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL}></neuronos-chat>`);
      await expect(idle).to.be.accessible();

      const el = await readyChat();
      backend.reply = () => ({ pieces: ['## Answer\n\nSee [docs](https://example.com), `code`, and:\n\n- a\n- b\n\n> quote'] });
      await el.send('question');
      (part(el, 'settings') as HTMLDetailsElement).open = true;
      await el.updateComplete;
      await expect(el).to.be.accessible();

      backend.reply = () => ({ pieces: ['stream', 'ing'], holdAfter: 1 });
      void el.send('more');
      await until(() => backend.lastClient!.lastStream?.holding, 'streaming');
      await el.updateComplete;
      await expect(el).to.be.accessible();
      el.stop();

      backend.failLoad('missing', 'http_error');
      const failed = await fixture<NeuronOSChat>(html`<neuronos-chat load="eager" temperature="hot" model="https://models.example/missing.gguf"></neuronos-chat>`);
      await until(() => failed.status === 'error', 'error state');
      await failed.updateComplete;
      await expect(failed).to.be.accessible();
    });

    it('passes axe in the dark theme', async () => {
      const el = await readyChat({ theme: 'dark' });
      await el.send('hello');
      el.setAttribute('temperature', 'hot');
      await el.updateComplete;
      await expect(el).to.be.accessible();
    });

    it('every control has a label', async () => {
      const el = await readyChat();
      (part(el, 'settings') as HTMLDetailsElement).open = true;
      await el.updateComplete;
      expect(input(el).labels?.[0]?.textContent).to.equal('Message');
      for (const f of root(el).querySelectorAll('input')) expect(f.labels?.length, f.id).to.equal(1);
      for (const b of root(el).querySelectorAll('button')) expect((b.textContent ?? '').trim() || b.getAttribute('aria-label')).to.not.equal('');
      expect(part(el, 'messages')!.getAttribute('role')).to.equal('log');
      expect(part(el, 'messages')!.getAttribute('aria-label')).to.equal('Conversation');
    });

    it('keyboard only: Tab to the input, type, Enter sends, Tab to Stop, Enter or Space stops', async () => {
      const wrap = await fixture<HTMLDivElement>(html`<div>
        <button id="before">before</button>
        <neuronos-chat load="eager" model=${MODEL}></neuronos-chat>
      </div>`);
      const el = wrap.querySelector('neuronos-chat')!;
      await until(() => el.status === 'ready', 'ready');
      await el.updateComplete;
      wrap.querySelector<HTMLButtonElement>('#before')!.focus();
      for (let i = 0; i < 8 && root(el).activeElement !== input(el); i++) await sendKeys({ press: 'Tab' });
      expect(root(el).activeElement, 'Tab reaches the text box').to.equal(input(el));

      for (const key of ['Enter', 'Space']) {
        backend.reply = () => ({ pieces: ['partial ', 'rest'], holdAfter: 1 });
        await sendKeys({ type: `hello ${key}` });
        await sendKeys({ press: 'Enter' });
        await until(() => backend.lastClient!.lastStream?.holding, 'streaming');
        await el.updateComplete;
        await sendKeys({ press: 'Tab' });
        expect(root(el).activeElement, 'Tab reaches Stop').to.equal(part(el, 'stop-button'));
        const ended = replyEnded(el);
        await sendKeys({ press: key });
        expect((await ended).finish, `${key} stops`).to.equal('aborted');
        await el.updateComplete;
        expect(root(el).activeElement, 'focus returns to the text box').to.equal(input(el));
      }
      expect(backend.lastClient!.chatCalls.map((c) => c.message)).to.deep.equal(['hello Enter', 'hello Space']);
    });

    it('Escape in the text box stops the reply', async () => {
      const el = await readyChat();
      backend.reply = () => ({ pieces: ['a', 'b'], holdAfter: 1 });
      input(el).focus();
      void el.send('x');
      await until(() => backend.lastClient!.lastStream?.holding, 'streaming');
      const ended = replyEnded(el);
      await sendKeys({ press: 'Escape' });
      expect((await ended).finish).to.equal('aborted');
    });
  });

  describe('several elements', () => {
    it('two elements on one page stream independently', async () => {
      const wrap = await fixture<HTMLDivElement>(html`<div>
        <neuronos-chat id="a" load="eager" model=${MODEL}></neuronos-chat>
        <neuronos-chat id="b" load="eager" model=${MODEL2}></neuronos-chat>
      </div>`);
      const a = wrap.querySelector<NeuronOSChat>('#a')!;
      const b = wrap.querySelector<NeuronOSChat>('#b')!;
      await until(() => a.status === 'ready' && b.status === 'ready', 'both ready');
      expect(backend.clients).to.have.length(2);
      const streams = new Map<number, FakeStream>();
      backend.onStream = (s, c) => streams.set(c.id, s);
      backend.reply = (m, c) => ({ pieces: [`client ${c.id} `, `says ${m}`, ' (end)'], holdAfter: 2 });
      void a.send('to A');
      void b.send('to B');
      await until(() => streams.get(1)?.holding && streams.get(2)?.holding, 'both streaming');
      const aEnded = replyEnded(a);
      a.stop();
      expect((await aEnded).content).to.equal('client 1 says to A');
      expect(b.status, 'B still streaming').to.equal('generating');
      const bEnded = replyEnded(b);
      streams.get(2)!.release();
      expect((await bEnded).content).to.equal('client 2 says to B (end)');
      await a.updateComplete;
      await b.updateComplete;
      expect(lastReply(a).textContent).to.not.contain('client 2');
      expect(lastReply(b).textContent).to.not.contain('client 1');
      expect(backend.clients[0]!.chatCalls.map((c) => c.message)).to.deep.equal(['to A']);
      expect(backend.clients[1]!.chatCalls.map((c) => c.message)).to.deep.equal(['to B']);
      expect(a.status).to.equal('ready');
    });
  });

  describe('styling', () => {
    afterEach(async () => {
      document.querySelectorAll('style[data-test]').forEach((s) => s.remove());
      await emulateMedia({ colorScheme: 'light' });
    });

    function pageStyle(text: string): void {
      const s = document.createElement('style');
      s.dataset['test'] = '';
      s.textContent = text;
      document.head.appendChild(s);
    }

    it('page CSS does not reach the internals: `* { display:none !important; color:red }`', async () => {
      const el = await readyChat();
      pageStyle('* { display: none !important; color: red !important; } html, body { display: block !important; }');
      // The rule matches the host itself (page CSS may always hide the element), but nothing
      // inside: the shadow root's own styles still apply to every internal node.
      for (const name of ['container', 'messages', 'input', 'send-button', 'header', 'status']) {
        const node = part(el, name)!;
        const cs = getComputedStyle(node);
        expect(cs.display, `${name} display`).to.not.equal('none');
        expect(cs.color, `${name} color`).to.not.equal('rgb(255, 0, 0)');
      }
    });

    it('page CSS on the page and inherited by the host does not break the layout', async () => {
      const el = await readyChat();
      pageStyle(`
        body { color: red; font: 40px/9 serif; visibility: hidden; text-align: right; letter-spacing: 10px; }
        p, span, button, textarea, details, summary, .container, .messages, .message, .header, .composer, .status {
          display: none !important; visibility: hidden !important;
        }
        button { background: red !important; }
      `);
      const container = part(el, 'container')!;
      expect(getComputedStyle(container).color).to.not.equal('rgb(255, 0, 0)');
      expect(getComputedStyle(container).fontSize).to.equal('15px');
      expect(getComputedStyle(container).letterSpacing).to.equal('normal');
      expect(el.getBoundingClientRect().height).to.be.greaterThan(100);
      expect(input(el).checkVisibility({ visibilityProperty: true }), 'the text box is visible').to.equal(true);
      expect(getComputedStyle(part(el, 'send-button')!).backgroundColor).to.not.equal('rgb(255, 0, 0)');
    });

    it("the element's styles do not leak out", async () => {
      const wrap = await fixture<HTMLDivElement>(html`<div>
        <p id="outside">outside</p>
        <button id="outside-btn">outside</button>
        <textarea id="outside-ta" aria-label="outside"></textarea>
        <neuronos-chat model=${MODEL}></neuronos-chat>
      </div>`);
      const before = { sheets: document.styleSheets.length, adopted: document.adoptedStyleSheets.length };
      const btn = wrap.querySelector<HTMLButtonElement>('#outside-btn')!;
      const inner = part(wrap.querySelector('neuronos-chat')!, 'load-button')!;
      expect(getComputedStyle(btn).backgroundColor).to.not.equal(getComputedStyle(inner).backgroundColor);
      expect(getComputedStyle(btn).fontWeight).to.not.equal('600');
      const plain = document.createElement('textarea');
      document.body.appendChild(plain);
      expect(getComputedStyle(wrap.querySelector('#outside-ta')!).borderRadius).to.equal(getComputedStyle(plain).borderRadius);
      expect(getComputedStyle(wrap.querySelector('#outside')!).marginTop).to.equal('16px');
      plain.remove();
      expect(document.styleSheets.length).to.equal(before.sheets);
      expect(document.adoptedStyleSheets.length).to.equal(0);
    });

    it('follows prefers-color-scheme unless theme is set; custom properties and ::part() theme it', async () => {
      await emulateMedia({ colorScheme: 'dark' });
      const el = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL}></neuronos-chat>`);
      const bg = () => getComputedStyle(part(el, 'container')!).backgroundColor;
      expect(bg()).to.equal('rgb(22, 24, 29)');
      el.setAttribute('theme', 'light');
      await el.updateComplete;
      expect(bg()).to.equal('rgb(255, 255, 255)');
      await emulateMedia({ colorScheme: 'light' });
      el.setAttribute('theme', 'dark');
      await el.updateComplete;
      expect(bg()).to.equal('rgb(22, 24, 29)');
      el.removeAttribute('theme');
      await el.updateComplete;
      expect(el.theme).to.equal(undefined);
      expect(bg()).to.equal('rgb(255, 255, 255)');
      el.style.setProperty('--neuronos-bg', 'rgb(1, 2, 3)');
      expect(bg()).to.equal('rgb(1, 2, 3)');
      pageStyle('neuronos-chat::part(load-button) { background-color: rgb(0, 128, 0); }');
      expect(getComputedStyle(part(el, 'load-button')!).backgroundColor).to.equal('rgb(0, 128, 0)');
    });

    it('exposes every documented part', async () => {
      const el = await readyChat();
      await el.send('hello');
      backend.reply = () => ({ pieces: ['x', 'y'], holdAfter: 1 });
      void el.send('again');
      await until(() => backend.lastClient!.lastStream?.holding, 'streaming');
      el.setAttribute('temperature', 'hot');
      await el.updateComplete;
      // (the agent's parts — steps, step, step-summary, … — are checked in element-agent.test.ts)
      for (const name of ['container', 'header', 'messages', 'message', 'message-user', 'message-assistant', 'input', 'send-button', 'stop-button', 'settings', 'error', 'status']) {
        expect(part(el, name), name).to.not.equal(null);
      }
      el.stop();
      const idle = await fixture<NeuronOSChat>(html`<neuronos-chat model=${MODEL}></neuronos-chat>`);
      expect(part(idle, 'load-button')).to.not.equal(null);
      backend.holdLoads = true;
      part(idle, 'load-button')!.click();
      await until(() => part(idle, 'progress'), 'progress');
      backend.releaseLoads();
      expect(part(el, 'steps'), 'a plain reply has no steps').to.equal(null);
    });
  });
});
