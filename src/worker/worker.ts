/**
 * The inference worker (bundled to dist/neuronos-inference-worker.js, a classic worker script:
 * Emscripten 3.1.6's glue is loaded with importScripts).
 *
 * - Picks the threaded build when the page is cross-origin isolated and SharedArrayBuffer
 *   exists, the single-thread build otherwise, and says which in its `ready` message.
 * - Speaks src/protocol.ts: one reply per request, events before it, errors with codes.
 * - Drives generation one token per step and returns to its event loop in between, so an
 *   `abort` message is seen within one token even in the single-thread build.
 * - A WebAssembly trap marks the instance dead: every later request gets `wasm_crashed`, and the
 *   client starts a new worker.
 *
 * Where its files are: the folder of this script, or `?wasmBase=<url>` on its URL, or (for the
 * cross-origin blob trampoline, which has no URL of its own) `self.NEURONOS_WORKER_CONFIG`.
 */
import { NeuronOSError } from '../errors.js';
import {
  PROTOCOL_VERSION,
  type ClientToWorker,
  type DeliveryProgress,
  type EventMap,
  type EventType,
  type GenerationResult,
  type ReadyMessage,
  type RequestMap,
  type RequestMessage,
  type WorkerToClient,
} from '../protocol.js';
import { Core, type ModuleFactory, type SamplingOptions } from './core.js';
import { runAgent } from './agent.js';
import { AgentFiles } from './tools/index.js';
import { deliverBlob, deliverBuffers, deliverUrl, type HeapPart } from './delivery.js';
import { WorkerMemory } from './memory.js';

interface WorkerConfig {
  wasmBase: string;
  forceSingleThread: boolean;
  /** false: the SIMD128 threaded build even where relaxed SIMD validates */
  relaxedSimd: boolean;
}

interface WorkerScope {
  location: { href: string };
  origin: string;
  crossOriginIsolated?: boolean;
  navigator: { hardwareConcurrency?: number };
  postMessage(msg: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (e: MessageEvent) => void): void;
  importScripts(...urls: string[]): void;
  createNeuronOSModule?: ModuleFactory;
  NEURONOS_WORKER_CONFIG?: { wasmBase?: string; forceSingleThread?: boolean; relaxedSimd?: boolean };
}

const scope = globalThis as unknown as WorkerScope;

function config(): WorkerConfig {
  const given = scope.NEURONOS_WORKER_CONFIG;
  const here = new URL(scope.location.href);
  const wasmBase = given?.wasmBase ?? here.searchParams.get('wasmBase') ?? new URL('./', here).href;
  return {
    wasmBase: new URL(wasmBase, here).href.replace(/\/?$/, '/'),
    forceSingleThread: given?.forceSingleThread ?? here.searchParams.get('st') === '1',
    relaxedSimd: given?.relaxedSimd ?? here.searchParams.get('relaxed') !== '0',
  };
}

// A minimal module that uses a SIMD instruction: validates only where WASM SIMD is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
// One function returning i16x8.relaxed_dot_i8x16_i7x16_s of two zero vectors (opcode 0xfd 0x112):
// validates only where relaxed SIMD is supported (Chromium since 114; node 20 with
// --experimental-wasm-relaxed-simd).
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 43, 1, 41, 0, 253, 12, ...new Array<number>(16).fill(0),
  253, 12, ...new Array<number>(16).fill(0), 253, 146, 2, 11,
]);

function post(msg: WorkerToClient | ReadyMessage, transfer: Transferable[] = []): void {
  scope.postMessage(msg, transfer);
}

function emit<E extends EventType>(id: number, event: E, data: EventMap[E]): void {
  post({ id, type: 'event', event, data } as WorkerToClient);
}

const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });

function isTrap(e: unknown): boolean {
  return e instanceof WebAssembly.RuntimeError || (e instanceof Error && /^(RuntimeError|abort\()|unreachable|Aborted\(/.test(`${e.name}: ${e.message}`));
}

let core: Core | null = null;
let variant: 'st' | 'mt' = 'st';
let maxThreads = 1;
let dead: NeuronOSError | null = null;
let queue: Promise<unknown> = Promise.resolve();
const aborted = new Set<number>();
/** Loads in progress, by request id (an abort cancels their download). */
const loads = new Map<number, AbortController>();
let running = -1;
/** Resolvers of the running requests' abort promises. */
const abortWaiters = new Map<number, () => void>();
/** Calls to the client (tool approval, page tools) waiting for their answer. */
const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: NeuronOSError) => void }>();
let nextCallId = 1;

function callClient(
  request: number,
  payload: { mode: 'approve' | 'run'; tool: string; args: Record<string, unknown>; step: number; confirm: boolean; source: 'builtin' | 'page' },
  timeoutMs: number,
): Promise<unknown> {
  const id = nextCallId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      calls.delete(id);
      reject(new NeuronOSError('tool_failed', `${payload.tool} did not answer within ${timeoutMs} ms`, payload.tool));
    }, timeoutMs);
    calls.set(id, {
      resolve: (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    post({ id, type: 'call', request, ...payload });
  });
}

async function start(): Promise<void> {
  const cfg = config();
  const isolated = scope.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
  variant = isolated && !cfg.forceSingleThread ? 'mt' : 'st';
  // the threaded build with relaxed-SIMD kernels, where the browser has relaxed SIMD
  let relaxed = variant === 'mt' && cfg.relaxedSimd && WebAssembly.validate(RELAXED_SIMD_PROBE);
  const name = variant === 'mt' ? (relaxed ? 'neuronos-worker-relaxed' : 'neuronos-worker') : 'neuronos-worker-st';
  maxThreads = variant === 'mt' ? Math.max(1, Math.min(scope.navigator.hardwareConcurrency ?? 4, 8)) : 1;
  try {
    core = await loadBuild(cfg, name);
  } catch (e) {
    // a deployment without the relaxed files (or a browser that refuses them) still gets the
    // threaded SIMD128 build: same results, slower Q4_0 kernels
    if (!relaxed) throw e;
    console.warn(`NeuronOS: ${name} did not load (${(e as Error).message}); using neuronos-worker`);
    relaxed = false;
    dead = null;
    core = await loadBuild(cfg, 'neuronos-worker');
  }
  core.init(1, 2048);
  const ready: ReadyMessage = {
    type: 'ready',
    version: core.version(),
    protocol: PROTOCOL_VERSION,
    variant,
    threads: maxThreads,
    simd: WebAssembly.validate(SIMD_PROBE),
    relaxedSimd: relaxed,
  };
  const heap = core.module.HEAP32.buffer;
  if (variant === 'mt' && heap instanceof SharedArrayBuffer) {
    ready.abort = { memory: heap, index: core.abortFlagAddress() >> 2 };
  }
  post(ready);
}

/** Loads one build's Emscripten glue and instantiates its WebAssembly module. */
async function loadBuild(cfg: WorkerConfig, name: string): Promise<Core> {
  const glue = new URL(`${name}.js`, cfg.wasmBase).href;
  scope.createNeuronOSModule = undefined;
  scope.importScripts(glue);
  const factory = scope.createNeuronOSModule;
  if (!factory) throw new NeuronOSError('worker_failed', `${glue} did not define createNeuronOSModule`);
  // a worker may only start workers of its own origin (a blob: worker has the page's origin)
  const sameOrigin = new URL(glue).origin === scope.origin;
  return Core.create(factory, {
    locateFile: (file) => {
      const url = new URL(file, cfg.wasmBase).href;
      // pthread workers from another origin: start them through a blob: trampoline
      if (file.endsWith('.worker.js') && !sameOrigin) {
        return URL.createObjectURL(new Blob([`importScripts(${JSON.stringify(url)});`], { type: 'text/javascript' }));
      }
      return url;
    },
    mainScriptUrlOrBlob: glue,
    pthreadPoolSize: maxThreads,
    print: (s) => console.log(s),
    printErr: (s) => console.debug(s),
    onAbort: (what) => {
      dead = new NeuronOSError('wasm_crashed', `the WebAssembly module crashed: ${String(what)}`);
    },
  });
}

function need(): Core {
  if (dead) throw dead;
  if (!core) throw new NeuronOSError('worker_failed', 'the worker has not started');
  return core;
}

/** The memory store's worker side (memory.ts); created on first use. */
let memory: WorkerMemory | null = null;
function mem(): WorkerMemory {
  const c = need();
  return (memory ??= new WorkerMemory(c));
}

async function runGeneration(id: number, c: Core, begin: () => void, sampling: SamplingOptions | undefined): Promise<GenerationResult> {
  c.setSampling(sampling);
  if (aborted.has(id)) throw new NeuronOSError('aborted', 'stopped before it started', 'generate');
  begin();
  const t0 = performance.now();
  let tPrompt = t0;
  let text = '';
  let promptDone = false;
  try {
    for (;;) {
      if (aborted.has(id)) c.requestAbort();
      const r = c.step(1);
      // the prompt is done when its last batch was evaluated (the first token belongs to generation)
      if (!promptDone && ((r.state === 1 && r.nPast >= r.nPrompt) || r.state === 2 || r.done)) {
        promptDone = true;
        tPrompt = performance.now();
      }
      if (r.state === 1) emit(id, 'prompt', { done: r.nPast, total: r.nPrompt });
      if (r.piece) {
        text += r.piece;
        emit(id, 'token', { piece: r.piece, nGenerated: r.nGenerated });
      }
      if (r.done) {
        const t1 = performance.now();
        const genMs = t1 - tPrompt;
        return {
          text,
          finish: r.finish,
          stats: {
            promptTokens: r.nPrompt,
            promptReused: r.nReused,
            generatedTokens: r.nGenerated,
            promptMs: tPrompt - t0,
            generateMs: genMs,
            tokensPerSecond: r.nGenerated > 0 && genMs > 0 ? (r.nGenerated * 1000) / genMs : 0,
          },
        };
      }
      await yieldToEventLoop();
    }
  } finally {
    c.endGeneration();
  }
}

type Handler<K extends keyof RequestMap> = (id: number, args: RequestMap[K]['args']) => Promise<RequestMap[K]['result']> | RequestMap[K]['result'];

const handlers: { [K in keyof RequestMap]: Handler<K> } = {
  async load(id, args) {
    const c = need();
    const threads = Math.max(1, Math.min(args.threads ?? maxThreads, maxThreads));
    // free the old model first: the new one should not stack on it
    c.unload();
    c.init(threads, args.contextSize ?? 2048, args.repack ?? true);
    const controller = new AbortController();
    loads.set(id, controller);
    if (aborted.has(id)) controller.abort();
    const onProgress = (p: DeliveryProgress) => emit(id, 'progress', p);
    const onNotice = (code: string, message: string) => emit(id, 'notice', { code, message });
    const t0 = performance.now();
    try {
      const src = args.source;
      let parts: HeapPart[];
      let fromCache = false;
      if (src.kind === 'url') {
        const r = await deliverUrl(c, src.url, { signal: controller.signal, onProgress, onNotice, integrity: src.integrity, cache: src.cache, retries: src.retries, stallMs: src.stallMs });
        parts = r.parts;
        fromCache = r.fromCache;
      } else if (src.kind === 'blob') {
        parts = await deliverBlob(c, src.blob, src.name, { signal: controller.signal, onProgress });
      } else {
        parts = deliverBuffers(c, src.parts);
      }
      if (controller.signal.aborted) {
        for (const p of parts) c.freeModelBuffer(p.ptr);
        throw new NeuronOSError('aborted', 'loading was cancelled', 'loadModel');
      }
      const bytes = parts.reduce((n, p) => n + p.size, 0);
      const t1 = performance.now();
      emit(id, 'progress', { phase: 'load', loaded: bytes, total: bytes, percent: 100 });
      const info = c.loadMapped(parts.map((p) => p.ptr), parts.map((p) => p.size));
      const mem = c.memoryStats();
      return { info, fromCache, bytes, deliverMs: t1 - t0, loadMs: performance.now() - t1, wasmMemoryBytes: mem.memory_bytes, wasmHeapPeakBytes: mem.heap_top_bytes };
    } finally {
      loads.delete(id);
    }
  },
  generate(id, args) {
    const c = need();
    return runGeneration(id, c, () => c.beginGenerate(args.prompt), args.sampling);
  },
  chat(id, args) {
    const c = need();
    return runGeneration(id, c, () => c.beginChat(args.messages, args.template), args.sampling);
  },
  agent(id, args) {
    const c = need();
    let onAbort: () => void = () => undefined;
    const abortSignal = new Promise<void>((resolve) => (onAbort = resolve));
    abortWaiters.set(id, onAbort);
    if (aborted.has(id)) onAbort();
    return runAgent(
      {
        id,
        core: c,
        emit: (event, data) => emit(id, event, data),
        isAborted: () => aborted.has(id),
        abortSignal,
        call: (payload, timeoutMs) => callClient(id, payload, timeoutMs),
        yieldToEventLoop,
      },
      args,
    ).finally(() => abortWaiters.delete(id));
  },
  builtinTools() {
    return need().builtinTools();
  },
  info() {
    const c = need();
    try {
      return c.modelInfo();
    } catch (e) {
      if (e instanceof NeuronOSError && e.code === 'no_model') return null;
      throw e;
    }
  },
  tokenize(_id, args) {
    return need().tokenize(args.text, args.addSpecial ?? true);
  },
  applyTemplate(_id, args) {
    return need().applyTemplate(args.messages, args.template, args.addAssistant ?? true);
  },
  unload() {
    need().unload();
    return null;
  },
  trap() {
    need().trap();
    return null;
  },
  memoryOpen(id, args) {
    return mem().open(args, (n) => emit(id, 'notice', n));
  },
  memoryClose() {
    mem().close();
    return null;
  },
  memoryStore(_id, args) {
    return mem().store(args.item);
  },
  memorySearch(_id, args) {
    return mem().search(args);
  },
  memoryList(_id, args) {
    return mem().list(args);
  },
  memoryDelete(_id, args) {
    return mem().delete(args);
  },
  memoryExport() {
    return mem().export();
  },
  memoryImport(_id, args) {
    return mem().import(args);
  },
  async memoryClear() {
    const m = mem();
    const r = m.clear();
    // "forget everything" is the agent's memory AND its private files (neuronos/files/<agent>/),
    // never the model cache
    const { agent, persistent } = m.stats();
    if (persistent) await new AgentFiles(agent).clear();
    return r;
  },
  memoryStats() {
    return mem().stats();
  },
  memoryCheck() {
    return mem().check();
  },
};

async function handle(msg: RequestMessage): Promise<void> {
  running = msg.id;
  try {
    const handler = handlers[msg.type] as Handler<typeof msg.type> | undefined;
    if (!handler) throw new NeuronOSError('invalid_argument', `unknown request type ${String(msg.type)}`);
    const result = await handler(msg.id, msg.args as never);
    post({ id: msg.id, type: 'result', result });
  } catch (e) {
    let err = NeuronOSError.from(e, 'internal', msg.type);
    if (isTrap(e) || dead) {
      dead = dead ?? new NeuronOSError('wasm_crashed', `the WebAssembly module crashed: ${e instanceof Error ? e.message : String(e)}`);
      err = new NeuronOSError('wasm_crashed', dead.message, msg.type);
    }
    post({ id: msg.id, type: 'error', error: err.toJSON() });
  } finally {
    running = -1;
    aborted.delete(msg.id);
  }
}

scope.addEventListener('message', (e: MessageEvent<ClientToWorker>) => {
  const msg = e.data;
  if (!msg || typeof msg !== 'object') return;
  if (msg.type === 'abort') {
    aborted.add(msg.target);
    loads.get(msg.target)?.abort();
    if (msg.target === running && core && !dead) core.requestAbort();
    abortWaiters.get(msg.target)?.();
    return;
  }
  if (msg.type === 'call-result' || msg.type === 'call-error') {
    const waiting = calls.get(msg.id);
    calls.delete(msg.id);
    if (!waiting) return; // answered after its timeout
    if (msg.type === 'call-result') waiting.resolve(msg.result);
    else waiting.reject(new NeuronOSError(msg.error.code === 'aborted' ? 'aborted' : 'tool_failed', msg.error.message, msg.error.op));
    return;
  }
  queue = queue.then(() => handle(msg as RequestMessage));
});

start().catch((e) => {
  const err = NeuronOSError.from(e, 'worker_failed', 'start');
  post({ type: 'fatal', error: err.toJSON() });
});
