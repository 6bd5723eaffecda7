/**
 * The test server (web-test-runner.config.mjs): COOP/COEP headers only where asked for, so the
 * threaded WASM build can be tested on a cross-origin isolated page without isolating the rest.
 */
import { expect } from '@open-wc/testing';

declare function it(name: string, fn: () => void | Promise<void>): void;

it('adds COOP/COEP only for ?coi=1 and /coi/ URLs', async () => {
  const plain = await fetch('/test/browser/xss-corpus.ts');
  expect(plain.ok).to.equal(true);
  expect(plain.headers.get('cross-origin-opener-policy')).to.equal(null);
  expect(plain.headers.get('cross-origin-embedder-policy')).to.equal(null);
  const coi = await fetch('/test/browser/xss-corpus.ts?coi=1');
  expect(coi.headers.get('cross-origin-opener-policy')).to.equal('same-origin');
  expect(coi.headers.get('cross-origin-embedder-policy')).to.equal('require-corp');
  const folder = await fetch('/coi/anything');
  expect(folder.headers.get('cross-origin-embedder-policy')).to.equal('require-corp');
  expect(crossOriginIsolated, 'this page itself is not isolated').to.equal(false);
});
