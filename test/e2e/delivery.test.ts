// Model delivery in Chromium against a model host that behaves like the real one (Range,
// ETag, CORS, a redirect to a "CDN") and fails on demand: resume after drops, split models,
// the OPFS cache, integrity, cancel, and the errors of a bad host.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { FIXTURES } from '../node/helpers.js';
import { startModelHost, type ModelHost } from '../server/model-host.js';
import { launch, open, script, startServer, type Server } from './harness.js';

let browser: Browser;
let site: Server;
let plainSite: Server;
let host: ModelHost;
const fx = (f: string) => join(FIXTURES, f);
const SCRIPTED = 'scripted.gguf';

before(async () => {
  browser = await launch();
  site = await startServer({ coi: true });
  plainSite = await startServer({ coi: false });
  host = await startModelHost({
    redirectPrefix: '/resolve/',
    files: {
      '/org/m/resolve/main/scripted.gguf': fx(SCRIPTED),
      '/org/m/resolve/main/drop.gguf': fx(SCRIPTED),
      '/org/m/resolve/main/cancel.gguf': fx(SCRIPTED),
      '/org/m/resolve/main/changing.gguf': new Uint8Array(readFileSync(fx(SCRIPTED))),
      '/org/m/resolve/main/integrity.gguf': fx(SCRIPTED),
      '/org/m/resolve/main/e404.gguf': fx(SCRIPTED),
      '/org/m/resolve/main/e500.gguf': fx(SCRIPTED),
      '/org/m/resolve/main/html.gguf': fx(SCRIPTED),
      '/org/m/resolve/main/stall.gguf': fx(SCRIPTED),
      ...Object.fromEntries([1, 2, 3].map((i) => [`/org/m/resolve/main/split-0000${i}-of-00003.gguf`, fx(`scripted-split-0000${i}-of-00003.gguf`)])),
    },
  });
});
after(async () => {
  await browser?.close();
  await site?.stop();
  await plainSite?.stop();
  await host?.stop();
});

/** The threaded build (isolated page) unless `st`. */
async function apiPage(st = false): Promise<Page> {
  const { page } = await open(browser, `${(st ? plainSite : site).url}/demo/api.html?manual=1`);
  await page.waitForSelector('body[data-ready="1"]');
  return page;
}

/** In the page: load with options, chat once; errors come back as {code, message}. */
async function loadAndChat(page: Page, url: string, opts: Record<string, unknown> = {}) {
  return page.evaluate(
    async ({ url, opts }) => {
      const ai = (window as any).neuronos;
      const notices: unknown[] = [];
      try {
        // (no function literal as a property value: tsx would wrap it in a helper the page lacks)
        const info = await ai.loadModel(url, Object.assign({}, opts, { onNotice: notices.push.bind(notices) }));
        let text = '';
        for await (const p of ai.chat('hi', { temperature: 0, tools: [] })) text += p;
        const { fromCache, bytes } = ai.lastLoad;
        return { ok: true, text, fromCache, bytes, arch: info.architecture, notices };
      } catch (e: any) {
        return { ok: false, code: e.code, message: e.message, notices };
      }
    },
    { url, opts },
  );
}

const gets = (path: string) => host.requests.filter((r) => r.method === 'GET' && r.path.includes(path));

describe('model delivery', () => {
  for (const st of [false, true]) test(`${st ? 'st' : 'mt'}: a download dropped at three points resumes with Range requests and gives the exact output`, async () => {
    // Each drop comes after at least 2 MiB: the worker reads through a 1 MiB buffer and Chromium
    // can discard a partly filled read when the connection breaks, so a drop inside the first MiB
    // may restart from byte 0 (no Range) — correct, but not a resume (seen in a CI run).
    host.setBehavior('/org/m/resolve/main/drop.gguf', { dropAt: [3_000_000, 9_000_000, 20_000_000] });
    host.requests.length = 0;
    const page = await apiPage(st);
    const r = await loadAndChat(page, `${host.url}/org/m/resolve/main/drop.gguf`, { cache: 'off' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.text, script());
    const ranged = gets('drop.gguf').filter((q) => q.range);
    assert.ok(ranged.length >= 3, `resumed with ranges: ${JSON.stringify(gets('drop.gguf'))}`);
    await page.close();
  });

  test('a 3-part split model loads (4 at a time, separate buffers) with the same output', async () => {
    const page = await apiPage();
    const r = await loadAndChat(page, `${host.url}/org/m/resolve/main/split-00001-of-00003.gguf`, { cache: 'off' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.text, script());
    for (const i of [1, 2, 3]) assert.equal(gets(`split-0000${i}-of-00003`).length >= 1, true, `part ${i} fetched`);
    await page.close();
  });

  for (const st of [false, true]) test(`${st ? 'st' : 'mt'}: the second load, after a reload, comes from OPFS with zero network requests`, async () => {
    const page = await apiPage(st);
    const url = `${host.url}/org/m/resolve/main/scripted.gguf`;
    const first = await loadAndChat(page, url);
    assert.ok(first.ok && first.fromCache === false, JSON.stringify(first));
    const listed = await page.evaluate(async () => (await (window as any).neuronos.constructor.cachedModels()).map((m: any) => m.url));
    assert.deepEqual(listed, [url]);
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]');
    const before = host.requests.length;
    const second = await loadAndChat(page, url);
    assert.ok(second.ok, JSON.stringify(second));
    assert.equal(second.fromCache, true);
    assert.equal(second.text, script());
    assert.equal(host.requests.length, before, `no request: ${JSON.stringify(host.requests.slice(before))}`);
    // the client can delete it
    await page.evaluate(async (u) => (window as any).neuronos.constructor.deleteCachedModel(u), url);
    assert.equal(await page.evaluate(async (u) => (window as any).neuronos.constructor.isModelCached(u), url), false);
    await page.close();
  });

  test('a changed ETag invalidates the cached copy (cache: "revalidate")', async () => {
    const page = await apiPage();
    const url = `${host.url}/org/m/resolve/main/changing.gguf`;
    const first = await loadAndChat(page, url);
    assert.ok(first.ok && first.arch === 'llama', JSON.stringify(first));
    host.putFile('/org/m/resolve/main/changing.gguf', new Uint8Array(readFileSync(fx('tiny-random.gguf'))));
    const second = await loadAndChat(page, url, { cache: 'revalidate' });
    assert.ok(second.ok, JSON.stringify(second));
    assert.equal(second.fromCache, false, 'downloaded again');
    assert.equal(second.arch, 'qwen2', 'the new file');
    assert.ok((second.notices as any[]).some((n) => n.code === 'cache_stale'));
    host.putFile('/org/m/resolve/main/changing.gguf', new Uint8Array(readFileSync(fx(SCRIPTED))));
    await page.close();
  });

  test('a wrong integrity hash is refused with integrity_mismatch and nothing is cached; the right one loads', async () => {
    const page = await apiPage();
    const url = `${host.url}/org/m/resolve/main/integrity.gguf`;
    const bad = await loadAndChat(page, url, { integrity: 'sha256-' + Buffer.alloc(32, 7).toString('base64') });
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 'integrity_mismatch', JSON.stringify(bad));
    assert.equal(await page.evaluate(async (u) => (window as any).neuronos.constructor.isModelCached(u), url), false);
    const good = 'sha256-' + createHash('sha256').update(readFileSync(fx(SCRIPTED))).digest('base64');
    const ok = await loadAndChat(page, url, { integrity: good });
    assert.ok(ok.ok && ok.text === script(), JSON.stringify(ok));
    await page.close();
  });

  test('cancel mid-download leaves no partial file that a later load would trust', async () => {
    host.setBehavior('/org/m/resolve/main/cancel.gguf', { bytesPerSecond: 8_000_000 });
    const page = await apiPage();
    const url = `${host.url}/org/m/resolve/main/cancel.gguf`;
    const r = await page.evaluate(async (url) => {
      const ai = (window as any).neuronos;
      const ctrl = new AbortController();
      const watch = function (p: any) {
        if (p.phase === 'download' && p.loaded > 5_000_000) ctrl.abort();
      };
      try {
        await ai.loadModel(url, Object.assign({ signal: ctrl.signal }, { onProgress: watch }));
        return { code: 'loaded?!' };
      } catch (e: any) {
        return { code: e.code, name: e.name, cached: await ai.constructor.isModelCached(url) };
      }
    }, url);
    assert.equal(r.code, 'aborted');
    assert.equal(r.name, 'AbortError');
    assert.equal(r.cached, false, 'a partial download is not a cached model');
    host.setBehavior('/org/m/resolve/main/cancel.gguf', null);
    const again = await loadAndChat(page, url);
    assert.ok(again.ok && again.fromCache === false && again.text === script(), JSON.stringify(again));
    await page.close();
  });

  test('404, 500, HTML instead of GGUF and a stall each give their own clear error', async () => {
    host.setBehavior('/org/m/resolve/main/e404.gguf', { status: 404 });
    host.setBehavior('/org/m/resolve/main/e500.gguf', { status: 500 });
    host.setBehavior('/org/m/resolve/main/html.gguf', { html: true });
    host.setBehavior('/org/m/resolve/main/stall.gguf', { stallAt: 2_000_000 });
    const page = await apiPage();
    const res: Record<string, any> = {};
    for (const k of ['e404', 'e500', 'html', 'stall']) {
      res[k] = await loadAndChat(page, `${host.url}/org/m/resolve/main/${k}.gguf`, { cache: 'off', stallMs: 2000 });
    }
    assert.equal(res.e404.code, 'not_found', JSON.stringify(res.e404));
    assert.equal(res.e500.code, 'http_error', JSON.stringify(res.e500));
    assert.match(res.e500.message, /500/);
    assert.equal(res.html.code, 'model_invalid');
    assert.match(res.html.message, /HTML/);
    assert.equal(res.stall.code, 'download_stalled', JSON.stringify(res.stall));
    const ok = await loadAndChat(page, `${host.url}/org/m/resolve/main/scripted.gguf`, { cache: 'off' });
    assert.equal(ok.text, script(), 'usable afterwards');
    await page.close();
  });

  for (const st of [false, true]) test(`${st ? 'st' : 'mt'}: a local File loads the same way`, async () => {
    const page = await apiPage(st);
    const r = await page.evaluate(async () => {
      const ai = (window as any).neuronos;
      const blob = await (await fetch('/models/scripted.gguf')).blob();
      const info = await ai.loadModel(new File([blob], 'scripted.gguf'));
      let text = '';
      for await (const p of ai.chat('hi', { temperature: 0, tools: [] })) text += p;
      return { text, arch: info.architecture };
    });
    assert.equal(r.text, script());
    await page.close();
  });
});
