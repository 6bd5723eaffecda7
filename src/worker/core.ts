/**
 * Core — a typed wrapper over one instance of the NeuronOS WASM module (the `neuronos_wasm_*`
 * exports of core-c/src/wasm_glue.c). No DOM and no worker assumptions: the inference worker
 * uses it, and so do the node tests.
 *
 * Every failing call throws a NeuronOSError whose code is the C status code's name.
 */
import type { AgentFinish, ToolSpec } from '../agent-types.js';
import { NeuronOSError, coreStatusCode } from '../errors.js';

/** The parts of the Emscripten module object that we use. */
/** The bits of Emscripten's FS object that zero-copy loading uses. */
export interface EmscriptenFS {
  mkdirTree(path: string): void;
  create(path: string, mode?: number): { contents: unknown; usedBytes: number };
  unlink(path: string): void;
}

export interface NeuronOSWasmModule {
  HEAPU8: Uint8Array;
  FS: EmscriptenFS;
  HEAP32: Int32Array;
  UTF8ToString(ptr: number, maxBytes?: number): string;
  stringToUTF8(str: string, ptr: number, maxBytes: number): void;
  lengthBytesUTF8(str: string): number;
  _malloc(n: number): number;
  _free(ptr: number): void;
  /** Threaded build: the shared memory (its views go stale when another thread grows it). */
  wasmMemory?: WebAssembly.Memory;
  /** The OPFS bridge the memory VFS calls (src/worker/memory-fs.ts installs it). */
  neuronosOpfs?: import('./memory-fs.js').OpfsBridge;
  [fn: `_neuronos_wasm_${string}`]: (...args: number[]) => number;
}

export interface ModuleOptions {
  /** Resolves the .wasm / .worker.js URL next to the glue script. */
  locateFile?: (file: string, scriptDirectory: string) => string;
  /** Threaded build: Web Workers created before start-up (one per thread). */
  pthreadPoolSize?: number;
  /** Threaded build: the glue script's URL (or a Blob of it) for the pthread workers. */
  mainScriptUrlOrBlob?: string | Blob;
  print?: (s: string) => void;
  printErr?: (s: string) => void;
  onAbort?: (what: unknown) => void;
}

export type ModuleFactory = (opts: ModuleOptions) => Promise<NeuronOSWasmModule>;

export interface SamplingOptions {
  /** Tokens to generate at most (0 = none). Default 256. */
  maxTokens?: number;
  /** 0 = greedy. Default 0.7. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  seed?: number;
  /** Keep generating past end-of-turn tokens (benchmarks). */
  ignoreEos?: boolean;
}

export const DEFAULT_SAMPLING: Required<SamplingOptions> = {
  maxTokens: 256,
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.1,
  repeatLastN: 64,
  seed: 42,
  ignoreEos: false,
};

export type FinishReason = 'none' | 'eos' | 'length' | 'aborted' | 'context_full';
const FINISH: FinishReason[] = ['none', 'eos', 'length', 'aborted', 'context_full'];

export const GenState = { idle: 0, prompt: 1, token: 2, done: 3 } as const;

export interface StepResult {
  state: number;
  done: boolean;
  finish: FinishReason;
  /** Text of the tokens of this step (whole UTF-8 characters only). */
  piece: string;
  nTokens: number;
  nPrompt: number;
  nPast: number;
  nReused: number;
  nGenerated: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

export interface ModelInfo {
  name: string;
  architecture: string;
  description: string;
  n_params: number;
  size_bytes: number;
  n_vocab: number;
  n_ctx_train: number;
  n_ctx: number;
  n_threads: number;
  /** bytes of weights the CPU backend repacked into an interleaved layout (Q4_0 4x4 on WASM); 0
   *  with `repack: false` or when no weight has such a layout */
  repacked_bytes: number;
  bos: number;
  eos: number;
  add_bos: boolean;
  has_chat_template: boolean;
  chat_template: string;
  metadata: Record<string, string>;
}

export const AgentState = { idle: 0, prompt: 1, token: 2, action: 3, event: 4, done: 5 } as const;
const AGENT_FINISH: (AgentFinish | 'none')[] = ['none', 'answer', 'step_limit', 'aborted', 'length', 'context_full'];

export interface AgentBeginOptions {
  system?: string;
  template?: string;
  maxSteps?: number;
  maxThoughtChars?: number;
  maxAnswerChars?: number;
  maxStringChars?: number;
  maxArrayItems?: number;
  /** Recall memory's conversation id. */
  conversation?: string;
  /** No tools, no JSON: the reply is the answer (a plain chat turn). */
  plain?: boolean;
  reserveTokens?: number;
}

/** The core's step event (neuronos.h, "agent"). */
export interface AgentCoreEvent {
  step: number;
  kind: 'action' | 'invalid' | 'answer';
  thought: string;
  tool?: string;
  args?: Record<string, unknown>;
  error?: string;
  answer?: string;
  /** DONE only: the turn's assistant message for the history. */
  assistant?: string;
}

export interface AgentStepResult {
  state: number;
  finish: AgentFinish | 'none';
  step: number;
  nTokens: number;
  /** New thought / answer text of this step (decoded from the JSON as it streams). */
  thought: string;
  answer: string;
  event: AgentCoreEvent | null;
  nPrompt: number;
  nPast: number;
  nReused: number;
  nGenerated: number;
}

export class Core {
  readonly module: NeuronOSWasmModule;
  private readonly decoder = new TextDecoder();

  constructor(module: NeuronOSWasmModule) {
    this.module = module;
  }

  static async create(factory: ModuleFactory, opts: ModuleOptions = {}): Promise<Core> {
    return new Core(await factory(opts));
  }

  private fn(name: string): (...args: number[]) => number {
    const f = this.module[`_neuronos_wasm_${name}`];
    if (typeof f !== 'function') throw new NeuronOSError('internal', `the WASM module has no export neuronos_wasm_${name}`);
    return f;
  }

  /** Current heap view (memory can grow; the views are replaced then). */
  private heapU8(): Uint8Array {
    return this.module.HEAPU8;
  }

  private lastError(op: string): NeuronOSError {
    const status = this.fn('last_status')();
    const msg = this.module.UTF8ToString(this.fn('last_error')());
    return new NeuronOSError(coreStatusCode(status), msg || coreStatusCode(status), op);
  }

  private check(status: number, op: string): void {
    if (status !== 0) throw this.lastError(op);
  }

  /** Calls with NUL-terminated copies of the string arguments (null stays NULL). */
  private withStrings<T>(strs: (string | null)[], f: (ptrs: number[]) => T): T {
    const ptrs: number[] = [];
    try {
      for (const s of strs) {
        if (s === null) {
          ptrs.push(0);
          continue;
        }
        const n = this.module.lengthBytesUTF8(s) + 1;
        const p = this.module._malloc(n);
        if (!p) throw new NeuronOSError('out_of_memory', 'out of WebAssembly memory');
        this.module.stringToUTF8(s, p, n);
        ptrs.push(p);
      }
      return f(ptrs);
    } finally {
      for (const p of ptrs) if (p) this.module._free(p);
    }
  }

  /** Takes an owned C string (frees it). */
  private takeString(ptr: number, op: string): string {
    if (!ptr) throw this.lastError(op);
    try {
      return this.module.UTF8ToString(ptr);
    } finally {
      this.fn('free_string')(ptr);
    }
  }

  version(): number {
    return this.fn('version')();
  }

  systemInfo(): string {
    return this.module.UTF8ToString(this.fn('system_info')());
  }

  /** repack false: weights keep the file's layout (no interleaved Q4_0; for A/B measurements) */
  init(threads: number, ctxSize: number, repack = true): void {
    this.check(this.fn('init')(threads, ctxSize, repack ? 1 : 0), 'init');
  }

  /** Copies the bytes into WASM memory (one copy) and loads them; parts of a split model in order. */
  loadModel(parts: Uint8Array | Uint8Array[]): ModelInfo {
    const list = Array.isArray(parts) ? parts : [parts];
    if (list.length === 0) throw new NeuronOSError('invalid_argument', 'no model bytes', 'loadModel');
    const ptrs: number[] = [];
    try {
      for (const bytes of list) {
        const p = this.fn('alloc')(bytes.byteLength);
        if (!p) throw new NeuronOSError('out_of_memory', `not enough WebAssembly memory for a ${bytes.byteLength}-byte model`, 'loadModel');
        ptrs.push(p);
        this.heapU8().set(bytes, p);
      }
    } catch (e) {
      for (const p of ptrs) this.fn('dealloc')(p);
      throw e;
    }
    // ownership of every part passes to the core here, whatever the outcome
    if (ptrs.length === 1) {
      this.check(this.fn('load_model_from_buffer')(ptrs[0]!, list[0]!.byteLength), 'loadModel');
    } else {
      this.loadParts('load_model_from_buffers', ptrs, list.map((b) => b.byteLength));
    }
    return this.modelInfo();
  }

  /**
   * Calls a `(uint8_t **ptrs, size_t *sizes, int n)` loader with the two arrays in WASM memory.
   * The parts pass to the core in every case (they are freed here if the arrays cannot be made).
   */
  private loadParts(fn: 'load_model_from_buffers' | 'load_model_mapped', ptrs: number[], sizes: number[]): void {
    const n = ptrs.length;
    const arr = this.module._malloc(n * 8);
    if (!arr) {
      for (const p of ptrs) this.fn('dealloc')(p);
      throw new NeuronOSError('out_of_memory', 'out of WebAssembly memory', 'loadModel');
    }
    try {
      const h32 = this.module.HEAP32;
      ptrs.forEach((p, i) => {
        h32[(arr >> 2) + i] = p;
        h32[(arr >> 2) + n + i] = sizes[i]!;
      });
      this.check(this.fn(fn)(arr, arr + n * 4, n), 'loadModel');
    } finally {
      this.module._free(arr);
    }
  }

  /** WASM memory figures: its size, the heap's high-water mark, what malloc holds now. */
  memoryStats(): { memory_bytes: number; heap_top_bytes: number; malloc_in_use_bytes: number } {
    return JSON.parse(this.takeString(this.fn('memory_stats')(), 'memoryStats'));
  }

  /** Frees the loaded model (and its buffers) so a new one does not stack on it. */
  unload(): void {
    this.check(this.fn('unload')(), 'unload');
  }

  /** A 64 KiB-aligned buffer in WASM memory for `size` bytes of model; 0 never returned. */
  allocModel(size: number): number {
    const p = size > 0 ? this.fn('alloc_model')(size) : 0;
    if (!p) throw new NeuronOSError('out_of_memory', `not enough WebAssembly memory for ${(size / 2 ** 20).toFixed(0)} MiB of model (the browser's limit is 4 GiB, less on some devices)`, 'loadModel');
    return p;
  }

  freeModelBuffer(ptr: number): void {
    this.fn('dealloc')(ptr);
  }

  /** A view on WASM memory (valid until memory grows). */
  heap(ptr: number, length: number): Uint8Array {
    return this.module.HEAPU8.subarray(ptr, ptr + length);
  }

  /**
   * Loads a model whose parts are already in WASM memory (from allocModel), without copying:
   * each buffer becomes an in-memory file whose contents are the buffer, and llama.cpp maps it.
   * Every buffer passes to the core (freed when the model is unloaded), also on failure.
   */
  loadMapped(ptrs: number[], sizes: number[]): ModelInfo {
    const n = ptrs.length;
    const fs = this.module.FS;
    try {
      fs.mkdirTree('/models');
    } catch {
      /* exists */
    }
    const heap = () => this.module.HEAPU8;
    ptrs.forEach((ptr, i) => {
      const path = this.module.UTF8ToString(this.fn('model_path')(i, n));
      try {
        fs.unlink(path);
      } catch {
        /* not there */
      }
      const node = fs.create(path, 0o444);
      const size = sizes[i]!;
      // MEMFS maps a file without copying when its contents are a view on the heap (MAP_SHARED);
      // a getter keeps the view valid when memory grows.
      Object.defineProperty(node, 'contents', {
        get: () => heap().subarray(ptr, ptr + size),
        set: () => undefined,
        configurable: true,
      });
      node.usedBytes = size;
    });
    this.loadParts('load_model_mapped', ptrs, sizes);
    return this.modelInfo();
  }

  modelInfo(): ModelInfo {
    return JSON.parse(this.takeString(this.fn('model_info')(), 'modelInfo')) as ModelInfo;
  }

  setSampling(opts: SamplingOptions = {}): void {
    const o = { ...DEFAULT_SAMPLING, ...opts };
    this.check(
      this.fn('set_sampling')(o.temperature, o.topK, o.topP, o.minP, o.repeatPenalty, o.repeatLastN, o.seed >>> 0, o.maxTokens, o.ignoreEos ? 1 : 0),
      'setSampling',
    );
  }

  beginGenerate(prompt: string): void {
    this.withStrings([prompt], ([p]) => this.check(this.fn('gen_begin')(p!), 'generate'));
  }

  beginChat(messages: ChatMessage[], templateOverride?: string): void {
    this.withStrings([JSON.stringify(messages), templateOverride || null], ([m, t]) =>
      this.check(this.fn('chat_begin')(m!, t!), 'chat'),
    );
  }

  /** Advances the generation by one prompt batch or up to maxTokens tokens. */
  step(maxTokens = 1): StepResult {
    this.check(this.fn('gen_step')(maxTokens), 'step');
    const base = this.fn('step_result')() >> 2;
    const h = this.module.HEAP32;
    const pieceLen = h[base + 3]!;
    const piecePtr = h[base + 4]! >>> 0;
    const piece = pieceLen > 0 ? this.decoder.decode(this.heapU8().slice(piecePtr, piecePtr + pieceLen)) : '';
    const state = h[base]!;
    return {
      state,
      done: state === GenState.done,
      finish: FINISH[h[base + 1]!] ?? 'none',
      nTokens: h[base + 2]!,
      piece,
      nPrompt: h[base + 5]!,
      nPast: h[base + 6]!,
      nReused: h[base + 7]!,
      nGenerated: h[base + 8]!,
    };
  }

  endGeneration(): void {
    this.fn('gen_end')();
  }

  /** Byte address of the abort flag (an int32 in WASM memory; shared memory in the threaded build). */
  abortFlagAddress(): number {
    return this.fn('abort_flag')();
  }

  requestAbort(): void {
    Atomics.store(this.module.HEAP32, this.abortFlagAddress() >> 2, 1);
  }

  /**
   * Logits of every position of `tokens`, evaluated from an empty cache: as one batch (the prompt
   * path) or one decode per token (`oneByOne`, the generation path). For reference tests.
   */
  evalLogits(tokens: number[], oneByOne = false): Float32Array[] {
    const out = this.module._malloc(4);
    if (!out) throw new NeuronOSError('out_of_memory', 'out of WebAssembly memory', 'evalLogits');
    try {
      const ptr = this.withStrings([JSON.stringify(tokens)], ([p]) => this.fn('eval_logits')(p!, oneByOne ? 1 : 0, out));
      if (!ptr) throw this.lastError('evalLogits');
      const nVocab = this.module.HEAP32[out >> 2]!;
      const heap = this.heapU8().buffer;
      const rows = tokens.map((_, i) => new Float32Array(heap.slice(ptr + i * nVocab * 4, ptr + (i + 1) * nVocab * 4)));
      this.module._free(ptr);
      return rows;
    } finally {
      this.module._free(out);
    }
  }

  tokenize(text: string, addSpecial = true): number[] {
    return this.withStrings([text], ([p]) => JSON.parse(this.takeString(this.fn('tokenize')(p!, addSpecial ? 1 : 0), 'tokenize')) as number[]);
  }

  applyTemplate(messages: ChatMessage[], templateOverride?: string, addAssistant = true): string {
    return this.withStrings([JSON.stringify(messages), templateOverride || null], ([m, t]) =>
      this.takeString(this.fn('apply_template')(m!, t!, addAssistant ? 1 : 0), 'applyTemplate'),
    );
  }

  /** The seed's one-shot API: the whole completion at once (blocks until done). */
  generateOnce(prompt: string, nPredict: number, temperature: number): string {
    return this.withStrings([prompt], ([p]) => this.takeString(this.fn('generate')(p!, nPredict, temperature), 'generate'));
  }

  // ---------------------------------------------------------------- the agent ----

  /** The ten built-in tools' specs. */
  builtinTools(): ToolSpec[] {
    return JSON.parse(this.module.UTF8ToString(this.fn('tools_builtin')())) as ToolSpec[];
  }

  /** Checks a page tool spec in the core (throws invalid_argument with the reason). */
  checkTool(spec: ToolSpec): void {
    this.withStrings([JSON.stringify(spec)], ([p]) => this.check(this.fn('tools_check')(p!), 'registerTool'));
  }

  /** The tools of the next turns: built-in names and page tool specs. */
  agentSetTools(tools: (string | ToolSpec)[]): void {
    const clean = tools.map((t) => (typeof t === 'string' ? t : { name: t.name, description: t.description, parameters: t.parameters }));
    this.withStrings([JSON.stringify(clean)], ([p]) => this.check(this.fn('agent_set_tools')(p!), 'agent'));
  }

  agentBegin(messages: ChatMessage[], options: AgentBeginOptions = {}): void {
    this.withStrings([JSON.stringify(messages), JSON.stringify(options)], ([m, o]) => this.check(this.fn('agent_begin')(m!, o!), 'agent'));
  }

  /** Advances the agent turn by one prompt batch or up to maxTokens tokens. */
  agentStep(maxTokens = 1): AgentStepResult {
    this.check(this.fn('agent_step')(maxTokens), 'agent');
    const base = this.fn('agent_result')() >> 2;
    const h = this.module.HEAP32;
    const text = (lenAt: number) => {
      const len = h[base + lenAt]!;
      const ptr = h[base + lenAt + 1]! >>> 0;
      return len > 0 ? this.decoder.decode(this.heapU8().slice(ptr, ptr + len)) : '';
    };
    const event = text(8);
    return {
      state: h[base]!,
      finish: AGENT_FINISH[h[base + 1]!] ?? 'none',
      step: h[base + 2]!,
      nTokens: h[base + 3]!,
      thought: text(4),
      answer: text(6),
      event: event ? (JSON.parse(event) as AgentCoreEvent) : null,
      nPrompt: h[base + 10]!,
      nPast: h[base + 11]!,
      nReused: h[base + 12]!,
      nGenerated: h[base + 13]!,
    };
  }

  /** Hands in the waiting call's result (any JSON-serialisable value) or an error message. */
  agentObserve(outcome: { result: unknown } | { error: string }): void {
    if ('error' in outcome) {
      this.withStrings([null, outcome.error], ([r, e]) => this.check(this.fn('agent_observe')(r!, e!), 'agent'));
    } else {
      const json = JSON.stringify(outcome.result === undefined ? null : outcome.result);
      this.withStrings([json, null], ([r, e]) => this.check(this.fn('agent_observe')(r!, e!), 'agent'));
    }
  }

  /** What the last agentBegin changed to fit the context ("" when nothing). */
  agentNotice(): string {
    return this.module.UTF8ToString(this.fn('agent_notice')());
  }

  agentEnd(): void {
    this.fn('agent_end')();
  }

  /** Runs a tool the core implements (calculator). Throws invalid_argument (a tool error, the
   *  message written for the model) or not_implemented (not a core tool). */
  runCoreTool(name: string, args: Record<string, unknown>): unknown {
    return this.withStrings([name, JSON.stringify(args)], ([n, a]) => JSON.parse(this.takeString(this.fn('tools_run')(n!, a!), name)) as unknown);
  }

  /** The seed's one-shot agent call: one turn with the calculator, run to the end. */
  agentChat(message: string): string {
    return this.withStrings([message], ([p]) => this.takeString(this.fn('agent_chat')(p!), 'agentChat'));
  }

  // ---------------------------------------------------------------- memory ----
  // The store of core-c/src/memory.c (one open at a time, shared with the agent). Tiers by
  // number: 0 core, 1 recall, 2 archival. JSON results are parsed here.

  /** The seed's memory initialisation: a fresh store in RAM (closes the open one). */
  memoryInit(): void {
    this.check(this.fn('memory_init')(), 'memoryInit');
  }

  /** Opens agent `agent`'s store: persistent = the OPFS database (its files must be attached to
   *  the bridge first: memory-fs.ts), else in RAM. Closes the open store first. */
  memoryOpen(agent: string, persistent: boolean): void {
    this.withStrings([agent], ([a]) => this.check(this.fn('memory_open')(a!, persistent ? 1 : 0), 'memoryOpen'));
  }

  memoryClose(): void {
    this.check(this.fn('memory_close')(), 'memoryClose');
  }

  /** The open store's path, ":memory:", or "" when none is open. */
  memoryPath(): string {
    return this.module.UTF8ToString(this.fn('memory_path')());
  }

  memoryCoreSet(label: string, text: string): void {
    this.withStrings([label, text], ([l, t]) => this.check(this.fn('memory_core_set')(l!, t!), 'memoryStore'));
  }

  memoryCoreDelete(label: string): void {
    this.withStrings([label], ([l]) => this.check(this.fn('memory_core_delete')(l!), 'memoryDelete'));
  }

  /** Stores a message; returns its id. time 0 = now. */
  memoryRecallAdd(conversationId: string, role: string, content: string, time = 0): number {
    this.withStrings([conversationId, role, content], ([c, r, t]) => this.check(this.fn('memory_recall_add')(c!, r!, t!, time), 'memoryStore'));
    return this.fn('memory_last_id')();
  }

  /** Stores a fact; returns its id. tags: JSON array text or null. time 0 = now. */
  memoryArchivalInsert(text: string, tagsJson: string | null, time = 0): number {
    this.withStrings([text, tagsJson], ([t, g]) => this.check(this.fn('memory_archival_insert')(t!, g!, time), 'memoryStore'));
    return this.fn('memory_last_id')();
  }

  /** The seed's store: tier 0 core (key = label), 1 recall (key = role), 2 archival (key = tags). */
  memoryStore(tier: number, key: string | null, value: string): number {
    this.withStrings([key, value], ([k, v]) => this.check(this.fn('memory_store')(tier, k!, v!), 'memoryStore'));
    return this.fn('memory_last_id')();
  }

  /** Recall and archival together, best first. */
  memorySearch(query: string, limit = 0): unknown[] {
    return this.withStrings([query], ([q]) => JSON.parse(this.takeString(this.fn('memory_search')(q!, limit), 'memorySearch')) as unknown[]);
  }

  /** One tier (1 recall, 2 archival). */
  memorySearchTier(tier: number, query: string, conversationId: string | null, limit = 0): unknown[] {
    return this.withStrings([query, conversationId], ([q, c]) =>
      JSON.parse(this.takeString(this.fn('memory_search_tier')(tier, q!, c!, limit), 'memorySearch')) as unknown[],
    );
  }

  memoryList(tier: number, offset = 0, limit = 0): unknown[] {
    return JSON.parse(this.takeString(this.fn('memory_list')(tier, offset, limit), 'memoryList')) as unknown[];
  }

  /** Deletes a recall message or archival entry by id. */
  memoryDelete(tier: number, id: number): void {
    this.check(this.fn('memory_delete')(tier, id), 'memoryDelete');
  }

  /** The export document as JSON text. */
  memoryExport(): string {
    return this.takeString(this.fn('memory_export')(), 'memoryExport');
  }

  /** mode 0 replace, 1 merge; returns the report. */
  memoryImport(json: string, mode: 0 | 1): { core: number; recall: number; archival: number; skipped: number } {
    return this.withStrings([json], ([j]) => JSON.parse(this.takeString(this.fn('memory_import')(j!, mode), 'memoryImport')));
  }

  memoryClear(): void {
    this.check(this.fn('memory_clear')(), 'memoryClear');
  }

  /** Counts of the open store (neuronos_memory_stats). */
  memoryDbStats(): Record<string, number> {
    return JSON.parse(this.takeString(this.fn('memory_db_stats')(), 'memoryStats')) as Record<string, number>;
  }

  /** Integrity check (SQLite + FTS5); throws internal naming the problem. */
  memoryCheck(): void {
    this.check(this.fn('memory_check')(), 'memoryCheck');
  }

  free(): void {
    this.fn('free')();
  }

  /** Executes a WebAssembly trap (tests of crash recovery). */
  trap(): void {
    this.fn('test_trap')();
  }
}
