// `npm run bench`: NeuronOS against wllama and native llama.cpp, side by side, same model, same
// browser, one run; then the memory store's speed (native). Reports; never asserts a speed.
// Method: build/bench/README.md.
//
//   npm run bench                      full run (both models × 1, 2[, N] threads, 3 repetitions;
//                                      memory store with 100,000 archival facts)
//   npm run bench -- --quick           Q4_0, 1 thread, 1 repetition of neuronos (mt), wllama, native, and the
//                                      memory store with 20,000 facts (3–4 min; writes latest-quick.json, never latest.json)
//   npm run bench -- --engines memory  only the memory store (no browser; writes latest-memory[-quick].json)
//   npm run bench -- --markdown        also write build/bench-results/latest.md (the README table)
//   npm run bench -- --bitnet          add the BitNet b1.58 2B-4T-shaped model (NeuronOS on I2_S,
//                                      wllama and native on the same weights as TQ2_0; 2 × 1.2 GB fixtures)
// Options: --reps N  --warmup N (discarded rounds)  --iters N (measurements per page)
//          --models a,b  --threads 1,2  --engines neuronos,neuronos-st,wllama,native,memory
//          --context N  --timeout-ms N (per step)  --wllama-load blob|url  --no-native  --no-memory
//          --memory-facts N (100000; quick 20000)  --memory-queries N (200)  --memory-recall N
//          (10000; quick 2000)  --memory-dir DIR (where the database file goes; default the OS temp dir)
//          --out DIR  --help
// Env: CHROMIUM_PATH (default /usr/bin/chromium).
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.mjs';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DIST, FIXTURES, ROOT, readJSON } from './lib.mjs';
import { ensureNative, nativeBuildInfo, runLlamaBench } from './bench/native.mjs';
import { MEMORY_BENCH, ensureMemoryBench, runMemoryBench } from './bench/memory.mjs';
import { markdownReport, ratios, summarize, textReport } from './bench/report.mjs';

// ---- what is measured -------------------------------------------------------------------------
// Adding a model is one line: the fixture's name in test/fixtures/make-fixtures.ts.
const MODELS = ['qwen2.5-0.5b-q4_0', 'qwen2.5-0.5b-q8_0'];
const PROMPT_TOKENS = 128;
const GEN_TOKENS = 64;
const SHORT_PROMPT_TOKENS = 4; // the prompt of the tg call (and of the baseline call it is paired with)
// In-page warm-up after each load: a full-size prompt and some generation, so the measured calls
// run optimized code. V8 first runs WebAssembly with its baseline compiler and optimizes hot
// functions on a background thread; with every core computing, that takes longer (2 threads,
// Q4_0, node: the first 128-token prompt 2.3x slower than the next). The warm-up's own prompt is
// reported as "first pp" (what a visitor's first message gets).
const WARM_PROMPT_TOKENS = 128;
const WARM_GEN_TOKENS = 16;
// neuronos: the threaded build the worker picks (relaxed-SIMD kernels where the browser has them);
// neuronos-simd128: the threaded SIMD128 build (relaxedSimd: false); neuronos-norepack: the default
// build with the weights in the file's layout (repack: false, no Q4_0 4x4); memory: the memory store, native (no model)
const ENGINES = ['neuronos', 'neuronos-simd128', 'neuronos-norepack', 'neuronos-st', 'wllama', 'native', 'memory'];
const MEMORY = { facts: 100_000, quickFacts: 20_000, queries: 200, recall: 10_000, quickRecall: 2_000 };
const VOCAB_FIXTURE = 'tiny-random'; // same qwen2 vocabulary, 26 MB: used to build exact-length prompts
// BitNet b1.58 2B-4T shapes (`--bitnet`, or name it in --models): NeuronOS runs the I2_S file;
// wllama cannot read I2_S, so it (and native llama-bench, on upstream's AVX2 TQ2_0 kernel) gets
// the TQ2_0 twin with the same ternary weights. Its prompts come from a Llama-3-vocab fixture.
const BITNET_MODEL = 'bitnet-2b4t-i2_s';
const TWIN = { [BITNET_MODEL]: { wllama: 'bitnet-2b4t-tq2_0', native: 'bitnet-2b4t-tq2_0' } };
const PROMPT_VOCAB = { [BITNET_MODEL]: 'bitnet-random' };
const fileOf = (model, eng) => TWIN[model]?.[eng] ?? model;
const vocabOf = (model) => PROMPT_VOCAB[model] ?? VOCAB_FIXTURE;

// the shared flags, plus what keeps a benchmark tab from being throttled
const BENCH_CHROMIUM_ARGS = [
  ...CHROMIUM_ARGS,
  '--disable-renderer-backgrounding',
  '--disable-background-timer-throttling',
  '--disable-features=SpareRendererForSitePerProcess',
];

const say = (...a) => console.log('[bench]', ...a);

// ---- options ----------------------------------------------------------------------------------
function parseArgs(argv) {
  const has = (f) => argv.includes(f);
  const val = (f) => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (f) => val(f)?.split(',').map((s) => s.trim()).filter(Boolean);
  const num = (f, d) => (val(f) !== undefined ? Number(val(f)) : d);
  if (has('--help') || has('-h')) {
    const head = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
    console.log(head.slice(0, head.findIndex((l) => !l.startsWith('//'))).join('\n'));
    process.exit(0);
  }
  const quick = has('--quick');
  const n = cpus().length;
  const threads = list('--threads')?.map(Number) ?? (quick ? [1] : [...new Set([1, Math.min(2, n), n])]);
  const o = {
    quick,
    markdown: has('--markdown'),
    models: [...(list('--models') ?? (quick ? [MODELS[0]] : MODELS)), ...(has('--bitnet') ? [BITNET_MODEL] : [])],
    threads,
    // quick: one NeuronOS row (the threaded build) to stay under 3 minutes; add neuronos-st with --engines
    engines: list('--engines') ?? (quick ? ['neuronos', 'wllama', 'native', 'memory'] : ENGINES),
    reps: num('--reps', quick ? 1 : 3),
    warmup: num('--warmup', 0),
    iters: num('--iters', 1),
    context: num('--context', 1024),
    timeoutMs: num('--timeout-ms', 600_000),
    wllamaLoad: val('--wllama-load') ?? 'blob',
    out: val('--out') ?? join(ROOT, 'build', 'bench-results'),
    memory: {
      facts: num('--memory-facts', quick ? MEMORY.quickFacts : MEMORY.facts),
      queries: num('--memory-queries', MEMORY.queries),
      recall: num('--memory-recall', quick ? MEMORY.quickRecall : MEMORY.recall),
      dir: val('--memory-dir') ?? tmpdir(),
    },
  };
  if (has('--no-native')) o.engines = o.engines.filter((e) => e !== 'native');
  if (has('--no-memory')) o.engines = o.engines.filter((e) => e !== 'memory');
  for (const k of ['facts', 'queries']) if (!(Number.isInteger(o.memory[k]) && o.memory[k] > 0)) throw new Error(`--memory-${k} is a positive integer`);
  if (!(Number.isInteger(o.memory.recall) && o.memory.recall >= 0)) throw new Error('--memory-recall is an integer >= 0');
  for (const e of o.engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e} (one of ${ENGINES.join(', ')})`);
  if (!['blob', 'url'].includes(o.wllamaLoad)) throw new Error('--wllama-load is blob or url');
  return o;
}

// ---- environment ------------------------------------------------------------------------------
function machine() {
  let os = `Linux ${release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) os = pretty;
  } catch {
    /* not Linux */
  }
  let cpu = cpus()[0]?.model?.trim() || 'unknown CPU';
  return { cpu, cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), os, node: process.versions.node, loadavg_start: loadavg() };
}

function ensureFixtures(names) {
  const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
  const r = spawnSync(tsx, [join(ROOT, 'test', 'fixtures', 'make-fixtures.ts'), ...names], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NEURONOS_FIXTURES_DIR: FIXTURES } });
  if (r.status !== 0) throw new Error(`generating fixtures failed:\n${r.stdout}\n${r.stderr}`);
  const manifest = readJSON(join(FIXTURES, 'manifest.json'));
  const out = {};
  for (const n of names) {
    const f = manifest.fixtures.find((x) => x.name === n);
    if (!f) throw new Error(`fixture ${n} is not in ${FIXTURES}/manifest.json`);
    out[n] = { file: f.file, bytes: f.bytes, sha256: f.sha256 };
  }
  return out;
}

function fileSizes() {
  const files = [];
  if (existsSync(DIST)) {
    for (const f of readdirSync(DIST).sort()) {
      if (f.endsWith('.wasm') || /^neuronos-worker.*\.js$/.test(f)) files.push(join(DIST, f));
    }
  }
  const w = join(ROOT, 'node_modules', '@wllama', 'wllama', 'esm');
  files.push(join(w, 'wasm', 'wllama.wasm'), join(w, 'index.js'));
  const out = {};
  for (const f of files) {
    if (!existsSync(f)) continue;
    const data = readFileSync(f);
    const name = relative(ROOT, f).replace(/^node_modules\/@wllama\/wllama\/esm\//, 'wllama: ');
    out[name] = { raw: data.length, gzip: gzipSync(data, { level: 9 }).length };
  }
  return out;
}

const withTimeout = (p, ms, what) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms (--timeout-ms)`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });

// ---- prompts ----------------------------------------------------------------------------------
// Plain English words, each one token after a space in the Qwen2 vocabulary (checked at run time
// with the engine's own tokenizer); every prompt of a page starts with a different word, so no
// KV-cache prefix can be reused between the calls of one page.
const WORDS = (
  'the of and to in is was for on that with as by at from his her they this are have had not but ' +
  'which one all were she when there can more will their said would each about how up out them then ' +
  'many some these two into time has look like him see could people than first water been call who ' +
  'its now long down day did get come made may part over new sound take only little work know place ' +
  'year live back give most very after thing our just name good sentence man think say great where help ' +
  'through much before line right too mean old any same tell boy follow came want show also around form ' +
  'three small set put end does another well large must big even such because turn here why ask went ' +
  'men read need land different home us move try kind hand picture again change off play spell air away ' +
  'animal house point page letter mother answer found study still learn should world high every near add ' +
  'food between own below country plant last school father keep tree never start city earth eye light ' +
  'thought head under story saw left few while along might close something seem next hard open example ' +
  'begin life always those both paper together got group often run important until children side feet car ' +
  'mile night walk white sea began grow took river four carry state once book hear stop without second late'
).split(' ');

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function buildPrompts(page, iters) {
  const single = [];
  // a vocabulary that adds BOS (Llama-3) counts it in every prompt: one word fewer
  const [bos] = await page.evaluate((ws) => window.bench.countTokens(ws), ['']);
  const counts = await page.evaluate((ws) => window.bench.countTokens(ws), WORDS.map((w) => ' ' + w));
  WORDS.forEach((w, i) => counts[i] === 1 + bos && single.push(w));
  if (single.length < 40) throw new Error(`only ${single.length} single-token words in this vocabulary`);
  const rnd = mulberry32(20260928);
  let nextFirst = 0;
  const make = (n) => {
    const first = single[nextFirst++ % single.length];
    const words = [first];
    while (words.length < n - bos) words.push(single[Math.floor(rnd() * single.length)]);
    return words.map((w) => ' ' + w).join('');
  };
  const set = { warm: make(WARM_PROMPT_TOKENS), pp: [], tg: [], base: [] };
  for (let i = 0; i < iters; i++) {
    set.pp.push(make(PROMPT_TOKENS));
    set.tg.push(make(SHORT_PROMPT_TOKENS));
    set.base.push(make(SHORT_PROMPT_TOKENS));
  }
  const all = [set.warm, ...set.pp, ...set.tg, ...set.base];
  const want = [WARM_PROMPT_TOKENS, ...set.pp.map(() => PROMPT_TOKENS), ...set.tg.map(() => SHORT_PROMPT_TOKENS), ...set.base.map(() => SHORT_PROMPT_TOKENS)];
  const got = await page.evaluate((ts) => window.bench.countTokens(ts), all);
  got.forEach((n, i) => {
    if (n !== want[i]) throw new Error(`prompt ${i} has ${n} tokens, wanted ${want[i]}`);
  });
  return set;
}

// ---- one browser repetition: a fresh context (cold load), one engine ------------------------
async function rendererMemory(cdp) {
  try {
    const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
    const r = processInfo.filter((p) => p.type === 'renderer').sort((a, b) => b.cpuTime - a.cpuTime)[0];
    if (!r) return null;
    const status = readFileSync(`/proc/${r.id}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { pid: r.id, peak_mb: kb('VmHWM') / 1024, rss_mb: kb('VmRSS') / 1024 };
  } catch {
    return null;
  }
}

async function browserRep(ctxArgs, eng, modelUrl, threads) {
  const { browser, cdp, baseUrl, opts, prompts } = ctxArgs;
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(opts.timeoutMs);
  const consoleTail = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleTail.push(m.text().slice(0, 300));
  });
  page.on('pageerror', (e) => consoleTail.push(`pageerror: ${e.message}`));
  const ev = (fn, arg, what) =>
    withTimeout(page.evaluate(fn, arg), opts.timeoutMs, what).catch((e) => {
      e.message = `${what}: ${e.message}`; // which step failed
      throw e;
    });
  try {
    await page.goto(`${baseUrl}/build/bench/page.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: opts.timeoutMs });
    const kind = eng === 'wllama' ? 'wllama' : 'neuronos';
    const { model: info, ...load } = await ev(
      ([k, o]) => window.bench.load(k, o),
      [kind, { modelUrl, threads, contextSize: opts.context, forceSingleThread: eng === 'neuronos-st', relaxedSimd: eng !== 'neuronos-simd128', repack: eng !== 'neuronos-norepack', wllamaLoad: opts.wllamaLoad }],
      'load',
    );
    if (info) Object.assign(load, { threads: info.n_threads, n_ctx: info.n_ctx });
    const complete = (p, n, what) => ev(([pp, nn]) => window.bench.complete(pp, nn), [p, n], what);
    const first = await complete(prompts.warm, WARM_GEN_TOKENS, 'warm-up');
    const iters = [];
    for (let i = 0; i < opts.iters; i++) {
      const pp = await complete(prompts.pp[i], 1, 'pp');
      // an engine that fails while generating still has its prompt figure
      try {
        const tg = await complete(prompts.tg[i], GEN_TOKENS, 'tg');
        const base = await complete(prompts.base[i], 1, 'tg baseline');
        iters.push({ pp, tg, base });
      } catch (e) {
        iters.push({ pp, tg_error: e.message.split('\n')[0] });
        break;
      }
    }
    const mem = await rendererMemory(cdp);
    return { load, first, iters, mem, console: consoleTail.slice(-5) };
  } catch (e) {
    e.consoleTail = consoleTail.slice(-5);
    throw e;
  } finally {
    await context.close().catch(() => undefined);
  }
}

/** Turns one page's raw calls into samples; problems go to `issues`. */
function browserSamples(raw, issues) {
  const s = { pp_tps: [], tg_tps: [], engine_pp_tps: [], engine_tg_tps: [], ttft_ms: [], first_pp_tps: [] };
  // the warm-up's prompt: the first one after the load (its time to first token, like pp)
  if (raw.first?.wall_ms > 0) s.first_pp_tps.push((WARM_PROMPT_TOKENS * 1000) / raw.first.wall_ms);
  for (const { pp, tg, base, tg_error } of raw.iters) {
    s.pp_tps.push((PROMPT_TOKENS * 1000) / pp.wall_ms);
    s.ttft_ms.push(pp.wall_ms);
    if (tg_error) {
      issues.push(`generation failed: ${tg_error}`);
      continue;
    }
    if (pp.prompt_tokens !== PROMPT_TOKENS) issues.push(`pp prompt had ${pp.prompt_tokens} tokens, not ${PROMPT_TOKENS}`);
    if (pp.prompt_reused) issues.push(`pp reused ${pp.prompt_reused} cached prompt tokens`);
    if (tg.generated !== GEN_TOKENS) issues.push(`tg generated ${tg.generated} tokens, not ${GEN_TOKENS} (finish ${tg.finish})`);
    if (tg.prompt_reused || base.prompt_reused) issues.push('the tg/baseline prompts reused cached tokens');
    const d = tg.wall_ms - base.wall_ms;
    if (d > 0) s.tg_tps.push(((GEN_TOKENS - 1) * 1000) / d);
    if (pp.engine_prompt_ms > 0) s.engine_pp_tps.push(((pp.prompt_tokens - (pp.prompt_reused ?? 0)) * 1000) / pp.engine_prompt_ms);
    if (tg.engine_gen_ms > 0) s.engine_tg_tps.push((tg.engine_gen_tokens * 1000) / tg.engine_gen_ms);
  }
  return s;
}

// ---- main -------------------------------------------------------------------------------------
function estimateSeconds(o, models) {
  // per repetition, measured on a 2-core EPYC VM (Chromium 156); scaled by model size
  const prev = { timing: { per_rep_s: {} } };
  for (const f of ['latest-quick.json', 'latest.json']) Object.assign(prev.timing.per_rep_s, readJSON(join(o.out, f), null)?.timing?.per_rep_s);
  let total = 0;
  let fromPrev = 0;
  for (const m of o.models) {
    const mb = models[m].bytes / 2 ** 20;
    for (const t of o.threads) {
      for (const e of o.engines) {
        if (e === 'memory' || (e === 'neuronos-st' && t !== 1)) continue;
        const key = `${e}/${m}/${t}`;
        const seen = prev?.timing?.per_rep_s?.[key];
        // seconds per repetition seen on a busy 2-core EPYC VM (wllama 3.13.0 is ~4× slower per token)
        const guess = e === 'native' ? 8 + mb / 40 : e === 'wllama' ? 40 + mb / 2.5 : 15 + mb / 10;
        if (seen) fromPrev++;
        total += (o.reps + o.warmup) * (seen ?? guess);
      }
    }
  }
  if (o.engines.includes('memory')) total += memorySecondsGuess(o);
  return { seconds: total + 30, source: fromPrev ? 'the per-repetition times of the previous runs' : 'rough per-repetition figures for a 2-core machine' };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const notes = [];
  const m = machine();
  if (!o.engines.some((e) => e !== 'memory')) return memoryOnly(o, { t0, notes, m });
  say(`${o.quick ? 'quick' : 'full'} run: models ${o.models.join(', ')}; threads ${o.threads.join(', ')}; engines ${o.engines.join(', ')}; ${o.reps} reps + ${o.warmup} warm-up round(s)`);

  for (const f of ['neuronos.js', 'neuronos-inference-worker.js', 'neuronos-worker-st.wasm']) {
    if (!existsSync(join(DIST, f))) throw new Error(`dist/${f} is missing: run \`npm run build\` (or \`npm start\` / \`npm test\`) first`);
  }
  if (o.engines.includes('neuronos') && !existsSync(join(DIST, 'neuronos-worker.wasm'))) {
    throw new Error('dist/neuronos-worker.wasm (the threaded build) is missing: run `npm run build` first');
  }
  say('fixtures ...');
  const models = ensureFixtures([...new Set([...o.models.map(vocabOf), ...o.models, ...o.models.flatMap((m) => Object.values(TWIN[m] ?? {}))])]);
  const est = estimateSeconds(o, models);
  say(`expected duration: about ${Math.ceil(est.seconds / 60)} min (from ${est.source}); never asserts a speed, only reports`);

  let nativeBin = null;
  if (o.engines.includes('native')) nativeBin = ensureNative(notes, say);
  const engines = o.engines.filter((e) => e !== 'memory' && (e !== 'native' || nativeBin));

  // read each model once so that the first engine does not pay for a cold OS page cache
  for (const n of o.models) for (const e of new Set(o.engines.map((e) => fileOf(n, e)))) if (models[e]) warmPageCache(join(FIXTURES, models[e].file));

  const { serve } = await import('./serve.mjs');
  const { chromium } = await import('playwright-core');
  const server = await serve({ port: 0, coi: true });
  const baseUrl = `http://127.0.0.1:${server.server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: BENCH_CHROMIUM_ARGS });
  const cdp = await browser.newBrowserCDPSession();
  const chromiumVersion = `Chromium ${browser.version()}`;
  const ctxArgs = { browser, cdp, baseUrl, opts: o, prompts: null };
  const promptSets = {};
  const raw = [];
  const delivery = {};
  const perRep = {};
  let pageInfo = null;
  try {
    // prompts of exact token counts, checked with the engine's tokenizer on each vocab fixture
    for (const vocab of new Set(o.models.map(vocabOf))) {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.setDefaultTimeout(o.timeoutMs);
      await page.goto(`${baseUrl}/build/bench/page.html`);
      await page.waitForFunction(() => window.benchReady === true);
      pageInfo = await page.evaluate(() => window.bench.info());
      if (!pageInfo.crossOriginIsolated) throw new Error('the bench page is not cross-origin isolated (COOP/COEP headers missing?)');
      await withTimeout(page.evaluate((u) => window.bench.load('neuronos', { modelUrl: u, threads: 1, contextSize: 512, forceSingleThread: true }), `/models/${models[vocab].file}`), o.timeoutMs, 'vocab load');
      promptSets[vocab] = await buildPrompts(page, o.iters);
      await context.close();
    }

    for (const model of o.models) {
      ctxArgs.prompts = promptSets[vocabOf(model)];
      for (const threads of o.threads) {
        const list = engines.filter((e) => e !== 'neuronos-st' || threads === 1);
        say(`— ${model}, ${threads} thread${threads > 1 ? 's' : ''}: ${list.join(' → ')} × ${o.warmup} warm-up + ${o.reps} reps`);
        for (let round = 0; round < o.warmup + o.reps; round++) {
          const warm = round < o.warmup;
          for (const eng of list) {
            const tr = Date.now();
            const rec = { engine: eng, model, threads, round, warmup: warm };
            try {
              if (eng === 'native') {
                rec.native = await runLlamaBench(nativeBin, { model: join(FIXTURES, models[fileOf(model, eng)].file), threads, nPrompt: PROMPT_TOKENS, nGen: GEN_TOKENS, reps: 1, timeoutMs: o.timeoutMs });
              } else {
                rec.browser = await browserRep(ctxArgs, eng, `/models/${models[fileOf(model, eng)].file}`, threads);
              }
            } catch (e) {
              rec.error = e.message.split('\n')[0];
              if (e.consoleTail?.length) rec.console = e.consoleTail;
            }
            rec.seconds = (Date.now() - tr) / 1000;
            raw.push(rec);
            (perRep[`${eng}/${model}/${threads}`] ??= []).push(rec.seconds);
            say(`  ${warm ? 'warm-up' : `rep ${round - o.warmup + 1}/${o.reps}`} ${eng.padEnd(11)} ${rec.error ? `FAILED: ${rec.error}` : brief(rec)} (${rec.seconds.toFixed(0)} s)`);
          }
        }
      }
    }
    // ---- model delivery (the model-delivery issue): peak memory while loading, as a ratio to
    // the file, and time to ready from the local server vs from the OPFS cache. One fresh
    // context per model: a load with the cache off (server), a load that fills the cache, a
    // page reload, a load from the cache.
    if (engines.includes('neuronos')) {
      for (const model of o.models) {
        const modelUrl = `/models/${models[model].file}`;
        const modelMb = statSync(join(FIXTURES, models[model].file)).size / 2 ** 20;
        const context = await browser.newContext();
        try {
          // the baseline: a renderer with NeuronOS started but no model (its own context/process)
          const baseCtx = await browser.newContext();
          const basePage = await baseCtx.newPage();
          await basePage.goto(`${baseUrl}/build/bench/page.html`);
          await basePage.waitForFunction(() => window.benchReady === true);
          await basePage.evaluate(() => window.bench.start());
          const base = await rendererMemory(cdp);
          await baseCtx.close();
          const page = await context.newPage();
          page.setDefaultTimeout(o.timeoutMs);
          const open = async () => {
            await page.goto(`${baseUrl}/build/bench/page.html`);
            await page.waitForFunction(() => window.benchReady === true);
          };
          const load = (cache) => page.evaluate(([u, c]) => window.bench.load('neuronos', { modelUrl: u, threads: 1, contextSize: 512, cache: c }), [modelUrl, cache]);
          await open();
          const server = await withTimeout(load('off'), o.timeoutMs, 'delivery load');
          const mem = await rendererMemory(cdp);
          await open();
          await withTimeout(load('prefer'), o.timeoutMs, 'delivery cache fill');
          await open();
          const cached = await withTimeout(load('prefer'), o.timeoutMs, 'delivery cached load');
          delivery[model] = {
            model_mb: modelMb,
            server_load_ms: server.load_ms,
            cache_load_ms: cached.load_ms,
            cache_hit: cached.from_cache,
            peak_mb: mem?.peak_mb ?? null,
            peak_ratio: mem?.peak_mb ? mem.peak_mb / modelMb : null,
            // what loading the model added to the renderer's peak, as a ratio to the file
            baseline_peak_mb: base?.peak_mb ?? null,
            added_peak_ratio: mem?.peak_mb && base?.peak_mb ? (mem.peak_mb - base.peak_mb) / modelMb : null,
            // the worker's WebAssembly memory after the load (model + KV cache + compute buffers)
            wasm_memory_mb: server.wasm_memory_bytes ? server.wasm_memory_bytes / 2 ** 20 : null,
            wasm_memory_ratio: server.wasm_memory_bytes ? server.wasm_memory_bytes / 2 ** 20 / modelMb : null,
            // the worker's peak: the WASM heap's high-water mark after the load
            wasm_heap_peak_mb: server.wasm_heap_peak_bytes ? server.wasm_heap_peak_bytes / 2 ** 20 : null,
            wasm_heap_peak_ratio: server.wasm_heap_peak_bytes ? server.wasm_heap_peak_bytes / 2 ** 20 / modelMb : null,
          };
          const d = delivery[model];
          say(`  delivery ${model}: server ${server.load_ms.toFixed(0)} ms, OPFS cache ${cached.load_ms.toFixed(0)} ms (hit: ${cached.from_cache}); WASM heap peak ${d.wasm_heap_peak_mb?.toFixed(0)} MiB = ${d.wasm_heap_peak_ratio?.toFixed(2)}× the ${modelMb.toFixed(0)} MiB file (memory reserved ${d.wasm_memory_mb?.toFixed(0)} MiB); renderer peak ${mem?.peak_mb?.toFixed(0)} MB, ${base?.peak_mb?.toFixed(0)} MB without a model: the load added ${d.added_peak_ratio?.toFixed(2)}× the file`);
        } catch (e) {
          delivery[model] = { error: e.message.split('\n')[0] };
          say(`  delivery ${model}: FAILED ${e.message.split('\n')[0]}`);
        } finally {
          await context.close().catch(() => undefined);
        }
      }
    }
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop().catch(() => undefined);
  }

  // ---- the memory store (native, no browser), after the model benchmarks
  const tm = Date.now();
  const memoryStore = o.engines.includes('memory') ? await memoryBench(o, notes) : undefined;
  const memorySeconds = memoryStore ? (Date.now() - tm) / 1000 : undefined;

  // ---- aggregate --------------------------------------------------------------------------
  const records = [];
  for (const model of o.models) {
    for (const threads of o.threads) {
      for (const eng of engines) {
        if (eng === 'neuronos-st' && threads !== 1) continue;
        const reps = raw.filter((r) => r.engine === eng && r.model === model && r.threads === threads && !r.warmup);
        const rec = {
          engine: eng === 'native' ? 'native' : eng === 'wllama' ? 'wllama' : 'neuronos',
          ...(eng.startsWith('neuronos')
            ? { build: (eng === 'neuronos-st' ? 'st' : reps.some((r) => r.browser?.load?.relaxed_simd) ? 'mt-relaxed' : 'mt') + (eng === 'neuronos-norepack' ? ', no repack' : '') }
            : {}),
          model,
          threads,
        };
        const s = { pp_tps: [], tg_tps: [], load_ms: [], peak_mb: [], engine_pp_tps: [], engine_tg_tps: [], ttft_ms: [], fetch_ms: [], first_pp_tps: [] };
        const errors = [];
        const issues = [];
        for (const r of reps) {
          if (r.error) {
            errors.push(r.error);
            continue;
          }
          if (r.native) {
            s.pp_tps.push(...r.native.pp_tps);
            s.tg_tps.push(...r.native.tg_tps);
            if (r.native.peak_mb) s.peak_mb.push(r.native.peak_mb);
            rec.details = { build_commit: r.native.build_commit, n_batch: r.native.n_batch, n_ubatch: r.native.n_ubatch, cmake: nativeBuildInfo() };
          } else {
            const b = r.browser;
            const x = browserSamples(b, issues);
            for (const k of Object.keys(x)) s[k].push(...x[k]);
            s.load_ms.push(b.load.load_ms);
            if (b.load.fetch_ms != null) s.fetch_ms.push(b.load.fetch_ms);
            if (b.mem) s.peak_mb.push(b.mem.peak_mb);
            const { load_ms, fetch_ms, engine_load_ms, start_ms, ...rest } = b.load;
            rec.details = rest;
            if (rest.threads !== threads) issues.push(`the engine ran ${rest.threads} threads, not ${threads}`);
          }
        }
        rec.pp_tps = summarize(s.pp_tps);
        rec.tg_tps = summarize(s.tg_tps);
        rec.load_ms = summarize(s.load_ms);
        rec.peak_mb = summarize(s.peak_mb);
        if (rec.engine !== 'native') {
          rec.engine_reported = { pp_tps: summarize(s.engine_pp_tps), tg_tps: summarize(s.engine_tg_tps) };
          rec.ttft_128_ms = summarize(s.ttft_ms);
          rec.first_pp_tps = summarize(s.first_pp_tps);
          rec.fetch_ms = summarize(s.fetch_ms);
        }
        rec.samples = Object.fromEntries(Object.entries(s).filter(([, v]) => v.length));
        if (errors.length) rec.errors = errors;
        if (issues.length) rec.issues = [...new Set(issues)];
        records.push(rec);
      }
    }
  }
  if (o.engines.includes('native') && !nativeBin) notes.push('no native rows: see the note above');
  notes.push(
    `browser pp = ${PROMPT_TOKENS} ÷ page-side wall time of a ${PROMPT_TOKENS}-token prompt until its first token reached the page; ` +
      `tg = ${GEN_TOKENS - 1} ÷ (wall time of a ${SHORT_PROMPT_TOKENS}-token prompt + ${GEN_TOKENS} tokens − wall time of another ${SHORT_PROMPT_TOKENS}-token prompt + 1 token); ` +
      'native = llama-bench pp/tg (pure decode, no tokenization or sampling). Engine-reported figures are in the JSON (engine_reported).',
    'peak MB = /proc/<renderer pid>/status VmHWM (peak resident set of the page\'s renderer process, which hosts its workers and WASM heaps), renderer found with CDP SystemInfo.getProcessInfo; native = GNU time maximum RSS of llama-bench (model mmapped).',
  );
  if (m.loadavg_start[0] > m.cores * 0.5) notes.push(`the machine was busy when the run started (load average ${m.loadavg_start[0].toFixed(2)} on ${m.cores} cores): expect noise`);

  const date = new Date();
  const res = {
    schema: 1,
    date: date.toISOString(),
    machine: { ...m, loadavg_end: loadavg() },
    chromium: chromiumVersion,
    page: pageInfo,
    config: {
      quick: o.quick,
      models: o.models.map((n) => ({ name: n, ...models[n], ...(TWIN[n] ? { files_by_engine: Object.fromEntries(Object.entries(TWIN[n]).map(([e, f]) => [e, models[f]?.file])) } : {}) })),
      threads: o.threads,
      engines,
      reps: o.reps,
      warmup_rounds: o.warmup,
      iters_per_page: o.iters,
      prompt_tokens: PROMPT_TOKENS,
      gen_tokens: GEN_TOKENS,
      context_size: o.context,
      wllama_load: o.wllamaLoad,
      wllama_version: readJSON(join(ROOT, 'node_modules', '@wllama', 'wllama', 'package.json')).version,
      ...(memoryStore ? { memory: memoryConfig(o) } : {}),
    },
    records,
    ratios: ratios(records),
    wasm: fileSizes(),
    memory: { method: 'VmHWM of the renderer process (browser rows); GNU time max RSS (native)' },
    delivery,
    ...(memoryStore ? { memory_store: memoryStore } : {}),
    notes,
    timing: {
      total_s: (Date.now() - t0) / 1000,
      per_rep_s: Object.fromEntries(Object.entries(perRep).map(([k, v]) => [k, summarize(v).median])),
      ...(memorySeconds != null ? { memory_s: memorySeconds } : {}),
    },
    raw,
  };
  writeResults(o, res, date, '', t0);
}

/**
 * Writes the JSON (and with --markdown the Markdown) by date and as latest<tag>[-quick].*, and
 * prints the text report. A quick run never replaces latest.json / latest.md (the README's table
 * comes from a full run); a memory-only run (tag "-memory") never replaces the model results.
 */
function writeResults(o, res, date, tag, t0) {
  mkdirSync(o.out, { recursive: true });
  const stamp = date.toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  const suffix = `${tag}${o.quick ? '-quick' : ''}`;
  const latest = `latest${suffix}`;
  const jsonFile = join(o.out, `${stamp}${suffix}.json`);
  writeFileSync(jsonFile, JSON.stringify(res, null, 2) + '\n');
  copyFileSync(jsonFile, join(o.out, `${latest}.json`));
  console.log('\n' + textReport(res) + '\n');
  say(`wrote ${relative(ROOT, jsonFile)} and ${latest}.json`);
  if (o.markdown) {
    const mdFile = join(o.out, `${stamp}${suffix}.md`);
    writeFileSync(mdFile, markdownReport(res));
    copyFileSync(mdFile, join(o.out, `${latest}.md`));
    say(`wrote ${relative(ROOT, mdFile)} and ${latest}.md`);
  }
  say(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
}

// ---- the memory store -------------------------------------------------------------------------
const memoryConfig = (o) => ({ facts: o.memory.facts, queries: o.memory.queries, recall_messages: o.memory.recall, dir: o.memory.dir });

function memorySecondsGuess(o) {
  // ~700 durable inserts/s on a 2-core VM's ext4 (fsync-bound), plus the build when it is missing
  return (o.memory.facts + o.memory.recall) / 700 + o.memory.facts / 20_000 + 5 + (existsSync(MEMORY_BENCH) ? 5 : 360);
}

/** Builds (incrementally) and runs core-c/bench/memory_bench.c; its JSON, or {error}. */
async function memoryBench(o, notes) {
  const n = (x) => x.toLocaleString('en-US');
  const bin = ensureMemoryBench(notes, say);
  if (!bin) {
    say(`memory store: ${notes.at(-1)}`);
    return { error: notes.at(-1) };
  }
  const { facts, queries, recall, dir } = o.memory;
  say(`— memory store (native): ${n(facts)} archival facts, ${n(queries)} searches, ${n(recall)} recall messages; database in ${dir}`);
  try {
    // fsync-bound: allow 20 ms per durable insert on a slow disk
    const timeoutMs = Math.max(o.timeoutMs, (facts + recall) * 20);
    const r = await runMemoryBench(bin, { facts, queries, recall, dir, timeoutMs, log: say });
    const f = r.file;
    say(
      `  memory store: insert ${f.archival_insert.per_s.toFixed(0)}/s (durable), archival search median ${f.archival_search.latency_ms.median.toFixed(2)} ms ` +
        `(p90 ${f.archival_search.latency_ms.p90.toFixed(2)} ms), DB ${(r.db.archival_bytes / 2 ** 20).toFixed(1)} MiB (${r.wall_s.toFixed(0)} s)`,
    );
    return r;
  } catch (e) {
    const error = e.message.split('\n')[0];
    say(`  memory store: FAILED ${error}`);
    return { error };
  }
}

/** `--engines memory`: no browser, no models; results in latest-memory[-quick].json. */
async function memoryOnly(o, { t0, notes, m }) {
  say(`${o.quick ? 'quick ' : ''}memory store run (native, no browser): expected duration about ${Math.ceil(memorySecondsGuess(o) / 60)} min; never asserts a speed, only reports`);
  const memoryStore = await memoryBench(o, notes);
  if (m.loadavg_start[0] > m.cores * 0.5) notes.push(`the machine was busy when the run started (load average ${m.loadavg_start[0].toFixed(2)} on ${m.cores} cores): expect noise`);
  const date = new Date();
  const res = {
    schema: 1,
    date: date.toISOString(),
    machine: { ...m, loadavg_end: loadavg() },
    config: { quick: o.quick, engines: ['memory'], memory: memoryConfig(o) },
    records: [],
    ratios: [],
    wasm: {},
    memory_store: memoryStore,
    notes,
    timing: { total_s: (Date.now() - t0) / 1000, memory_s: (Date.now() - t0) / 1000 },
  };
  writeResults(o, res, date, '-memory', t0);
}

function warmPageCache(file) {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

function brief(rec) {
  const f = (x) => (x == null ? '–' : x.toFixed(1));
  if (rec.native) return `pp ${f(rec.native.pp_tps[0])} t/s, tg ${f(rec.native.tg_tps[0])} t/s, peak ${f(rec.native.peak_mb)} MB`;
  const b = rec.browser;
  const it = b.iters[0];
  const pp = (PROMPT_TOKENS * 1000) / it.pp.wall_ms;
  const tg = it.tg ? ((GEN_TOKENS - 1) * 1000) / (it.tg.wall_ms - it.base.wall_ms) : null;
  return `load ${b.load.load_ms.toFixed(0)} ms, pp ${f(pp)} t/s, tg ${it.tg_error ? `FAILED (${it.tg_error})` : `${f(tg)} t/s`}, peak ${f(b.mem?.peak_mb)} MB [${b.load.variant}]`;
}

main().catch((e) => {
  console.error(`[bench] ${e.stack || e.message}`);
  process.exit(1);
});
