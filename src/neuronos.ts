/**
 * NeuronOS — the headless, Promise-based API (dist/neuronos.js). No DOM: usable from a bundler
 * or a plain `<script type="module">`.
 *
 * ```js
 * import { NeuronOS } from './neuronos.js';
 * const ai = await NeuronOS.create();
 * await ai.loadModel('https://huggingface.co/…/model.gguf', { onProgress: (p) => console.log(p.percent) });
 * for await (const piece of ai.chat('Hello!')) output.textContent += piece;
 * ```
 */
import { NeuronOSError, type NeuronOSErrorCode } from './errors.js';
import { absoluteUrl, type ModelSource, type LoadProgress } from './loader.js';
import { pageCache } from './worker/model-cache.js';
import type { AgentStepEvent, PageTool, ToolCallRequest, ToolSpec } from './agent-types.js';
import { resolveAllowList, validatePageTool } from './agent-tools.js';
import { MemoryClient } from './memory-client.js';
import type { MemoryApi } from './memory-types.js';
import type {
  AgentArgs,
  AgentResult,
  CallMessage,
  ChatMessage,
  ClientToWorker,
  EventMap,
  GenerationResult,
  LoadResult,
  ModelInfo,
  ModelSourceData,
  ReadyMessage,
  RequestMap,
  RequestType,
  SamplingOptions,
  WorkerToClient,
} from './protocol.js';

export { NeuronOSError };
export type { NeuronOSErrorCode, ChatMessage, GenerationResult, ModelInfo, SamplingOptions, LoadProgress, ModelSource, LoadResult };

export interface NeuronOSOptions {
  /** URL of neuronos-inference-worker.js; default: beside this module. */
  workerUrl?: string | URL;
  /** Folder holding neuronos-worker{,-st}.{js,wasm}; default: the worker's folder. */
  wasmBase?: string | URL;
  /** Use the single-thread build even on a cross-origin isolated page. */
  forceSingleThread?: boolean;
  /**
   * Threaded build only: use the build with relaxed-SIMD kernels where the browser validates relaxed
   * SIMD (default true); false keeps the SIMD128 build (same results, bit for bit, only slower).
   */
  relaxedSimd?: boolean;
  /** Milliseconds to wait for the worker to start (default 30 000). */
  startTimeoutMs?: number;
}

export interface CachedModel {
  url: string;
  size: number;
  etag: string | null;
  lastModified: string | null;
  integrity: string | null;
  storedAt: string;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Things worth telling the visitor that are not errors (e.g. `quota_exceeded`: runs uncached). */
  onNotice?: (n: { code: string; message: string }) => void;
  /** Subresource-integrity hash of the file, `sha256-<base64>`; a mismatch is refused with
   *  `integrity_mismatch`. */
  integrity?: string;
  /** OPFS cache: 'prefer' (default; a cached copy loads with no network at all), 'revalidate'
   *  (a HEAD request first; a changed ETag or size drops the copy), 'off'. */
  cache?: 'prefer' | 'revalidate' | 'off';
  /** Attempts to resume after a dropped connection (default 5). */
  retries?: number;
  /** A download that receives nothing for this long fails with `download_stalled` (default 30 000 ms). */
  stallMs?: number;
  signal?: AbortSignal;
  /** Context size in tokens (default 2048; 0 = the model's own, capped at 4096). */
  contextSize?: number;
  /** Threads for the threaded build (default: all cores, at most 8). */
  threads?: number;
  /** false: the weights keep the file's layout. Default true: Q4_0 weights are repacked in place
   *  (no second copy) into the 4x4 interleaved layout of the gemv/gemm kernels; `info.repacked_bytes`
   *  says how much was. For measurements; the results differ only in float rounding. */
  repack?: boolean;
}

export interface GenerateOptions extends SamplingOptions {
  signal?: AbortSignal;
}

export interface ChatOptions extends GenerateOptions {
  /** System prompt, placed first in the conversation. */
  systemPrompt?: string;
  /** Chat template override (a Jinja template or a llama.cpp built-in name such as "chatml"). */
  template?: string;
  /**
   * Allow-list of built-in tools: names and the groups `memory` (the five memory tools) and
   * `files` (the three file tools); default all ten. Page tools (registerTool) are always
   * enabled while registered. With no tool at all, `chat()` is a plain chat turn (no agent).
   */
  tools?: string[];
  /** Model outputs per agent turn (default 8). */
  maxSteps?: number;
  /** Each completed step part (tool call, result, refusal, invalid output, answer). */
  onStep?: (e: AgentStepEvent) => void;
  /** The thought of a step, streamed. */
  onThought?: (step: number, piece: string) => void;
  /** Asked before every tool call; resolve false to refuse it (the model is told). */
  onToolCall?: (call: ToolCallRequest) => boolean | Promise<boolean>;
  /** The agent's name: its private folder for the file tools (default "default"). */
  agent?: string;
  /** Things the visitor should know: older turns left the model's context (`context_trimmed`),
   *  the message was cut to fit (`message_truncated`). */
  onNotice?: (n: { code: string; message: string }) => void;
  /** Default wait for a page tool's handler, ms (default 30 000); a tool's own timeoutMs wins. */
  toolTimeoutMs?: number;
  /** Limits of one step's JSON (tests and small models). */
  maxThoughtChars?: number;
  maxAnswerChars?: number;
  maxStringChars?: number;
  maxArrayItems?: number;
}

/** What `chat()` resolves to: a generation, plus the agent's steps in agent mode. */
export type ChatResult = GenerationResult & Partial<Pick<AgentResult, 'steps' | 'agentFinish' | 'assistant'>>;

/** An async iterable of text pieces; `result` resolves when the generation ends. */
export interface TokenStream extends AsyncIterable<string> {
  readonly result: Promise<GenerationResult>;
  /** Stops this generation (the stream ends, `result` resolves with finish 'aborted'). */
  abort(): void;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: NeuronOSError) => void;
  onEvent?: (event: keyof EventMap, data: EventMap[keyof EventMap]) => void;
  /** The worker asks this request's side something (tool approval, a page tool). */
  onCall?: (msg: CallMessage) => Promise<unknown>;
}

/** A new conversation id: the time and a random part (no personal data). */
function newConversationId(): string {
  const rnd = typeof crypto !== 'undefined' && crypto.getRandomValues ? Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('') : Math.random().toString(16).slice(2, 14);
  return `${new Date().toISOString().slice(0, 19)}-${rnd}`;
}

const defaultWorkerUrl = (): URL => new URL('./neuronos-inference-worker.js', import.meta.url);

/** Starts a worker; from another origin (a CDN) through a same-origin blob: trampoline. */
function spawnWorker(workerUrl: URL, wasmBase: URL | undefined, forceSingleThread: boolean, relaxedSimd: boolean): Worker {
  const base = wasmBase ?? new URL('./', workerUrl);
  const sameOrigin = typeof location !== 'undefined' && workerUrl.origin === location.origin;
  if (sameOrigin) {
    const u = new URL(workerUrl);
    if (wasmBase) u.searchParams.set('wasmBase', base.href);
    if (forceSingleThread) u.searchParams.set('st', '1');
    if (!relaxedSimd) u.searchParams.set('relaxed', '0');
    return new Worker(u);
  }
  const cfg = JSON.stringify({ wasmBase: base.href, forceSingleThread, relaxedSimd });
  const src = `self.NEURONOS_WORKER_CONFIG=${cfg};importScripts(${JSON.stringify(workerUrl.href)});`;
  return new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
}

export class NeuronOS {
  /** 'mt' (threaded build) or 'st'. */
  readonly variant: 'st' | 'mt';
  /** Threads the worker can use. */
  readonly threads: number;
  readonly simd: boolean;
  /** The threaded build with relaxed-SIMD kernels is running (see NeuronOSOptions.relaxedSimd). */
  readonly relaxedSimd: boolean;
  /** The conversation `chat()` keeps (system prompt excluded). */
  history: ChatMessage[] = [];

  private readonly memoryClient = new MemoryClient((type, args, onEvent) => this.request(type, args, { onEvent }).promise);
  /**
   * The agent's memory (README "Memory"): `open(agent)` first (no model needed), then
   * `store / search / list / delete / export / import / clear / stats / check`. Persistent
   * memory is the SQLite database `neuronos/memory/<agent>.db` in this origin's private file
   * system; a resolved `store()` survives reloads and stopped workers.
   */
  readonly memory: MemoryApi = this.memoryClient;

  private worker: Worker;
  private readonly opts: NeuronOSOptions;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private abortFlag: Int32Array | null = null;
  private abortIndex = 0;
  private active = new Set<number>();
  private disposed = false;
  private info: ModelInfo | null = null;
  private pageTools = new Map<string, PageTool>();
  /** Recall memory's id of the current conversation. */
  conversation = newConversationId();

  private constructor(worker: Worker, ready: ReadyMessage, opts: NeuronOSOptions) {
    this.worker = worker;
    this.opts = opts;
    this.variant = ready.variant;
    this.threads = ready.threads;
    this.simd = ready.simd;
    this.relaxedSimd = ready.relaxedSimd === true;
    this.attach(worker, ready);
  }

  /** Starts the worker and waits for its WASM module. */
  static async create(opts: NeuronOSOptions = {}): Promise<NeuronOS> {
    const { worker, ready } = await NeuronOS.start(opts);
    return new NeuronOS(worker, ready, opts);
  }

  private static start(opts: NeuronOSOptions): Promise<{ worker: Worker; ready: ReadyMessage }> {
    const workerUrl = new URL(opts.workerUrl ?? defaultWorkerUrl(), typeof location !== 'undefined' ? location.href : undefined);
    const wasmBase = opts.wasmBase ? new URL(opts.wasmBase, workerUrl) : undefined;
    let worker: Worker;
    try {
      worker = spawnWorker(workerUrl, wasmBase, opts.forceSingleThread ?? false, opts.relaxedSimd ?? true);
    } catch (e) {
      return Promise.reject(new NeuronOSError('worker_failed', `could not start the worker: ${(e as Error).message}`, 'create'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.terminate();
        reject(new NeuronOSError('worker_failed', 'the worker did not start in time', 'create'));
      }, opts.startTimeoutMs ?? 30_000);
      const onMessage = (e: MessageEvent<WorkerToClient>) => {
        if (e.data?.type === 'ready' || e.data?.type === 'fatal') {
          clearTimeout(timer);
          worker.removeEventListener('message', onMessage);
          worker.removeEventListener('error', onError);
          if (e.data.type === 'ready') resolve({ worker, ready: e.data });
          else {
            worker.terminate();
            reject(NeuronOSError.from(e.data.error, 'worker_failed', 'create'));
          }
        }
      };
      const onError = (e: ErrorEvent) => {
        clearTimeout(timer);
        worker.terminate();
        reject(new NeuronOSError('worker_failed', `the worker failed to start: ${e.message || 'script error (CSP, CORS or a missing file?)'}`, 'create'));
      };
      worker.addEventListener('message', onMessage);
      worker.addEventListener('error', onError);
    });
  }

  private attach(worker: Worker, ready: ReadyMessage): void {
    this.abortFlag = ready.abort ? new Int32Array(ready.abort.memory) : null;
    this.abortIndex = ready.abort?.index ?? 0;
    worker.addEventListener('message', (e: MessageEvent<WorkerToClient>) => this.onMessage(e.data));
    worker.addEventListener('error', (e) => this.failAll(new NeuronOSError('wasm_crashed', `the worker crashed: ${e.message}`)));
  }

  private onMessage(msg: WorkerToClient): void {
    if (!msg || !('id' in msg)) return;
    if (msg.type === 'call') {
      this.answerCall(msg);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'event') {
      p.onEvent?.(msg.event, msg.data);
    } else if (msg.type === 'result') {
      this.pending.delete(msg.id);
      p.resolve(msg.result);
    } else if (msg.type === 'error') {
      this.pending.delete(msg.id);
      p.reject(NeuronOSError.from(msg.error, 'internal'));
    }
  }

  /** Answers a worker's call (tool approval, page tool) for the agent request it belongs to. */
  private answerCall(msg: CallMessage): void {
    const p = this.pending.get(msg.request);
    const reply = (m: ClientToWorker) => {
      if (!this.disposed) this.worker.postMessage(m);
    };
    const run = p?.onCall ? p.onCall(msg) : Promise.reject(new NeuronOSError('aborted', 'the request has ended', msg.tool));
    run.then(
      (result) => reply({ id: msg.id, type: 'call-result', result: result === undefined ? null : result }),
      (e: unknown) => {
        const err = e instanceof NeuronOSError ? e : new NeuronOSError('tool_failed', e instanceof Error ? e.message || e.name : String(e), msg.tool);
        reply({ id: msg.id, type: 'call-error', error: { code: err.code, message: err.message, op: msg.tool } });
      },
    );
  }

  private failAll(err: NeuronOSError): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private request<K extends RequestType>(
    type: K,
    args: RequestMap[K]['args'],
    opts: { transfer?: Transferable[]; onEvent?: Pending['onEvent']; onCall?: Pending['onCall'] } = {},
  ): { id: number; promise: Promise<RequestMap[K]['result']> } {
    const id = this.nextId++;
    if (this.disposed) return { id, promise: Promise.reject(new NeuronOSError('disposed', 'this NeuronOS instance was disposed', type)) };
    const promise = new Promise<RequestMap[K]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent: opts.onEvent, onCall: opts.onCall });
    });
    const msg = { id, type, args } as ClientToWorker;
    this.worker.postMessage(msg, opts.transfer ?? []);
    return { id, promise };
  }

  private abortRequest(id: number): void {
    if (this.disposed) return;
    this.worker.postMessage({ type: 'abort', target: id } satisfies ClientToWorker);
    // threaded build: also raise the flag in shared memory, seen inside the running computation
    if (this.abortFlag && this.active.has(id)) Atomics.store(this.abortFlag, this.abortIndex, 1);
  }

  /**
   * Loads a model: a URL (https, relative, or blob:), a File/Blob, or an ArrayBuffer /
   * Uint8Array (an ArrayBuffer is transferred to the worker and detached here). URLs are fetched
   * by the worker straight into WASM memory (resuming dropped connections) and cached in OPFS;
   * a split model is named by its first part (`…-00001-of-0000N.gguf`).
   */
  async loadModel(source: ModelSource, opts: LoadOptions = {}): Promise<ModelInfo> {
    let data: ModelSourceData;
    const transfer: Transferable[] = [];
    if (source instanceof ArrayBuffer) {
      data = { kind: 'buffers', parts: [source] };
      transfer.push(source);
    } else if (source instanceof Uint8Array) {
      const copy = source.slice().buffer;
      data = { kind: 'buffers', parts: [copy] };
      transfer.push(copy);
    } else if (typeof Blob !== 'undefined' && source instanceof Blob) {
      data = { kind: 'blob', blob: source, name: 'name' in source ? (source as File).name : 'the file' };
    } else {
      const url = absoluteUrl(source as string | URL);
      data = { kind: 'url', url, integrity: opts.integrity, cache: opts.cache, retries: opts.retries, stallMs: opts.stallMs };
    }
    if (opts.signal?.aborted) throw new NeuronOSError('aborted', 'loading was cancelled', 'loadModel');
    const { id, promise } = this.request(
      'load',
      { source: data, contextSize: opts.contextSize, threads: opts.threads, repack: opts.repack },
      {
        transfer,
        onEvent: (event, d) => {
          if (event === 'progress') opts.onProgress?.(d as LoadProgress);
          else if (event === 'notice') opts.onNotice?.(d as EventMap['notice']);
        },
      },
    );
    const onAbort = () => this.abortRequest(id);
    opts.signal?.addEventListener('abort', onAbort);
    try {
      const r = await promise;
      this.info = r.info;
      this.lastLoad = r;
      this.history = [];
      opts.onProgress?.({ phase: 'ready', loaded: r.bytes, total: r.bytes, percent: 100 });
      return r.info;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** How the last model arrived: from the cache or not, bytes, delivery and load times. */
  lastLoad: LoadResult | null = null;

  /** Models in this origin's OPFS cache (`neuronos/models/`). */
  static cachedModels(): Promise<CachedModel[]> {
    return pageCache.list().then((l) => l.map(({ url, size, etag, lastModified, integrity, storedAt }) => ({ url, size, etag, lastModified, integrity, storedAt })));
  }

  /** Whether a complete copy of the model at `url` is cached (no network needed to load it). */
  static isModelCached(url: string): Promise<boolean> {
    return pageCache.has(absoluteUrl(url));
  }

  /** Deletes a cached model (fails with `busy` while a worker is writing or reading it). */
  static async deleteCachedModel(url: string): Promise<void> {
    try {
      await pageCache.remove(absoluteUrl(url));
    } catch (e) {
      throw new NeuronOSError('busy', `the cached model is in use and cannot be deleted now: ${(e as Error).message}`, 'deleteCachedModel');
    }
  }

  /** The loaded model's metadata, or null. */
  modelInfo(): ModelInfo | null {
    return this.info;
  }

  private stream(
    type: 'generate' | 'chat' | 'agent',
    args: RequestMap['generate']['args'] | RequestMap['chat']['args'] | RequestMap['agent']['args'],
    signal?: AbortSignal,
    hooks: { onEvent?: Pending['onEvent']; onCall?: Pending['onCall'] } = {},
  ): TokenStream {
    const queue: string[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    let failure: NeuronOSError | null = null;
    const { id, promise } = this.request(type, args as never, {
      onEvent: (event, data) => {
        if (event === 'token') {
          queue.push((data as EventMap['token']).piece);
          wake?.();
        }
        hooks.onEvent?.(event, data);
      },
      onCall: hooks.onCall,
    });
    this.active.add(id);
    const onAbort = () => this.abortRequest(id);
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) onAbort();
    const result = (promise as Promise<GenerationResult>).then(
      (r) => r,
      (e: NeuronOSError) => {
        failure = e;
        throw e;
      },
    );
    result
      .catch(() => undefined)
      .finally(() => {
        finished = true;
        this.active.delete(id);
        signal?.removeEventListener('abort', onAbort);
        wake?.();
      });
    const iterator = async function* (): AsyncGenerator<string> {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (finished) {
          if (failure) throw failure;
          return;
        }
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    };
    return {
      result,
      abort: onAbort,
      [Symbol.asyncIterator]: iterator,
    };
  }

  /** Raw completion of `prompt`, streamed piece by piece. */
  generate(prompt: string, opts: GenerateOptions = {}): TokenStream {
    const { signal, ...sampling } = opts;
    return this.stream('generate', { prompt, sampling }, signal);
  }

  /**
   * One chat turn. With tools enabled (the default: all ten built-ins, plus registered page
   * tools) it is an agent turn: the model thinks, calls tools (each one announced to
   * `onToolCall` first) and answers; the stream yields the answer, `onStep`/`onThought` the
   * rest, and `result` has the steps. With `tools: []` and no page tool it is a plain chat turn.
   * The conversation is kept in `history` (a stopped reply is kept with the text it had).
   */
  chat(message: string, opts: ChatOptions = {}): TokenStream & { readonly result: Promise<ChatResult> } {
    const { signal, systemPrompt, template, tools, maxSteps, onStep, onThought, onToolCall, onNotice, agent, toolTimeoutMs, maxThoughtChars, maxAnswerChars, maxStringChars, maxArrayItems, ...sampling } = opts;
    const user: ChatMessage = { role: 'user', content: message };
    let builtins: string[];
    try {
      builtins = resolveAllowList(tools, new Set(this.pageTools.keys()));
    } catch (e) {
      const err = e as NeuronOSError;
      const result = Promise.reject(err);
      result.catch(() => undefined);
      return { result, abort: () => undefined, [Symbol.asyncIterator]: async function* () { throw err; } };
    }
    const plain = builtins.length === 0 && this.pageTools.size === 0;
    const pageTools = new Map(plain ? [] : this.pageTools);
    const specs: AgentArgs['tools'] = [
      ...builtins,
      ...[...pageTools.values()].map((t) => ({ name: t.name, description: t.description ?? '', parameters: t.parameters ?? { type: 'object' as const, properties: {} }, confirm: t.confirm === true, ...(t.timeoutMs ? { timeoutMs: t.timeoutMs } : {}) })),
    ];
    const args: AgentArgs = {
      messages: [...this.history.filter((m) => m.role !== 'system'), user],
      system: systemPrompt,
      template,
      sampling,
      tools: specs,
      maxSteps,
      agent,
      toolTimeoutMs,
      maxThoughtChars,
      maxAnswerChars,
      maxStringChars,
      maxArrayItems,
      conversation: this.conversation,
      plain,
    };
    const s = this.stream('agent', args, signal, {
      onEvent: (event, data) => {
        if (event === 'notice') onNotice?.(data as EventMap['notice']);
        else if (event === 'step') onStep?.(data as AgentStepEvent);
        else if (event === 'thought') onThought?.((data as EventMap['thought']).step, (data as EventMap['thought']).piece);
      },
      onCall: async (call) => {
        const req: ToolCallRequest = { step: call.step, tool: call.tool, args: call.args, confirm: call.confirm, source: call.source };
        if (call.mode === 'approve') return onToolCall ? (await onToolCall(req)) === true : true;
        const tool = pageTools.get(call.tool);
        if (!tool) throw new NeuronOSError('tool_failed', `the page tool ${call.tool} is no longer registered`, call.tool);
        return await tool.handler(call.args);
      },
    }) as TokenStream & { readonly result: Promise<ChatResult> };
    s.result.then(
      (r: ChatResult) => {
        this.history.push(user, { role: 'assistant', content: r.assistant || r.text });
      },
      () => undefined,
    );
    return s;
  }

  /**
   * Registers a tool that runs on this page: the model can call it in agent turns. `parameters`
   * is a JSON Schema subset (README: "Page-defined tools"); anything else is refused here with
   * `invalid_argument`. The handler's return value (JSON-serialisable) is what the model sees;
   * a throw becomes an error observation; `timeoutMs` (default 30 s) bounds the wait.
   */
  registerTool(tool: PageTool): void {
    validatePageTool(tool);
    if (this.pageTools.has(tool.name)) throw new NeuronOSError('invalid_argument', `a tool named ${tool.name} is already registered`, 'registerTool');
    this.pageTools.set(tool.name, { ...tool });
  }

  /** Removes a page tool; true when it was registered. Takes effect at the next turn. */
  unregisterTool(name: string): boolean {
    return this.pageTools.delete(name);
  }

  /** The registered page tools' specs. */
  get registeredTools(): ToolSpec[] {
    return [...this.pageTools.values()].map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
  }

  /** The built-in tools' specs, as the model sees them. */
  builtinTools(): Promise<ToolSpec[]> {
    return this.request('builtinTools', {}).promise;
  }

  /** Clears the conversation kept for `chat()` (a new conversation id for recall memory). */
  resetChat(): void {
    this.history = [];
    this.conversation = newConversationId();
  }

  /** Stops every running generation. */
  abort(): void {
    for (const id of this.active) this.abortRequest(id);
  }

  tokenize(text: string, addSpecial = true): Promise<number[]> {
    return this.request('tokenize', { text, addSpecial }).promise;
  }

  applyTemplate(messages: ChatMessage[], template?: string): Promise<string> {
    return this.request('applyTemplate', { messages, template }).promise;
  }

  /** Test support: makes the WASM module trap; the call rejects with `wasm_crashed`. */
  debugTrap(): Promise<null> {
    return this.request('trap', {}).promise;
  }

  /**
   * Replaces a crashed (or any) worker with a fresh one; the model must be loaded again. The old
   * worker is terminated whatever it is doing (Chromium stops a busy worker within 2 s) and its
   * pending requests reject with `aborted`; a memory store among them is saved whole or not at
   * all. The memory that was open is opened again; if that fails, the new worker is running and
   * restart() rejects with the reason (`memory.current` is then null).
   */
  async restart(): Promise<void> {
    this.worker.terminate();
    this.failAll(new NeuronOSError('aborted', 'the worker was restarted'));
    const { worker, ready } = await NeuronOS.start(this.opts);
    this.worker = worker;
    (this as { variant: 'st' | 'mt' }).variant = ready.variant;
    this.attach(worker, ready);
    this.info = null;
    this.history = [];
    await this.memoryClient.reopen();
  }

  /** Ends the worker and frees its memory. Later calls reject with `disposed`. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.worker.terminate();
    this.failAll(new NeuronOSError('disposed', 'this NeuronOS instance was disposed'));
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}
