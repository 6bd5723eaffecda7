// <neuronos-chat> with the real worker and WASM in headless Chromium, on the playground page
// (which is served under the strict CSP): exact streamed reply with and without cross-origin
// isolation, Stop, load errors, trap recovery, load="click", removal ends the worker.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { open, script, useBrowserAndServers } from './harness.js';

const env = useBrowserAndServers();

/** A page with just the element (under /demo/, so the CSP applies). */
async function elementPage(base: string, attrs: string) {
  const r = await open(env.browser(), `${base}/demo/element-test.html?attrs=${encodeURIComponent(attrs)}`);
  await r.page.waitForFunction(() => customElements.get('neuronos-chat') !== undefined);
  return r;
}

async function waitReady(page: Page) {
  await page.waitForFunction(() => (window as any).events.some((e: any) => e.type === 'neuronos-ready' || e.type === 'neuronos-error'));
  return page.evaluate(() => (window as any).events.find((e: any) => e.type === 'neuronos-ready' || e.type === 'neuronos-error'));
}

/** Types into the element's text box and presses Enter, like a visitor. */
async function send(page: Page, text: string) {
  const input = page.locator('neuronos-chat textarea');
  await input.click();
  await input.fill(text);
  await input.press('Enter');
}

async function lastReply(page: Page, n: number) {
  await page.waitForFunction((n) => (window as any).events.filter((e: any) => e.type === 'neuronos-message' && e.detail.role === 'assistant').length >= n, n);
  return page.evaluate((n) => (window as any).events.filter((e: any) => e.type === 'neuronos-message' && e.detail.role === 'assistant')[n - 1].detail, n);
}

describe('<neuronos-chat> with the real worker', () => {
  for (const [name, base, variant] of [
    ['cross-origin isolated (threaded build)', () => env.isolated().url, 'mt'],
    ['not isolated (single-thread build)', () => env.plain().url, 'st'],
  ] as const) {
    test(`${name}: streams the scripted model's exact reply`, async () => {
      const { page, log } = await elementPage(base(), 'model="/models/scripted.gguf" load="eager" temperature="0" tools="none"');
      const ready = await waitReady(page);
      assert.equal(ready.type, 'neuronos-ready', JSON.stringify(ready));
      assert.equal(ready.detail.variant, variant);
      if (variant === 'mt') assert.ok(ready.detail.threads >= 2, `threads ${ready.detail.threads}`);
      await send(page, 'Who are you?');
      const reply = await lastReply(page, 1);
      assert.equal(reply.content, script());
      assert.equal(reply.finish, 'eos');
      const tokens = await page.evaluate(() => (window as any).events.filter((e: any) => e.type === 'neuronos-token').map((e: any) => e.detail.piece).join(''));
      assert.equal(tokens, script(), 'streamed piece by piece');
      const shown = await page.locator('neuronos-chat [part~="message-assistant"]').last().innerText();
      assert.ok(shown.includes(script()), `shown: ${shown}`);
      assert.deepEqual(log.cspViolations, []);
      assert.deepEqual(log.errors, []);
      await page.close();
    });
  }

  test('Stop ends the reply; a new message works on the same worker', async () => {
    const { page } = await elementPage(env.isolated().url, 'model="/models/tiny-random.gguf" load="eager" temperature="0" max-tokens="4000" context-size="4096" tools="none"');
    await waitReady(page);
    const workers = page.workers().length;
    await send(page, 'Tell me everything.');
    await page.waitForFunction(() => (window as any).events.filter((e: any) => e.type === 'neuronos-token').length >= 5);
    await page.locator('neuronos-chat [part="stop-button"]').click();
    const reply = await lastReply(page, 1);
    assert.equal(reply.finish, 'aborted');
    assert.ok(reply.stats.generatedTokens < 200, `stopped after ${reply.stats.generatedTokens} tokens`);
    await send(page, 'Again.');
    await page.waitForFunction(() => (window as any).events.filter((e: any) => e.type === 'neuronos-token').length >= 40);
    await page.locator('neuronos-chat [part="stop-button"]').click();
    const second = await lastReply(page, 2);
    assert.equal(second.finish, 'aborted');
    assert.equal(page.workers().length, workers, 'no new worker was started');
    await page.close();
  });

  test('404, HTML and truncated models each show a message and fire neuronos-error; a good model loads after', async () => {
    const { page } = await elementPage(env.plain().url, 'load="eager" temperature="0" tools="none"');
    const results: Record<string, { code: string; message: string; shown: string }> = {};
    for (const [k, url] of [
      ['missing', '/models/missing.gguf'],
      ['html', '/demo/index.html'],
      ['truncated', '/models/bad-truncated.gguf'],
    ]) {
      const n = await page.evaluate(() => (window as any).events.filter((e: any) => e.type === 'neuronos-error').length);
      await page.evaluate((url) => document.querySelector('neuronos-chat')!.setAttribute('model', url), url!);
      await page.waitForFunction((n) => (window as any).events.filter((e: any) => e.type === 'neuronos-error').length > n, n);
      const ev = await page.evaluate(() => (window as any).events.filter((e: any) => e.type === 'neuronos-error').pop().detail);
      const shown = await page.locator('neuronos-chat [part="error"]').innerText();
      results[k!] = { ...ev, shown };
    }
    assert.equal(results.missing!.code, 'not_found');
    assert.equal(results.html!.code, 'model_invalid');
    assert.equal(results.truncated!.code, 'model_invalid');
    for (const r of Object.values(results)) {
      assert.ok(r.shown.length > 10, `visible message: ${r.shown}`);
      assert.doesNotMatch(r.shown, /at \w+ \(|\.js:\d+/, 'no stack trace');
    }
    await page.evaluate(() => document.querySelector('neuronos-chat')!.setAttribute('model', '/models/scripted.gguf'));
    await page.waitForFunction(() => (window as any).events.some((e: any) => e.type === 'neuronos-ready'));
    await send(page, 'hi');
    assert.equal((await lastReply(page, 1)).content, script());
    await page.close();
  });

  test('a WebAssembly trap gives wasm_crashed; the element starts a new worker and works again', async () => {
    const { page } = await elementPage(env.isolated().url, 'model="/models/scripted.gguf" load="eager" temperature="0" tools="none"');
    await waitReady(page);
    await page.evaluate(() => {
      const el = document.querySelector('neuronos-chat') as any;
      // test hook: the element's client is the real NeuronOS instance
      void el._client.debugTrap().catch((e: any) => el.handleError?.(e));
    });
    await page.waitForFunction(() => (window as any).events.some((e: any) => e.type === 'neuronos-error' && e.detail.code === 'wasm_crashed'));
    await page.waitForFunction(() => (window as any).events.filter((e: any) => e.type === 'neuronos-ready').length >= 2);
    await send(page, 'still there?');
    assert.equal((await lastReply(page, 1)).content, script());
    await page.close();
  });

  test('load="click" downloads nothing until the button is used; removing the element ends its worker', async () => {
    const { page, log } = await elementPage(env.plain().url, 'model="/models/scripted.gguf" temperature="0" tools="none"');
    // the Load prompt names the model and its size (from a HEAD request), and downloads nothing
    await page.waitForFunction(() => /scripted\.gguf.*\(25\.5 MB\)/.test(document.querySelector('neuronos-chat')!.shadowRoot!.textContent ?? ''));
    await page.waitForTimeout(1000);
    assert.equal(log.requests.filter((u) => u.startsWith('GET') && u.includes('/models/')).length, 0, 'no model download before the click');
    assert.equal(page.workers().length, 0, 'no worker before the click');
    await page.locator('neuronos-chat [part="load-button"]').click();
    await waitReady(page);
    assert.equal(log.requests.filter((u) => u.startsWith('GET') && u.includes('/models/scripted.gguf')).length, 1);
    assert.ok(page.workers().length >= 1, 'a worker runs');
    await page.evaluate(() => document.querySelector('neuronos-chat')!.remove());
    await page.waitForFunction(() => true);
    for (let i = 0; i < 50 && page.workers().length > 0; i++) await page.waitForTimeout(100);
    assert.equal(page.workers().length, 0, 'the worker ended with the element');
    await page.close();
  });
});
