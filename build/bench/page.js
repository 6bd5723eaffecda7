// The bench page (build/bench/page.html): one engine per page, driven by build/bench.mjs.
// Everything is timed here, on the page, the same way for both browser engines:
//   load:     from the first call (engine start) until the model is ready to generate;
//   complete: from the call until the last token reached the page (every token is streamed to
//             the page, as a chat UI would get it), plus the engine's own figures for reference.
import { NeuronOS } from '/dist/neuronos.js';
import { Wllama } from '/node_modules/@wllama/wllama/esm/index.js';

const WLLAMA_WASM = new URL('/node_modules/@wllama/wllama/esm/wasm/wllama.wasm', location.href).href;
const quiet = { debug() {}, log() {}, info() {}, warn: (...a) => console.warn(...a), error: (...a) => console.error(...a) };

/** @type {{kind: 'neuronos', ai: NeuronOS} | {kind: 'wllama', wl: Wllama} | null} */
let engine = null;

const now = () => performance.now();

async function loadNeuronOS({ modelUrl, threads, contextSize, forceSingleThread, relaxedSimd = true, repack = true, cache = 'off' }) {
  const t0 = now();
  const ai = await NeuronOS.create({ forceSingleThread: !!forceSingleThread, relaxedSimd });
  const tCreated = now();
  let tFetched = 0;
  const info = await ai.loadModel(modelUrl, {
    contextSize,
    threads,
    cache,
    repack,
    onProgress: (p) => {
      if (p.phase === 'load' && !tFetched) tFetched = now();
    },
  });
  const t1 = now();
  engine = { kind: 'neuronos', ai };
  return {
    load_ms: t1 - t0,
    start_ms: tCreated - t0,
    fetch_ms: tFetched ? tFetched - tCreated : null,
    engine_load_ms: tFetched ? t1 - tFetched : null,
    variant: ai.variant,
    from_cache: ai.lastLoad?.fromCache ?? false,
    wasm_memory_bytes: ai.lastLoad?.wasmMemoryBytes ?? null,
    wasm_heap_peak_bytes: ai.lastLoad?.wasmHeapPeakBytes ?? null,
    max_threads: ai.threads,
    simd: ai.simd,
    relaxed_simd: ai.relaxedSimd,
    repacked_bytes: info.repacked_bytes ?? 0,
    model: info,
  };
}

async function loadWllama({ modelUrl, threads, contextSize, wllamaLoad }) {
  const t0 = now();
  const wl = new Wllama({ default: WLLAMA_WASM }, { suppressNativeLog: true, logger: quiet });
  wl.setCompat(null); // the Safari compat build comes from a CDN; never needed in Chromium
  const params = { n_threads: threads, n_ctx: contextSize, n_gpu_layers: 0 };
  let tFetched = 0;
  if (wllamaLoad === 'url') {
    // wllama's own path: downloads into its OPFS cache, then opens the cached file
    await wl.loadModelFromUrl(modelUrl, { ...params, useCache: false });
  } else {
    const res = await fetch(modelUrl);
    if (!res.ok) throw new Error(`HTTP ${res.status} for ${modelUrl}`);
    const blob = await res.blob();
    tFetched = now();
    await wl.loadModel([blob], params);
  }
  const t1 = now();
  engine = { kind: 'wllama', wl };
  const ctx = wl.getLoadedContextInfo();
  return {
    load_ms: t1 - t0,
    fetch_ms: tFetched ? tFetched - t0 : null,
    engine_load_ms: tFetched ? t1 - tFetched : null,
    variant: wl.isMultithread() ? 'mt' : 'st',
    threads: wl.getNumThreads(),
    n_ctx: ctx.n_ctx,
    n_batch: ctx.n_batch,
    n_ubatch: ctx.n_ubatch,
    version: Wllama.getLibllamaVersion(),
  };
}

async function completeNeuronOS(ai, prompt, maxTokens) {
  const t0 = now();
  const s = ai.generate(prompt, { temperature: 0, maxTokens, ignoreEos: true });
  let first = null;
  let pieces = 0;
  for await (const piece of s) {
    if (first === null) first = now();
    if (piece) pieces++;
  }
  const r = await s.result;
  const t1 = now();
  return {
    wall_ms: t1 - t0,
    first_ms: first === null ? null : first - t0,
    pieces,
    finish: r.finish,
    prompt_tokens: r.stats.promptTokens,
    prompt_reused: r.stats.promptReused,
    generated: r.stats.generatedTokens,
    engine_prompt_ms: r.stats.promptMs,
    engine_gen_ms: r.stats.generateMs,
    engine_gen_tokens: r.stats.generatedTokens,
  };
}

async function completeWllama(wl, prompt, maxTokens) {
  const t0 = now();
  let first = null;
  let pieces = 0;
  let last = null;
  let timings = null;
  let usage = null;
  await wl.createCompletion({
    prompt,
    max_tokens: maxTokens,
    temperature: 0,
    ignore_eos: true,
    stream: true,
    onData: (chunk) => {
      last = chunk;
      if (chunk.timings) timings = chunk.timings;
      if (chunk.usage) usage = chunk.usage;
      if (chunk.choices?.[0]?.text) {
        if (first === null) first = now();
        pieces++;
      }
    },
  });
  const t1 = now();
  return {
    wall_ms: t1 - t0,
    first_ms: first === null ? null : first - t0,
    pieces,
    finish: last?.choices?.[0]?.finish_reason ?? null,
    prompt_tokens: timings ? timings.prompt_n + (timings.cache_n ?? 0) : (usage?.prompt_tokens ?? null),
    prompt_reused: timings?.cache_n ?? null,
    generated: timings?.predicted_n ?? usage?.completion_tokens ?? null,
    engine_prompt_ms: timings?.prompt_ms ?? null,
    engine_gen_ms: timings?.predicted_ms ?? null,
    engine_gen_tokens: timings?.predicted_n ?? null,
  };
}

window.bench = {
  info() {
    return {
      crossOriginIsolated: self.crossOriginIsolated,
      hardwareConcurrency: navigator.hardwareConcurrency,
      userAgent: navigator.userAgent,
      jspi: typeof WebAssembly.Suspending === 'function',
    };
  },
  async load(kind, opts) {
    if (engine) throw new Error('an engine is already loaded on this page');
    return kind === 'neuronos' ? loadNeuronOS(opts) : loadWllama(opts);
  },
  async complete(prompt, maxTokens) {
    if (!engine) throw new Error('no engine loaded');
    return engine.kind === 'neuronos' ? completeNeuronOS(engine.ai, prompt, maxTokens) : completeWllama(engine.wl, prompt, maxTokens);
  },
  /** Token counts of each text (NeuronOS only; used to build prompts of an exact length). */
  async countTokens(texts) {
    if (engine?.kind !== 'neuronos') throw new Error('countTokens needs a NeuronOS engine');
    const out = [];
    for (const t of texts) out.push((await engine.ai.tokenize(t, true)).length);
    return out;
  },
  /** Starts NeuronOS without a model (the baseline of the delivery memory measurement). */
  async start() {
    if (engine) throw new Error('an engine is already loaded on this page');
    engine = { kind: 'neuronos', ai: await NeuronOS.create() };
    return { variant: engine.ai.variant };
  },
  async dispose() {
    if (engine?.kind === 'neuronos') engine.ai.dispose();
    else if (engine?.kind === 'wllama') await engine.wl.exit().catch(() => undefined);
    engine = null;
  },
};
window.benchReady = true;
