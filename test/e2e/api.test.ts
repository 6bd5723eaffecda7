// The worker and the NeuronOS API in real headless Chromium: the WASM variants (relaxed SIMD included), Stop, errors,
// trap recovery, the strict CSP, and hosting dist/ from another origin.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { manifest } from '../node/helpers.js';
import { open, script, startServer, useBrowserAndServers } from './harness.js';

const env = useBrowserAndServers();

async function apiPage(base: string, query = 'manual=1', beforeGoto?: (page: Page) => Promise<unknown>): Promise<{ page: Page; log: Awaited<ReturnType<typeof open>>['log'] }> {
  const r = await open(env.browser(), `${base}/demo/api.html?${query}`, beforeGoto);
  await r.page.waitForSelector('body[data-ready="1"]');
  return r;
}

/** Runs in the page: load a model, then a chat turn; returns what a user would see. */
async function chatOnce(page: Page, model: string, message = 'Who are you?') {
  return page.evaluate(
    async ({ model, message }) => {
      const ai = (window as any).neuronos;
      const info = await ai.loadModel(model, { contextSize: 512 });
      let text = '';
      const s = ai.chat(message, { temperature: 0, tools: [] });
      for await (const p of s) text += p;
      const r = await s.result;
      return { text, finish: r.finish, variant: ai.variant, threads: ai.threads, isolated: crossOriginIsolated, arch: info.architecture, simd: ai.simd, relaxedSimd: ai.relaxedSimd };
    },
    { model, message },
  );
}

describe('NeuronOS API in Chromium', () => {
  test('cross-origin isolated page: threaded build, ≥ 2 threads, exact scripted reply, CSP enforced', async () => {
    const { page, log } = await apiPage(env.isolated().url);
    const r = await chatOnce(page, '/models/scripted.gguf');
    assert.equal(r.isolated, true);
    assert.equal(r.variant, 'mt');
    assert.ok(r.threads >= 2, `threads ${r.threads}`);
    assert.equal(r.simd, true);
    assert.equal(r.relaxedSimd, true, 'Chromium validates relaxed SIMD: the relaxed build runs');
    assert.equal(r.text, script());
    assert.equal(r.finish, 'eos');
    // the CSP header is there and nothing was refused
    const resp = await page.request.get(`${env.isolated().url}/demo/api.html`);
    assert.match(resp.headers()['content-security-policy'] ?? '', /script-src 'self' 'wasm-unsafe-eval'/);
    assert.deepEqual(log.cspViolations, []);
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  test('BitNet b1.58 (I2_S): the scripted BitNet model answers in both builds (isolated: threaded; plain: single-thread)', async () => {
    const want = manifest('bitnet-scripted').script as string;
    for (const [base, variant] of [[env.isolated().url, 'mt'], [env.plain().url, 'st']] as const) {
      const { page, log } = await apiPage(base);
      const r = await chatOnce(page, '/models/bitnet-scripted.gguf');
      assert.equal(r.variant, variant);
      assert.equal(r.arch, 'bitnet-b1.58');
      assert.equal(r.text, want);
      assert.equal(r.finish, 'eos');
      assert.deepEqual(log.errors, []);
      await page.close();
    }
  });

  test('relaxed-SIMD build and SIMD128 threaded build: the same greedy and seeded tokens on a Q4_0 model', async () => {
    const texts: string[] = [];
    for (const [query, relaxed] of [['manual=1', true], ['manual=1&relaxed=0', false]] as const) {
      const { page, log } = await apiPage(env.isolated().url, query);
      const r = await page.evaluate(async () => {
        const ai = (window as any).neuronos;
        const info = await ai.loadModel('/models/tiny-random-q4_0.gguf', { contextSize: 256, threads: 2 });
        let greedy = '';
        for await (const p of ai.generate('The history of the city', { temperature: 0, maxTokens: 32, ignoreEos: true })) greedy += p;
        let sampled = '';
        for await (const p of ai.generate('The history of the city', { temperature: 0.8, seed: 7, maxTokens: 32, ignoreEos: true })) sampled += p;
        return { greedy, sampled, relaxedSimd: ai.relaxedSimd, variant: ai.variant, repacked: info.repacked_bytes };
      });
      assert.equal(r.variant, 'mt');
      assert.equal(r.relaxedSimd, relaxed);
      // the downloaded model is mapped in place and its Q4_0 layer matrices repacked there (patch 0008)
      assert.ok(r.repacked > 200_000, `repacked ${r.repacked} bytes`);
      assert.ok(r.greedy.length > 0 && r.sampled.length > 0);
      texts.push(JSON.stringify([r.greedy, r.sampled]));
      assert.deepEqual(log.errors, []);
      await page.close();
    }
    assert.equal(texts[0], texts[1]);
  });

  test('a deployment without the relaxed build\'s files: the threaded SIMD128 build starts instead', async () => {
    const missing: string[] = [];
    const { page, log } = await apiPage(env.isolated().url, 'manual=1', (p) =>
      p.context().route(/neuronos-worker-relaxed\.(js|wasm)$/, (route) => {
        missing.push(route.request().url());
        return route.fulfill({ status: 404, body: 'not here' });
      }),
    );
    const r = await chatOnce(page, '/models/scripted.gguf');
    assert.ok(missing.length >= 1, 'the worker asked for the relaxed build first');
    assert.equal(r.variant, 'mt');
    assert.equal(r.relaxedSimd, false);
    assert.equal(r.text, script());
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  test('page without isolation: single-thread build, exact scripted reply', async () => {
    const { page, log } = await apiPage(env.plain().url);
    const r = await chatOnce(page, '/models/scripted.gguf');
    assert.equal(r.isolated, false);
    assert.equal(r.variant, 'st');
    assert.equal(r.text, script());
    assert.deepEqual(log.errors, []);
    await page.close();
  });

  for (const [name, base] of [
    ['st', () => env.plain().url],
    ['mt', () => env.isolated().url],
  ] as const) {
    test(`${name}: Stop ends a long generation at once; the same worker then answers again`, async () => {
      const { page } = await apiPage(base());
      const r = await page.evaluate(async () => {
        const ai = (window as any).neuronos;
        await ai.loadModel('/models/tiny-random.gguf', { contextSize: 4096 });
        const s = ai.generate('Once upon a time', { temperature: 0, maxTokens: 3000, ignoreEos: true });
        let pieces = 0;
        let stoppedAt = -1;
        for await (const _ of s) {
          pieces++;
          if (pieces === 10) {
            stoppedAt = pieces;
            s.abort();
          }
        }
        const res = await s.result;
        // same instance, new request
        const again = ai.generate('Once upon a time', { temperature: 0, maxTokens: 5, ignoreEos: true });
        for await (const _ of again);
        const res2 = await again.result;
        return { finish: res.finish, generated: res.stats.generatedTokens, stoppedAt, finish2: res2.finish, generated2: res2.stats.generatedTokens };
      });
      assert.equal(r.finish, 'aborted');
      assert.ok(r.generated < 20, `stopped after ${r.generated} tokens (Stop at ${r.stoppedAt})`);
      assert.equal(r.finish2, 'length');
      assert.equal(r.generated2, 5);
      await page.close();
    });
  }

  test('a 404, an HTML page and a truncated GGUF each give their own error; a good model loads afterwards', async () => {
    const { page } = await apiPage(env.plain().url);
    const r = await page.evaluate(async () => {
      const ai = (window as any).neuronos;
      const codes: Record<string, unknown> = {};
      const cases: [string, string][] = [
        ['missing', '/models/does-not-exist.gguf'],
        ['html', '/demo/api.html'],
        ['truncated', '/models/bad-truncated.gguf'],
        ['tooLarge', '/models/bad-too-large.gguf'],
      ];
      for (const [k, url] of cases) {
        try {
          await ai.loadModel(url);
          codes[k] = 'loaded?!';
        } catch (e: any) {
          codes[k] = { code: e.code, message: e.message, name: e.name };
        }
      }
      await ai.loadModel('/models/scripted.gguf');
      let text = '';
      for await (const p of ai.chat('hi', { temperature: 0, tools: [] })) text += p;
      return { codes, text };
    });
    const c = r.codes as Record<string, { code: string; message: string }>;
    assert.equal(c.missing!.code, 'not_found');
    assert.match(c.missing!.message, /404/);
    assert.equal(c.html!.code, 'model_invalid');
    assert.match(c.html!.message, /HTML/);
    assert.equal(c.truncated!.code, 'model_invalid');
    assert.match(c.truncated!.message, /truncated/);
    assert.equal(c.tooLarge!.code, 'model_too_large');
    assert.equal(r.text, script());
    await page.close();
  });

  for (const [name, base] of [
    ['st', () => env.plain().url],
    ['mt', () => env.isolated().url],
  ] as const) {
    test(`${name}: a WebAssembly trap gives wasm_crashed; restart() recovers`, async () => {
      const { page } = await apiPage(base());
      const r = await page.evaluate(async () => {
        const ai = (window as any).neuronos;
        await ai.loadModel('/models/scripted.gguf');
        let code = '';
        try {
          await ai.debugTrap();
        } catch (e: any) {
          code = e.code;
        }
        let after = '';
        try {
          await ai.tokenize('hello');
        } catch (e: any) {
          after = e.code;
        }
        await ai.restart();
        await ai.loadModel('/models/scripted.gguf');
        let text = '';
        for await (const p of ai.chat('hi', { temperature: 0, tools: [] })) text += p;
        return { code, after, text };
      });
      assert.equal(r.code, 'wasm_crashed');
      assert.equal(r.after, 'wasm_crashed', 'a dead instance stays dead');
      assert.equal(r.text, script());
      await page.close();
    });
  }

  test('dist/ served from another origin (a CDN): the worker starts through a blob: trampoline', async () => {
    const cdn = await startServer({ coi: true });
    const site = await startServer({ coi: true, cspOrigins: [cdn.url] });
    try {
      const { page, log } = await open(env.browser(), `${site.url}/demo/api.html?manual=1&cdn=${encodeURIComponent(cdn.url + '/dist/')}`);
      await page.waitForSelector('body[data-ready="1"]');
      const r = await chatOnce(page, `${site.url}/models/scripted.gguf`);
      assert.equal(r.text, script());
      assert.equal(r.variant, 'mt');
      assert.ok(log.requests.some((u) => u.startsWith(`GET ${cdn.url}`) && u.endsWith('.wasm')), 'the wasm came from the CDN origin');
      assert.deepEqual(log.errors, []);
      await page.close();
    } finally {
      await cdn.stop();
      await site.stop();
    }
  });
});
