// The agent's memory in real headless Chromium, through the client API (`neuronos.memory`) on
// the demo page: the SQLite database in OPFS through our VFS, in both WASM builds. Facts and the
// conversation's recall messages survive a reload; 50 rounds of "store, then terminate the worker
// at a random moment" (seeded; the seed is printed and is in every failure message) leave an
// intact database holding every store whose call had resolved; two pages of one origin at once
// (the second is told, waits or runs in RAM; no corruption); export → clear → import gives the
// same memory back; hostile search queries reach C and return arrays; a real storage quota gives
// quota_exceeded; a page without OPFS runs in RAM and says so. No model is needed for memory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../build/chromium.mjs';
import { manifest } from '../node/helpers.js';
import { TIMEOUT_MS, startServer, useBrowserAndServers } from './harness.js';

const env = useBrowserAndServers();

// Most tests run in a browser profile on disk, as a visitor's browser is. Playwright's default
// contexts are off-the-record (incognito): there Chromium keeps OPFS in the browser process and
// every access-handle call is a round trip to it (a 4 KiB write ~4 ms instead of ~0.2 ms), which
// works (one test runs there) but would make the durability rounds slow for nothing.
let profileDir = '';
let profile: BrowserContext;
before(async () => {
  profileDir = mkdtempSync(join(tmpdir(), 'neuronos-memory-'));
  profile = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
});
after(async () => {
  await profile?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});
const BUILDS = [
  ['mt', () => env.isolated().url],
  ['st', () => env.plain().url],
] as const;

/** A page of the API demo (no model loaded) in `ctx`; pages of one context share its OPFS. */
async function apiPage(ctx: BrowserContext, base: string, query = 'manual=1'): Promise<Page> {
  const page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  // tsx wraps named functions with __name(); functions passed to page.evaluate need it
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.goto(`${base}/demo/api.html?${query}`);
  await page.waitForSelector('body[data-ready="1"]');
  return page;
}

/**
 * Runs the async function source `f` as `f(neuronos, arg)` in the page (evaluated by the
 * debugger protocol, so the page's CSP, which forbids eval, does not apply); a rejection comes
 * back as {error: {code, message}}.
 */
async function call<T>(page: Page, f: string, arg: unknown = null): Promise<T> {
  return page.evaluate(`(async () => {
    const ai = window.neuronos;
    try {
      return await (${f})(ai, ${JSON.stringify(arg)});
    } catch (e) {
      return { error: { code: e.code, message: e.message, name: e.name } };
    }
  })()`) as Promise<T>;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same schedule. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('memory in Chromium (OPFS through the SQLite VFS)', () => {
  for (const [name, base] of BUILDS) {
    test(`${name}: stored facts and recall messages survive a reload; the file is intact`, async () => {
      const page = await apiPage(profile, base());
      const opened = await call<any>(page, `(ai) => ai.memory.open('alice')`);
      assert.deepEqual(opened, { agent: 'alice', persistent: true });
      assert.equal(await page.evaluate(() => (window as any).neuronos.variant), name);
      const stored = await call<any>(
        page,
        `async (ai) => {
          const out = [];
          out.push(await ai.memory.store({ tier: 'core', label: 'human', text: 'Name: Ada. Likes: café au lait.' }));
          out.push(await ai.memory.store({ tier: 'archival', text: 'Ada’s cat is called Turing.', tags: ['pets'] }));
          out.push(await ai.memory.store({ tier: 'archival', text: 'Ada was born in 1815 in London.', tags: ['bio', 'dates'] }));
          out.push(await ai.memory.store({ tier: 'recall', conversation_id: 'c1', role: 'user', content: 'What is my cat called?' }));
          out.push(await ai.memory.store({ tier: 'recall', conversation_id: 'c1', role: 'assistant', content: 'Your cat is called Turing.' }));
          return { out, stats: await ai.memory.stats() };
        }`,
      );
      assert.equal(stored.error, undefined, JSON.stringify(stored.error));
      assert.deepEqual(stored.out[0], { tier: 'core', id: 'human' });
      assert.deepEqual(stored.out.slice(1).map((r: any) => r.tier), ['archival', 'archival', 'recall', 'recall']);
      assert.ok(stored.out.slice(1).every((r: any) => Number.isInteger(r.id) && r.id > 0));
      assert.equal(stored.stats.persistent, true);
      assert.equal(stored.stats.archival, 2);
      assert.equal(stored.stats.recall, 2);

      await page.reload();
      await page.waitForSelector('body[data-ready="1"]');
      const after = await call<any>(
        page,
        `async (ai) => {
          const opened = await ai.memory.open('alice');
          await ai.memory.check();
          return {
            opened,
            core: await ai.memory.list('core'),
            archival: await ai.memory.list('archival'),
            recall: await ai.memory.list('recall'),
            found: await ai.memory.search('cafe turing'),
            c1: await ai.memory.search('cat', { tier: 'recall', conversation_id: 'c1' }),
            stats: await ai.memory.stats(),
          };
        }`,
      );
      assert.equal(after.error, undefined, JSON.stringify(after.error));
      assert.equal(after.opened.persistent, true);
      assert.equal(after.opened.recovered, undefined, 'no interrupted write to recover');
      const human = after.core.find((b: any) => b.label === 'human');
      assert.equal(human.text, 'Name: Ada. Likes: café au lait.');
      assert.equal(human.id, 'human');
      assert.deepEqual(after.archival.map((e: any) => e.text), ['Ada was born in 1815 in London.', 'Ada’s cat is called Turing.']);
      assert.deepEqual(after.archival[0].tags, ['bio', 'dates']);
      assert.deepEqual(after.recall.map((m: any) => [m.role, m.content, m.conversation_id]), [
        ['assistant', 'Your cat is called Turing.', 'c1'],
        ['user', 'What is my cat called?', 'c1'],
      ]);
      assert.ok(after.found.length >= 2 && after.found.some((h: any) => h.tier === 'archival' && /Turing/.test(h.text)), JSON.stringify(after.found));
      assert.equal(after.c1.length, 2);
      assert.equal(after.stats.bytes > 0, true);
      // another agent's memory is another file: empty
      const bob = await call<any>(page, `async (ai) => { await ai.memory.open('bob'); return ai.memory.stats(); }`);
      assert.deepEqual([bob.archival, bob.recall, bob.core], [0, 0, 2]);
      await page.close();
    });
  }

  test('mt: reloads in the middle of a burst of stores keep every store that had resolved', async () => {
    // each resolved store is noted in localStorage (synchronously), which outlives the reload
    const page = await apiPage(profile, env.isolated().url);
    const rounds: any[] = [];
    for (let i = 0; i <= 3; i++) {
      const r = await call<any>(
        page,
        `async (ai, i) => {
          const notices = [];
          const o = await ai.memory.open('reload-burst', { onNotice: (n) => notices.push(n.code) });
          await ai.memory.check();
          const noted = JSON.parse(localStorage.getItem('neuronos-test-resolved') || '[]');
          const have = new Set();
          for (let offset = 0; ; offset += 1000) {
            const page = await ai.memory.list('archival', { offset, limit: 1000 });
            for (const e of page) have.add(e.text);
            if (page.length < 1000) break;
          }
          const missing = noted.filter((t) => !have.has(t));
          if (i < 3) {
            for (let j = 0; j < 400; j++) {
              const text = 'reload ' + i + ' fact ' + j + ' ' + 'x'.repeat(j % 7 * 300);
              ai.memory.store({ tier: 'archival', text }).then(() => {
                const l = JSON.parse(localStorage.getItem('neuronos-test-resolved') || '[]');
                l.push(text);
                localStorage.setItem('neuronos-test-resolved', JSON.stringify(l));
              }, () => undefined);
            }
          }
          return { o, notices, noted: noted.length, have: have.size, missing: missing.slice(0, 5), nMissing: missing.length };
        }`,
        i,
      );
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      rounds.push(r);
      assert.equal(r.o.persistent, true, `reload ${i}: ${JSON.stringify(r.o)}`);
      assert.equal(r.nMissing, 0, `reload ${i}: resolved stores missing after the reload: ${JSON.stringify(r.missing)}`);
      if (i < 3) {
        await page.waitForTimeout(150 + i * 200);
        await page.reload();
        await page.waitForSelector('body[data-ready="1"]');
      }
    }
    console.log(`# reloads during bursts: ${rounds.map((r) => `${r.noted} resolved / ${r.have} stored${r.o.recovered ? ' (rolled back a cut write)' : ''}${r.notices.length ? ' (waited for the closing page)' : ''}`).join('; ')}`);
    assert.ok(rounds.at(-1).noted > 0);
    await page.close();
  });

  test('mt: an agent turn’s messages go to recall memory and are there after a reload', async () => {
    const scripts = manifest('agent-scripted').scripts as { name: string; user: string; steps: { output: string }[] }[];
    const greeting = scripts.find((s) => s.name === 'greeting')!;
    const answer = JSON.parse(greeting.steps.at(-1)!.output).answer as string;
    const page = await apiPage(profile, env.isolated().url);
    const r = await call<any>(
      page,
      `async (ai, user) => {
        await ai.memory.open('agent-recall');
        await ai.loadModel('/models/agent-scripted.gguf', { contextSize: 2048 });
        const s = ai.chat(user, { temperature: 0 });
        let text = '';
        for await (const p of s) text += p;
        return { text };
      }`,
      greeting.user,
    );
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.text, answer);
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]');
    const recall = await call<any>(page, `async (ai) => { await ai.memory.open('agent-recall'); return ai.memory.list('recall'); }`);
    assert.equal(recall.error, undefined, JSON.stringify(recall.error));
    const contents = recall.map((m: any) => `${m.role}: ${m.content}`);
    assert.ok(contents.includes(`user: ${greeting.user}`), JSON.stringify(contents));
    assert.ok(recall.some((m: any) => m.role === 'assistant' && m.content.includes(answer)), JSON.stringify(contents));
    await page.close();
  });

  // Chromium's worker.terminate() (and closing or reloading a page) stops a worker that is idle at
  // once, but lets a busy one run on for up to 2 s and then stops it wherever it is (V8's
  // TerminateExecution): in the middle of SQLite's commit, say. So most rounds send a short burst
  // of stores and terminate during it (the worker then ends at the next idle moment), and every
  // fourth sends a burst of several seconds of stores, so the forced stop lands at a random point
  // of one of them. Afterwards: the integrity check passes, every store whose call resolved is
  // there with its exact text, nothing deleted came back, nothing unknown appeared.
  test('durability: 50 rounds of stores with the worker terminated at a random moment', async () => {
    const seed = Number(process.env.NEURONOS_MEMORY_SEED) || Date.now() % 2 ** 31;
    console.log(`# memory durability seed ${seed} (rerun: NEURONOS_MEMORY_SEED=${seed})`);
    const rand = prng(seed);
    const ROUNDS = Number(process.env.NEURONOS_MEMORY_ROUNDS) || 50;
    const page = await apiPage(profile, env.plain().url);
    const first = await call<any>(page, `(ai) => ai.memory.open('durability')`);
    assert.equal(first.persistent, true, JSON.stringify(first));
    let recovered = 0;
    let longRounds = 0;
    let extra = 0;
    let resolvedTotal = 0;
    let unresolvedSaved = 0;
    let unresolvedLost = 0;
    const t0 = Date.now();
    // every fourth round is long; if none of them was stopped inside a write (it happens about
    // 40% of the time per long round), up to 10 more long rounds are run until one is
    for (let round = 0; round < ROUNDS || (recovered === 0 && round < ROUNDS + 10); round++) {
      const long = round % 4 === 3 || round >= ROUNDS;
      if (long) longRounds++;
      const ops: unknown[] = [];
      // long bursts: ~1000 operations (several seconds of work), mostly core-block updates so that
      // the database does not grow much
      const n = long ? 800 + Math.floor(rand() * 400) : 1 + Math.floor(rand() * 6);
      const sizes = long ? [10, 200, 1500] : [40, 1500, 8000, 30_000, 120_000];
      const [pFact, pDelete] = long ? [0.12, 0.16] : [0.8, 0.9];
      for (let i = 0; i < n; i++) {
        const x = rand();
        if (x < pFact) ops.push({ kind: 'fact', key: `k${round}x${i}`, size: sizes[Math.floor(rand() * sizes.length)] });
        else if (x < pDelete) ops.push({ kind: 'delete', pick: rand() });
        else ops.push({ kind: 'core', value: `human v${round}.${i} ${'y'.repeat(Math.floor(rand() * 1500))}` });
      }
      // a store takes ~5-30 ms here (most of it the commit's writes and flushes)
      const delay = Math.floor(rand() * (long ? 400 : n * 25));
      const r = await page.evaluate(
        async ({ ops, delay }) => {
          const ai = (window as any).neuronos;
          const S = ((window as any).__dur ??= { facts: {}, core: [] as string[], coreAt: -1 });
          const promises = (ops as any[]).map((op) => {
            if (op.kind === 'fact') {
              const text = `${op.key} ${'abcdefghij klmnop '.repeat(Math.ceil(op.size / 18)).slice(0, op.size)}`;
              S.facts[op.key] = { text, resolved: false, id: 0, deleted: false };
              return ai.memory.store({ tier: 'archival', text, tags: [op.key] }).then(
                (res: any) => {
                  S.facts[op.key].resolved = true;
                  S.facts[op.key].id = res.id;
                },
                () => undefined,
              );
            }
            if (op.kind === 'delete') {
              const live = Object.keys(S.facts).filter((k) => S.facts[k].present && !S.facts[k].deleting);
              if (!live.length) return Promise.resolve();
              const key = live[Math.floor(op.pick * live.length)]!;
              S.facts[key].deleting = true; // may or may not happen if the worker is stopped
              return ai.memory.delete('archival', S.facts[key].id).then(
                () => (S.facts[key].deleted = true),
                () => undefined,
              );
            }
            const i = S.core.push(op.value) - 1;
            return ai.memory.store({ tier: 'core', label: 'human', text: op.value }).then(
              () => (S.coreAt = Math.max(S.coreAt, i)),
              () => undefined,
            );
          });
          await new Promise((res) => setTimeout(res, delay));
          const resolvedAtTerminate = Object.values(S.facts).filter((f: any) => f.resolved).length;
          const t1 = performance.now();
          await ai.restart(); // worker.terminate() now, whatever it is doing; then reopens the memory
          const tRestart = performance.now() - t1;
          await Promise.allSettled(promises);
          const current = ai.memory.current;
          let check = 'ok';
          try {
            await ai.memory.check();
          } catch (e: any) {
            check = `${e.code}: ${e.message}`;
          }
          const all: any[] = [];
          for (let offset = 0; ; offset += 1000) {
            const page = await ai.memory.list('archival', { offset, limit: 1000 });
            all.push(...page);
            if (page.length < 1000) break;
          }
          const present = new Map(all.map((e) => [e.tags[0], e]));
          const missing: string[] = [];
          const unexpected: string[] = [];
          const corrupt: string[] = [];
          let saved = 0;
          let lost = 0;
          for (const [key, f] of Object.entries(S.facts) as [string, any][]) {
            const e = present.get(key);
            if (f.resolved && !f.deleted && !f.deleting && !e) missing.push(key);
            if (f.deleted && e) unexpected.push(`${key} (deleted)`);
            if (e && e.text !== f.text) corrupt.push(key);
            if (!f.resolved) e ? saved++ : lost++;
            // what is in the file now is what the next rounds check against
            if (e) Object.assign(f, { resolved: true, id: e.id, present: true, deleted: false, deleting: false });
            else delete S.facts[key]; // gone (deleted, or never committed): must not come back
          }
          for (const key of present.keys()) if (!(key in S.facts)) unexpected.push(key);
          const human = (await ai.memory.list('core')).find((b: any) => b.label === 'human')?.text ?? null;
          const at = S.core.lastIndexOf(human);
          const coreOk = S.coreAt < 0 ? human === '' || at >= 0 : at >= S.coreAt;
          if (at >= 0) {
            S.core = [human]; // the value in the file is the oldest one allowed from now on
            S.coreAt = 0;
          }
          return { missing, unexpected, corrupt, check, coreOk, human: String(human).slice(0, 20), current, count: all.length, resolvedAtTerminate, saved, lost, tRestart };
        },
        { ops, delay },
      );
      const where = `round ${round} (seed ${seed}; ${long ? 'long' : 'short'} burst of ${n}, terminated after ${delay} ms)`;
      if (process.env.NEURONOS_MEMORY_VERBOSE) console.log(`# ${where}: ${JSON.stringify({ ...r, missing: r.missing.length, unexpected: r.unexpected.length, corrupt: r.corrupt.length })}`);
      assert.equal(r.current?.persistent, true, `${where}: memory reopened persistent: ${JSON.stringify(r.current)}`);
      assert.equal(r.check, 'ok', `${where}: integrity check`);
      assert.deepEqual(r.missing, [], `${where}: stores whose call had resolved are missing`);
      assert.deepEqual(r.unexpected, [], `${where}: entries that should not be there`);
      assert.deepEqual(r.corrupt, [], `${where}: entries with wrong text`);
      assert.ok(r.coreOk, `${where}: core block 'human' went back to an older value (${r.human}…)`);
      if (r.current.recovered) recovered++;
      if (round >= ROUNDS) extra++;
      resolvedTotal = r.count;
      unresolvedSaved += r.saved;
      unresolvedLost += r.lost;
    }
    console.log(
      `# durability: ${ROUNDS + extra} rounds (${longRounds} long) in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${recovered} were stopped in the middle of ` +
        `a write (hot journal, rolled back at the next open); ${resolvedTotal} entries checked after the last round; of the stores ` +
        `unresolved when terminate() was called, ${unresolvedSaved} were saved whole and ${unresolvedLost} not at all`,
    );
    assert.ok(recovered >= 1, `no round was stopped in the middle of a write (seed ${seed}): the test did not test much`);
    await page.close();
  });

  test('two pages of one origin at once: the second is told and runs in RAM or waits; no corruption', async () => {
    const p1 = await apiPage(profile, env.isolated().url);
    const p2 = await apiPage(profile, env.isolated().url);
    const a = await call<any>(p1, `async (ai) => { const o = await ai.memory.open('shared'); await ai.memory.store({ tier: 'archival', text: 'fact A from page one' }); return o; }`);
    assert.deepEqual(a, { agent: 'shared', persistent: true });
    // the second page does not wait: memory in RAM, and it is told
    const b = await call<any>(p2, `async (ai) => { const o = await ai.memory.open('shared', { waitMs: 0 }); await ai.memory.store({ tier: 'archival', text: 'fact B only in RAM' }); return { o, stats: await ai.memory.stats() }; }`);
    assert.equal(b.o.persistent, false);
    assert.equal(b.o.notice?.code, 'memory_in_use');
    assert.match(b.o.notice.message, /another tab/i);
    assert.equal(b.stats.persistent, false);
    assert.equal(b.stats.archival, 1);
    // the first page is unaffected
    const c = await call<any>(p1, `async (ai) => { await ai.memory.store({ tier: 'archival', text: 'fact C from page one' }); await ai.memory.check(); return (await ai.memory.list('archival')).map((e) => e.text); }`);
    assert.deepEqual(c, ['fact C from page one', 'fact A from page one']);
    // the second page waits this time; the first closes its memory; the second gets it
    const waiting = call<any>(
      p2,
      `async (ai) => { const notices = []; const o = await ai.memory.open('shared', { waitMs: 60000, onNotice: (n) => notices.push(n.code) }); await ai.memory.check(); return { o, notices, texts: (await ai.memory.list('archival')).map((e) => e.text) }; }`,
    );
    await new Promise((r) => setTimeout(r, 300));
    await call(p1, `(ai) => ai.memory.close()`);
    const w = await waiting;
    assert.equal(w.error, undefined, JSON.stringify(w.error));
    assert.deepEqual(w.o, { agent: 'shared', persistent: true });
    assert.deepEqual(w.notices, ['memory_waiting']);
    assert.deepEqual(w.texts, ['fact C from page one', 'fact A from page one'], 'the RAM-only fact never reached the file');
    // a third page (single-thread build, same origin) waits while the second holds it; closing
    // the second tab hands it over
    const p3 = await apiPage(profile, env.isolated().url, 'manual=1&st=1');
    const third = call<any>(p3, `async (ai) => { const o = await ai.memory.open('shared', { waitMs: 60000 }); await ai.memory.store({ tier: 'archival', text: 'fact D from page three' }); await ai.memory.check(); return { o, n: (await ai.memory.stats()).archival }; }`);
    await new Promise((r) => setTimeout(r, 300));
    await p2.close();
    const t = await third;
    assert.equal(t.error, undefined, JSON.stringify(t.error));
    assert.equal(t.o.persistent, true);
    assert.equal(t.n, 3);
    assert.equal(await p3.evaluate(() => (window as any).neuronos.variant), 'st');
    // page one meanwhile: closed memory → not_initialized, and it can come back in RAM
    const back = await call<any>(p1, `(ai) => ai.memory.list('archival')`);
    assert.equal(back.error?.code, 'not_initialized');
    await p1.close();
    await p3.close();
  });

  test('export → clear → import gives back the same memory; merge twice adds nothing; a bad document changes nothing', async () => {
    const page = await apiPage(profile, env.isolated().url);
    const r = await call<any>(
      page,
      `async (ai) => {
        await ai.memory.open('roundtrip');
        const m = ai.memory;
        await m.store({ tier: 'core', label: 'persona', text: 'I am a careful assistant.' });
        await m.store({ tier: 'core', label: 'project-notes', text: 'Ship the memory issue.' });
        await m.store({ tier: 'recall', conversation_id: 'c1', role: 'user', content: 'Hello 👋', time: 1700000000000 });
        await m.store({ tier: 'recall', conversation_id: 'c1', role: 'assistant', content: 'Hi! How can I help?', time: 1700000001000 });
        await m.store({ tier: 'recall', conversation_id: 'c2', role: 'user', content: 'Straße, naïve, 東京', time: 1700000002000 });
        await m.store({ tier: 'archival', text: 'The deploy key rotates on Mondays.', tags: ['ops', 'keys'], time: 1700000003000 });
        await m.store({ tier: 'archival', text: 'Line one\\nLine two\\t"quoted"', time: 1700000004000 });
        const { id } = await m.store({ tier: 'archival', text: 'to be deleted' });
        await m.delete('archival', id);
        const doc1 = await m.export();
        const stats1 = await m.stats();
        await m.clear();
        const cleared = { stats: await m.stats(), core: await m.list('core'), exported: await m.export() };
        const report = await m.import(doc1);
        const doc2 = await m.export();
        const merge1 = await m.import(JSON.stringify(doc1), { mode: 'merge' });
        const doc3 = await m.export();
        let bad = null;
        try {
          await m.import({ ...doc1, archival: [...doc1.archival, { id: 99, text: 7, tags: [], time: 1 }] });
        } catch (e) {
          bad = { code: e.code, message: e.message };
        }
        const doc4 = await m.export();
        await m.check();
        return { doc1, stats1, cleared, report, doc2, merge1, doc3, bad, doc4 };
      }`,
    );
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.doc1.format, 'neuronos-memory');
    assert.equal(r.doc1.core.length, 3);
    assert.equal(r.doc1.recall.length, 3);
    assert.equal(r.doc1.archival.length, 2);
    assert.equal(r.stats1.archival, 2);
    assert.deepEqual([r.cleared.stats.core, r.cleared.stats.recall, r.cleared.stats.archival], [2, 0, 0]);
    assert.deepEqual(r.cleared.core.map((b: any) => [b.label, b.text]), [['persona', ''], ['human', '']]);
    assert.deepEqual(r.cleared.exported.recall, []);
    assert.deepEqual(r.report, { core: 3, recall: 3, archival: 2, skipped: 0 });
    assert.deepEqual(r.doc2, r.doc1, 'export → clear → import → export is the same document');
    assert.equal(r.merge1.skipped, 5, JSON.stringify(r.merge1));
    assert.deepEqual(r.doc3, r.doc1, 'merging the same document again adds nothing');
    assert.equal(r.bad?.code, 'invalid_argument');
    assert.match(r.bad.message, /archival\[2\]/);
    assert.deepEqual(r.doc4, r.doc1, 'a refused import changes nothing');
    await page.close();
  });

  test('hostile search queries reach C and return arrays; bad arguments are invalid_argument', async () => {
    const page = await apiPage(profile, env.plain().url);
    const queries = [
      '',
      '"',
      "'",
      '*',
      '***',
      'NEAR(',
      'NEAR(a b, 2',
      'a OR',
      'AND AND',
      'NOT',
      '-- DROP TABLE archival;',
      "'); DELETE FROM recall; --",
      ')))',
      '^turing',
      'turing*',
      '"unbalanced turing',
      'col:turing',
      'archival_fts:turing',
      '{turing ada}',
      'a + b - c',
      '\u0000turing',
      '東京',
      '👋🏽',
      'Ａｄａ',
      'x'.repeat(20_000),
      'turing '.repeat(500),
    ];
    const r = await call<any>(
      page,
      `async (ai, queries) => {
        await ai.memory.open('hostile');
        await ai.memory.store({ tier: 'archival', text: 'Ada’s cat is called Turing.', tags: ['pets'] });
        await ai.memory.store({ tier: 'recall', role: 'user', content: 'Tokyo is 東京 👋🏽' });
        const out = [];
        for (const q of queries) {
          const row = { q: q.slice(0, 40) };
          for (const tier of [undefined, 'recall', 'archival']) {
            try {
              const hits = await ai.memory.search(q, tier ? { tier, limit: 5 } : { limit: 5 });
              row[tier ?? 'both'] = Array.isArray(hits) ? hits.length : 'not an array';
            } catch (e) {
              row[tier ?? 'both'] = 'error ' + e.code + ': ' + e.message;
            }
          }
          out.push(row);
        }
        const errors = {};
        const codeOf = async (f) => { try { await f(); return 'ok'; } catch (e) { return e.code; } };
        errors.negativeLimit = await codeOf(() => ai.memory.search('x', { limit: -1 }));
        errors.coreTier = await codeOf(() => ai.memory.search('x', { tier: 'core' }));
        errors.notString = await codeOf(() => ai.memory.search(42));
        errors.badTier = await codeOf(() => ai.memory.list('everything'));
        errors.badItem = await codeOf(() => ai.memory.store({ tier: 'archival', text: 5 }));
        errors.badLabel = await codeOf(() => ai.memory.store({ tier: 'core', label: 'no spaces allowed', text: 'x' }));
        errors.overLimit = await codeOf(() => ai.memory.store({ tier: 'core', label: 'human', text: 'x'.repeat(2001) }));
        errors.noSuchId = await codeOf(() => ai.memory.delete('archival', 123456));
        errors.badAgent = await codeOf(() => ai.memory.open('../etc'));
        await ai.memory.check();
        const bigLimit = (await ai.memory.search('turing', { limit: 100000 })).length;
        return { out, errors, bigLimit, found: await ai.memory.search('TURING', { tier: 'archival' }) };
      }`,
      queries,
    );
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    for (const row of r.out) {
      for (const k of ['both', 'recall', 'archival']) assert.equal(typeof row[k], 'number', `${JSON.stringify(row.q)} (${k}): ${row[k]}`);
    }
    const count = (q: string) => r.out.find((row: any) => row.q === q.slice(0, 40));
    assert.equal(count('^turing').archival, 1, 'words still match inside hostile syntax');
    assert.equal(count('"unbalanced turing').both, 1);
    assert.equal(count('東京').recall, 1);
    assert.equal(count('').both, 0);
    assert.equal(r.bigLimit, 1);
    assert.match(r.found[0].snippet, /\*\*Turing\*\*/);
    assert.deepEqual(r.errors, {
      negativeLimit: 'invalid_argument',
      coreTier: 'invalid_argument',
      notString: 'invalid_argument',
      badTier: 'invalid_argument',
      badItem: 'invalid_argument',
      badLabel: 'invalid_argument',
      overLimit: 'invalid_argument',
      noSuchId: 'invalid_argument',
      badAgent: 'invalid_argument',
    });
    await page.close();
  });

  test('incognito context: before open() not_initialized; no model needed; close and reopen other agents', async () => {
    const ctx = await env.browser().newContext();
    const page = await apiPage(ctx, env.isolated().url);
    const r = await call<any>(
      page,
      `async (ai) => {
        const codeOf = async (f) => { try { await f(); return 'ok'; } catch (e) { return e.code; } };
        const before = await codeOf(() => ai.memory.store({ tier: 'archival', text: 'x' }));
        const ram = await ai.memory.open('scratch', { persist: false });
        await ai.memory.store({ tier: 'archival', text: 'only in RAM' });
        const one = await ai.memory.open('one');
        await ai.memory.store({ tier: 'archival', text: 'one’s fact' });
        const two = await ai.memory.open('two');
        const twoCount = (await ai.memory.stats()).archival;
        const oneAgain = await ai.memory.open('one');
        const oneCount = (await ai.memory.stats()).archival;
        const scratchAgain = await ai.memory.open('scratch', { persist: false });
        const scratchCount = (await ai.memory.stats()).archival;
        await ai.memory.close();
        const after = await codeOf(() => ai.memory.stats());
        return { before, ram, one, two, twoCount, oneAgain, oneCount, scratchCount, after, model: ai.modelInfo() };
      }`,
    );
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.before, 'not_initialized');
    assert.deepEqual(r.ram, { agent: 'scratch', persistent: false });
    assert.deepEqual([r.one.persistent, r.two.persistent, r.oneAgain.persistent], [true, true, true]);
    assert.deepEqual([r.twoCount, r.oneCount, r.scratchCount], [0, 1, 0]);
    assert.equal(r.after, 'not_initialized');
    assert.equal(r.model, null, 'no model was loaded');
    await ctx.close();
  });

  test('a real storage quota: a store over it is quota_exceeded, nothing half-written, earlier facts intact', async () => {
    const page = await apiPage(profile, env.plain().url);
    const origin = new URL(env.plain().url).origin;
    const opened = await call<any>(page, `async (ai) => { const o = await ai.memory.open('quota'); await ai.memory.store({ tier: 'archival', text: 'small fact before the quota' }); return o; }`);
    assert.equal(opened.persistent, true);
    const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    const cdp = await profile.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin' as any, { origin, quotaSize: usage + 600_000 });
    const r = await call<any>(
      page,
      `async (ai) => {
        const results = [];
        for (let i = 0; i < 12; i++) {
          try {
            const s = await ai.memory.store({ tier: 'archival', text: 'big' + i + ' ' + 'lorem ipsum dolor '.repeat(8000) });
            results.push('ok ' + s.id);
          } catch (e) {
            results.push(e.code + ': ' + e.message);
            if (e.code === 'quota_exceeded') break;
          }
        }
        let check = 'ok';
        try { await ai.memory.check(); } catch (e) { check = e.code + ': ' + e.message; }
        return { results, check, texts: (await ai.memory.list('archival', { limit: 100 })).map((e) => e.text.slice(0, 12)) };
      }`,
    );
    await cdp.send('Storage.overrideQuotaForOrigin' as any, { origin });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    const last = r.results.at(-1) as string;
    assert.match(last, /^quota_exceeded: /, JSON.stringify(r.results));
    assert.match(last, /quota/);
    assert.equal(r.check, 'ok');
    const okCount = r.results.filter((s: string) => s.startsWith('ok')).length;
    assert.equal(r.texts.length, okCount + 1, `every resolved store and nothing else: ${JSON.stringify(r.texts)}`);
    assert.ok(r.texts.includes('small fact b'));
    // after a restart (quota back to normal) the file opens and holds the same
    const after = await call<any>(page, `async (ai) => { await ai.restart(); await ai.memory.check(); return { cur: ai.memory.current, n: (await ai.memory.stats()).archival }; }`);
    assert.equal(after.error, undefined, JSON.stringify(after.error));
    assert.equal(after.cur.persistent, true);
    assert.equal(after.n, okCount + 1);
    await page.close();
  });
});

describe('memory where the page has no OPFS', () => {
  let browser: Browser;
  test('an insecure context (no OPFS): memory runs in RAM and says it will not persist', async () => {
    // a host name that is not loopback makes the page an insecure context: no navigator.storage
    const server = await startServer({ coi: false });
    const port = new URL(server.url).port;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP neuronos-insecure.test 127.0.0.1'] });
    try {
      const ctx = await browser.newContext();
      const page = await apiPage(ctx, `http://neuronos-insecure.test:${port}`);
      const r = await call<any>(
        page,
        `async (ai) => {
          const o = await ai.memory.open('visitor');
          await ai.memory.store({ tier: 'archival', text: 'remembered for this page only' });
          return { o, secure: isSecureContext, stats: await ai.memory.stats(), hits: await ai.memory.search('remembered') };
        }`,
      );
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.secure, false);
      assert.equal(r.o.persistent, false);
      assert.equal(r.o.notice?.code, 'memory_not_persistent');
      assert.match(r.o.notice.message, /will not persist/);
      assert.equal(r.stats.persistent, false);
      assert.equal(r.hits.length, 1);
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});
