/**
 * A scriptable stand-in for the NeuronOS client, for the element's tests: no worker, no WASM.
 *
 *   const backend = new FakeBackend();
 *   NeuronOSChat.clientFactory = backend.factory;
 *   backend.reply = (message) => ({ pieces: ['Hi', ' there'] });
 *   backend.failLoad('bad.gguf', 'http_error');
 *
 * Everything is driven by promises and zero-delay timers, never by wall-clock expectations:
 * a reply can be held after N pieces (`holdAfter`) until the test calls `release()` or the
 * element aborts it, and loads can be held (`holdLoads`) to look at the progress display.
 *
 * Agent turns (the client API of the agent issue: `tools`, `onThought`, `onStep`, `onToolCall`,
 * `registerTool`): a script's `steps` run before the answer, each streaming its thought pieces,
 * then making a tool call (which awaits `onToolCall`, then runs a registered page tool's
 * handler or reports the scripted result/error) or an invalid output; then the answer step
 * streams `answerThought`, the answer (`pieces`, through the stream) and reports `answer`.
 *
 *   backend.reply = () => ({
 *     steps: [{ thought: ['I should ', 'add.'], call: { tool: 'calculator', args: { expression: '2+2' }, result: 4 } }],
 *     answerThought: ['Done.'],
 *     pieces: ['It is ', '4.'],
 *   });
 *
 * Like the real client, a turn is a plain chat (no steps, no callbacks) when `tools` is [] and no
 * page tool is registered.
 *
 * Memory (`client.memory`, the memory issue's client API): every client has a FakeMemory. Stored
 * memories live on the backend per agent name (the "OPFS"), so a new client sees them; a memory
 * opened with `persist: false` (or while `backend.memoryNotice` is set, like another tab holding
 * it) is a private copy in RAM. Every call is recorded in `memory.calls`.
 *
 *   backend.seedMemory('default', { archival: [{ text: 'The visitor likes tea', tags: ['food'] }] });
 *   backend.memoryNotice = { code: 'memory_locked', message: 'Another tab has this memory open.' };
 *   backend.memoryFail.delete = 'quota_exceeded';
 */
import { NeuronOSError, type NeuronOSErrorCode } from '../../src/errors.js';
import type { LoadOptions, TokenStream } from '../../src/neuronos.js';
import type { ChatMessage, FinishReason, GenerationStats, ModelInfo } from '../../src/protocol.js';
import { BUILTIN_TOOLS, TOOL_GROUPS, type AgentFinish, type AgentStepEvent, type PageTool, type ToolCallRequest } from '../../src/agent-types.js';
import type {
  AgentChatOptions,
  AgentTurnResult,
  ClientLike,
  ClientOptions,
  MemoryClientLike,
  MemoryItem,
  MemoryOpenResult,
  MemoryStats,
  MemoryTier,
} from '../../components/neuronos-chat/neuronos-chat.js';

/** One scripted agent step before the answer. */
export interface FakeStep {
  /** Thought pieces, streamed through onThought. */
  thought?: string[];
  /** After the thought, wait for `release()` (or an abort) before going on. */
  hold?: boolean;
  /**
   * A tool call: onStep 'action', then onToolCall; refused → onStep 'refused'; allowed → the
   * registered page tool's handler runs (unless `result`/`error` is scripted) → 'observation'.
   * `confirm`/`source` default from the registry (a page tool's `confirm`; 'page' or 'builtin').
   */
  call?: { tool: string; args?: Record<string, unknown>; result?: unknown; error?: string; confirm?: boolean; source?: 'builtin' | 'page' };
  /** The model's output was not a valid call: onStep 'invalid' with this error. */
  invalid?: string;
}

export interface ReplyScript {
  /** The reply's pieces (in an agent turn: the answer's). */
  pieces: string[];
  /** Agent steps before the answer (ignored in a plain turn). */
  steps?: FakeStep[];
  /** The answer step's thought pieces. */
  answerThought?: string[];
  /** End at the step limit after the steps, without an answer. */
  stepLimit?: boolean;
  /** Milliseconds between pieces (default 0: one macrotask each). */
  delayMs?: number;
  /** After this many pieces, wait for `release()` (or an abort) before going on. */
  holdAfter?: number;
  /** The finish reason of a reply that was not aborted (default 'eos'). */
  finish?: FinishReason;
  /** After the pieces, fail with this error code instead of finishing. */
  failWith?: NeuronOSErrorCode;
  /** Pretend the worker is stuck: abort() is recorded but does not end the stream. */
  ignoreAbort?: boolean;
  tokensPerSecond?: number;
}

const MESSAGES: Partial<Record<NeuronOSErrorCode, (url: string) => string>> = {
  http_error: (url) => `the model URL answered HTTP 404 Not Found: ${url}`,
  network: (url) => `could not download ${url}: Failed to fetch (offline, or the host does not allow cross-origin requests?)`,
  model_invalid: (url) => `${url} is a web page (HTML), not a GGUF model: check the URL (on Hugging Face use /resolve/, not /blob/)`,
  wasm_crashed: () => 'the WebAssembly module trapped: unreachable',
  worker_failed: () => 'the worker failed to start: script error (CSP, CORS or a missing file?)',
};

/** An error as the runtime makes them; the message carries a fake stack line the UI must not show. */
export function fakeError(code: NeuronOSErrorCode, url = '', op = 'loadModel'): NeuronOSError {
  const msg = (MESSAGES[code] ?? (() => `${code} happened`))(url);
  return new NeuronOSError(code, `${msg}\n    at fakeFrame (fake-client.ts:1:1)`, op);
}

const tick = (ms = 0) => new Promise<void>((r) => setTimeout(r, ms));

function info(url: string, contextSize: number | undefined, threads: number | undefined): ModelInfo {
  const name = url.split('/').pop()!.replace(/\.gguf.*$/, '');
  return {
    name: `Fake ${name}`,
    architecture: 'llama',
    description: 'fake model',
    n_params: 1000,
    size_bytes: 1000,
    n_vocab: 100,
    n_ctx_train: 4096,
    n_ctx: contextSize ?? 2048,
    n_threads: threads ?? 1,
    repacked_bytes: 0,
    bos: 1,
    eos: 2,
    add_bos: true,
    has_chat_template: true,
    chat_template: '',
    metadata: {},
  };
}

/** What an agent turn of the fake sees of its client. */
interface AgentContext {
  opts: AgentChatOptions;
  pageTools: Map<string, PageTool>;
}

const ABORTED = Symbol('aborted');

export class FakeStream implements TokenStream {
  readonly result: Promise<AgentTurnResult>;
  abortCalls = 0;
  /** Pieces handed to the consumer so far. */
  emitted: string[] = [];
  /** Whether this turn ran as an agent turn. */
  readonly agent: boolean;
  /**
   * Every onToolCall request and what its answer resolved to (undefined while pending; recorded
   * even when the turn was aborted meanwhile).
   */
  toolCalls: Array<{ request: ToolCallRequest; allowed: boolean | undefined }> = [];
  /** Step events sent through onStep. */
  steps: AgentStepEvent[] = [];
  /** Page tool handler calls: tool and args. */
  handlerCalls: Array<{ tool: string; args: Record<string, unknown> }> = [];
  private aborted = false;
  private abortWaiters: Array<() => void> = [];
  private queue: string[] = [];
  private finished = false;
  private failure: NeuronOSError | null = null;
  private wake: (() => void) | null = null;
  private releaseHold: (() => void) | null = null;
  private released = false;
  private readonly script: ReplyScript;
  private readonly ctx: AgentContext | null;

  constructor(script: ReplyScript, agent: AgentContext | null = null) {
    this.script = script;
    this.ctx = agent;
    this.agent = agent !== null;
    this.result = this.run();
    this.result.catch(() => undefined);
  }

  /** Whether a tool call waits for onToolCall's answer. */
  get awaitingToolCall(): boolean {
    return this.toolCalls.some((c) => c.allowed === undefined) && !this.aborted;
  }

  /** `p`, or ABORTED as soon as the stream is aborted. */
  private orAbort<T>(p: Promise<T>): Promise<T | typeof ABORTED> {
    if (this.aborted) return Promise.resolve(ABORTED);
    return Promise.race([p, new Promise<typeof ABORTED>((r) => this.abortWaiters.push(() => r(ABORTED)))]);
  }

  private step(e: AgentStepEvent): void {
    this.steps.push(e);
    this.ctx?.opts.onStep?.(e);
  }

  private async thought(step: number, pieces: string[] | undefined): Promise<string> {
    let thought = '';
    for (const piece of pieces ?? []) {
      await tick(this.script.delayMs ?? 0);
      if (this.aborted) break;
      thought += piece;
      this.ctx?.opts.onThought?.(step, piece);
    }
    return thought;
  }

  private async hold(): Promise<void> {
    this.released = false;
    await new Promise<void>((r) => (this.releaseHold = r));
    this.releaseHold = null;
    this.released = false; // a later hold point holds again
  }

  /** The scripted steps before the answer; returns how many ran. */
  private async runSteps(): Promise<number> {
    const ctx = this.ctx!;
    const steps = this.script.steps ?? [];
    for (let i = 0; i < steps.length; i++) {
      const st = steps[i]!;
      const thought = await this.thought(i, st.thought);
      if (st.hold && !this.aborted) await this.hold();
      if (this.aborted) return i;
      if (st.invalid !== undefined) {
        this.step({ step: i, kind: 'invalid', thought, error: st.invalid });
        continue;
      }
      if (!st.call) continue;
      const { tool } = st.call;
      const args = st.call.args ?? {};
      const page = ctx.pageTools.get(tool);
      const request: ToolCallRequest = {
        step: i,
        tool,
        args,
        confirm: st.call.confirm ?? page?.confirm ?? false,
        source: st.call.source ?? (page ? 'page' : 'builtin'),
      };
      this.step({ step: i, kind: 'action', thought, tool, args });
      const record = { request, allowed: undefined as boolean | undefined };
      this.toolCalls.push(record);
      const asked = Promise.resolve(ctx.opts.onToolCall ? ctx.opts.onToolCall(request) : true);
      void asked.then((v) => (record.allowed = v === true));
      const answer = await this.orAbort(asked);
      if (answer === ABORTED) return i;
      if (answer !== true) {
        this.step({ step: i, kind: 'refused', thought, tool, args, error: 'the call was refused' });
        continue;
      }
      let result: unknown;
      let error: string | undefined;
      if ('result' in st.call || 'error' in st.call) {
        result = st.call.result;
        error = st.call.error;
      } else if (page) {
        this.handlerCalls.push({ tool, args });
        try {
          const r = await this.orAbort(Promise.resolve(page.handler(args)));
          if (r === ABORTED) return i;
          result = r;
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
        }
      } else result = `result of ${tool}`;
      await tick();
      if (this.aborted) return i;
      this.step(error !== undefined ? { step: i, kind: 'observation', thought, tool, args, error } : { step: i, kind: 'observation', thought, tool, args, result });
    }
    return steps.length;
  }

  private async run(): Promise<AgentTurnResult> {
    const s = this.script;
    let text = '';
    let answerStep = 0;
    let answerThought = '';
    let agentFinish: AgentFinish | undefined;
    try {
      if (this.ctx) {
        answerStep = await this.runSteps();
        if (!this.aborted && s.stepLimit) agentFinish = 'step_limit';
        else if (!this.aborted) answerThought = await this.thought(answerStep, s.answerThought);
      }
      for (let i = 0; i <= s.pieces.length && !agentFinish; i++) {
        if (s.holdAfter === i && !this.released && !this.aborted) {
          await new Promise<void>((r) => (this.releaseHold = r));
        }
        if (this.aborted || i === s.pieces.length) break;
        await tick(s.delayMs ?? 0);
        if (this.aborted) break;
        const piece = s.pieces[i]!;
        text += piece;
        this.queue.push(piece);
        this.emitted.push(piece);
        this.wake?.();
      }
      await tick();
      if (s.failWith && !this.aborted) throw fakeError(s.failWith, '', 'chat');
      if (this.ctx && !this.aborted && !agentFinish) {
        this.step({ step: answerStep, kind: 'answer', thought: answerThought, answer: text });
        agentFinish = 'answer';
      }
      const stats: GenerationStats = {
        promptTokens: 10,
        promptReused: 0,
        generatedTokens: this.emitted.length,
        promptMs: 5,
        generateMs: 50,
        tokensPerSecond: s.tokensPerSecond ?? 42.5,
      };
      const result: AgentTurnResult = { text, finish: this.aborted ? 'aborted' : (s.finish ?? 'eos'), stats };
      if (this.ctx) {
        result.steps = [...this.steps];
        result.agentFinish = this.aborted ? 'aborted' : (agentFinish ?? 'answer');
      }
      return result;
    } catch (e) {
      this.failure = NeuronOSError.from(e, 'internal');
      throw this.failure;
    } finally {
      this.finished = true;
      this.wake?.();
    }
  }

  /** Lets a held reply go on. */
  release(): void {
    this.released = true;
    this.releaseHold?.();
  }

  abort(): void {
    this.abortCalls++;
    if (this.script.ignoreAbort) return;
    this.forceAbort();
  }

  /** Ends the stream as aborted even when the script ignores abort() (dispose). */
  forceAbort(): void {
    this.aborted = true;
    this.releaseHold?.();
    const w = this.abortWaiters;
    this.abortWaiters = [];
    for (const r of w) r();
  }

  /** Whether a reply is waiting at its hold point. */
  get holding(): boolean {
    return this.releaseHold !== null && !this.released && !this.aborted;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    for (;;) {
      while (this.queue.length) yield this.queue.shift()!;
      if (this.finished) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

/** One agent's memory: recall is kept newest first (as `list('recall')` returns it). */
export interface FakeMemoryData {
  core: MemoryItem[];
  recall: MemoryItem[];
  archival: MemoryItem[];
  nextId: number;
}

/** What a seed or an import may give per tier (tier and id are filled in). */
export type MemorySeed = Partial<Record<MemoryTier, Array<Partial<MemoryItem> & { text: string }>>>;

export type MemoryOp = 'open' | 'list' | 'search' | 'delete' | 'export' | 'import' | 'clear' | 'stats';

/** The core blocks a new (or cleared) memory starts with. */
export const DEFAULT_CORE: ReadonlyArray<{ label: string; text: string }> = [
  { label: 'persona', text: 'I am a helpful assistant that runs in this browser.' },
  { label: 'human', text: '' },
];

export const MEMORY_EXPORT_FORMAT = 'neuronos-memory';

function defaultMemory(): FakeMemoryData {
  return { core: DEFAULT_CORE.map((b) => ({ tier: 'core', id: b.label, label: b.label, text: b.text })), recall: [], archival: [], nextId: 1 };
}

function copyData(d: FakeMemoryData): FakeMemoryData {
  return structuredClone(d);
}

/** Adds seeded/imported items to `data` (core blocks by label: replaced). */
function addItems(data: FakeMemoryData, seed: MemorySeed): void {
  for (const b of seed.core ?? []) {
    const label = String(b.label ?? b.id);
    data.core = data.core.filter((c) => c.label !== label);
    data.core.push({ ...b, tier: 'core', id: label, label, text: b.text });
  }
  for (const tier of ['archival', 'recall'] as const) {
    const items = (seed[tier] ?? []).map((i) => ({ ...i, tier, id: data.nextId++, text: i.text }) as MemoryItem);
    // recall newest first: seeded oldest first, so the last seeded is listed first
    data[tier] = tier === 'recall' ? [...items.reverse(), ...data[tier]] : [...data[tier], ...items];
  }
}

export class FakeMemory implements MemoryClientLike {
  /** Every call, in order. */
  calls: Array<{ op: MemoryOp; args: unknown[] }> = [];
  /** The open agent (null: none; after a restart the element must open it again). */
  agent: string | null = null;
  persistent = false;
  private ram: FakeMemoryData | null = null;
  private readonly backend: FakeBackend;

  constructor(backend: FakeBackend) {
    this.backend = backend;
  }

  callsOf(op: MemoryOp): unknown[][] {
    return this.calls.filter((c) => c.op === op).map((c) => c.args);
  }

  private async enter(op: MemoryOp, args: unknown[]): Promise<FakeMemoryData | null> {
    this.calls.push({ op, args });
    await tick();
    const code = this.backend.memoryFail[op];
    if (code) throw fakeError(code, '', `memory.${op}`);
    if (op === 'open') return null;
    if (this.agent === null) throw new NeuronOSError('invalid_argument', 'no memory is open', `memory.${op}`);
    return this.persistent ? this.backend.memoryOf(this.agent) : this.ram!;
  }

  async open(agent: string, opts: { persist?: boolean } = {}): Promise<MemoryOpenResult> {
    await this.enter('open', [agent, opts]);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(agent)) throw new NeuronOSError('invalid_argument', `bad agent name ${agent}`, 'memory.open');
    const notice = this.backend.memoryNotice;
    this.agent = agent;
    this.persistent = (opts.persist ?? true) && !notice;
    // in RAM: a copy of what is stored (another tab holds it) or a fresh memory (persist: false)
    this.ram = this.persistent ? null : opts.persist === false ? defaultMemory() : copyData(this.backend.memoryOf(agent));
    const r: MemoryOpenResult = { agent, persistent: this.persistent };
    if (notice) r.notice = { ...notice };
    return r;
  }

  async list(tier: MemoryTier, opts: { offset?: number; limit?: number } = {}): Promise<MemoryItem[]> {
    const d = (await this.enter('list', [tier, opts]))!;
    const offset = opts.offset ?? 0;
    return structuredClone(d[tier].slice(offset, offset + (opts.limit ?? 50)));
  }

  async search(query: string, opts: { limit?: number } = {}): Promise<MemoryItem[]> {
    const d = (await this.enter('search', [query, opts]))!;
    const q = query.toLowerCase();
    const hits = [...d.core, ...d.archival, ...d.recall].filter((i) => i.text.toLowerCase().includes(q) || (i.label ?? '').toLowerCase().includes(q));
    return structuredClone(hits.slice(0, opts.limit ?? 20).map((i, n) => ({ ...i, score: 1 / (n + 1) })));
  }

  async delete(tier: MemoryTier, id: number | string): Promise<void> {
    const d = (await this.enter('delete', [tier, id]))!;
    const before = d[tier].length;
    d[tier] = d[tier].filter((i) => i.id !== id);
    if (d[tier].length === before) throw new NeuronOSError('not_found', `no ${tier} item ${id}`, 'memory.delete');
  }

  async export(): Promise<object> {
    const d = (await this.enter('export', []))!;
    return { format: MEMORY_EXPORT_FORMAT, version: 1, agent: this.agent, exported: 1_700_000_000, core: structuredClone(d.core), archival: structuredClone(d.archival), recall: structuredClone(d.recall) };
  }

  async import(doc: object, opts: { mode?: 'replace' | 'merge' } = {}): Promise<void> {
    const d = (await this.enter('import', [doc, opts]))!;
    const x = doc as { format?: unknown; core?: MemoryItem[]; archival?: MemoryItem[]; recall?: MemoryItem[] };
    if (x.format !== MEMORY_EXPORT_FORMAT) throw new NeuronOSError('invalid_argument', 'not a NeuronOS memory export', 'memory.import');
    if ((opts.mode ?? 'merge') === 'replace') {
      const fresh = defaultMemory();
      fresh.nextId = d.nextId;
      Object.assign(d, fresh);
    }
    // (recall in the document is newest first, as exported)
    addItems(d, { core: x.core ?? [], archival: x.archival ?? [], recall: [...(x.recall ?? [])].reverse() });
  }

  async clear(): Promise<void> {
    const d = (await this.enter('clear', []))!;
    const fresh = defaultMemory();
    fresh.nextId = d.nextId;
    Object.assign(d, fresh);
  }

  async stats(): Promise<MemoryStats> {
    const d = (await this.enter('stats', []))!;
    return { core: d.core.length, recall: d.recall.length, archival: d.archival.length };
  }
}

export interface LoadCall {
  url: string;
  opts: LoadOptions;
}

export interface ChatCall {
  message: string;
  opts: AgentChatOptions;
  stream: FakeStream;
  /** An agent turn (tools enabled or page tools registered) rather than a plain chat. */
  agent: boolean;
}

const TOOL_NAME = /^[a-z][a-z0-9_]{0,47}$/;
const KNOWN_TOOLS = new Set<string>([...BUILTIN_TOOLS, ...Object.keys(TOOL_GROUPS)]);

export class FakeClient implements ClientLike {
  readonly variant = 'st' as const;
  readonly threads = 1;
  history: ChatMessage[] = [];
  readonly id: number;
  readonly options: ClientOptions;
  loadCalls: LoadCall[] = [];
  chatCalls: ChatCall[] = [];
  restartCalls = 0;
  disposeCalls = 0;
  resetCalls = 0;
  disposed = false;
  /** Set by a simulated crash, cleared by restart(). */
  crashed = false;
  /** Page tools, by name (kept across restart(), as the real client's registry is). */
  pageTools = new Map<string, PageTool>();
  /** Names passed to registerTool / unregisterTool, in order. */
  registerCalls: string[] = [];
  unregisterCalls: string[] = [];
  /** The memory API (set to undefined in a test for a client without memory). */
  memory: FakeMemory | undefined;
  private readonly backend: FakeBackend;

  constructor(backend: FakeBackend, id: number, options: ClientOptions) {
    this.backend = backend;
    this.id = id;
    this.options = options;
    this.memory = new FakeMemory(backend);
  }

  async loadModel(url: string, opts: LoadOptions = {}): Promise<ModelInfo> {
    this.loadCalls.push({ url, opts });
    if (this.disposed) throw new NeuronOSError('disposed', 'this NeuronOS instance was disposed', 'loadModel');
    const b = this.backend;
    opts.onProgress?.({ phase: 'download', loaded: 0, total: 4096, percent: 0 });
    await tick();
    opts.onProgress?.({ phase: 'download', loaded: 2048, total: 4096, percent: 50 });
    if (b.holdLoads) await b.waitForLoadRelease(opts.signal);
    await tick();
    if (opts.signal?.aborted) throw new NeuronOSError('aborted', 'loading was cancelled', 'loadModel');
    const failure = b.takeLoadFailure(url);
    if (failure) {
      if (failure === 'wasm_crashed') this.crashed = true;
      throw fakeError(failure, url);
    }
    if (this.crashed) throw fakeError('wasm_crashed');
    opts.onProgress?.({ phase: 'download', loaded: 4096, total: 4096, percent: 100 });
    opts.onProgress?.({ phase: 'load', loaded: 0, total: 4096, percent: 0 });
    await tick();
    this.history = [];
    opts.onProgress?.({ phase: 'ready', loaded: 4096, total: 4096, percent: 100 });
    return info(url, opts.contextSize, opts.threads);
  }

  /** Checks a page tool the way the client contract says (invalid_argument). */
  registerTool(tool: PageTool): void {
    this.registerCalls.push(tool?.name);
    const fail = (why: string) => new NeuronOSError('invalid_argument', why, 'registerTool');
    if (!tool || typeof tool.name !== 'string' || !TOOL_NAME.test(tool.name)) throw fail(`bad tool name '${tool?.name}'`);
    if ((BUILTIN_TOOLS as readonly string[]).includes(tool.name)) throw fail(`'${tool.name}' clashes with a built-in tool`);
    if (this.pageTools.has(tool.name)) throw fail(`'${tool.name}' is already registered`);
    if (typeof tool.handler !== 'function') throw fail(`'${tool.name}' has no handler`);
    const p = tool.parameters as { type?: unknown; properties?: unknown } | undefined;
    if (!p || p.type !== 'object' || !p.properties || typeof p.properties !== 'object') throw fail(`'${tool.name}': parameters must be {type: 'object', properties: {…}}`);
    this.pageTools.set(tool.name, tool);
  }

  unregisterTool(name: string): boolean {
    this.unregisterCalls.push(name);
    return this.pageTools.delete(name);
  }

  chat(message: string, opts: AgentChatOptions = {}): TokenStream {
    const b = this.backend;
    const unknown = (opts.tools ?? []).filter((t) => !KNOWN_TOOLS.has(t));
    if (unknown.length) throw new NeuronOSError('invalid_argument', `unknown tools: ${unknown.join(', ')}`, 'chat');
    let script: ReplyScript;
    if (this.disposed || this.crashed) script = { pieces: [], failWith: this.disposed ? 'disposed' : 'wasm_crashed' };
    else script = { ...b.reply(message, this) };
    if (b.crashNextChat) {
      b.crashNextChat = false;
      script.failWith = 'wasm_crashed';
    }
    const agent = !(opts.tools && opts.tools.length === 0 && this.pageTools.size === 0);
    const stream = new FakeStream(script, agent ? { opts, pageTools: this.pageTools } : null);
    this.chatCalls.push({ message, opts, stream, agent });
    b.onStream?.(stream, this);
    stream.result.then(
      (r) => this.history.push({ role: 'user', content: message }, { role: 'assistant', content: r.text }),
      () => {
        if (script.failWith === 'wasm_crashed') this.crashed = true;
      },
    );
    return stream;
  }

  resetChat(): void {
    this.resetCalls++;
    this.history = [];
  }

  async restart(): Promise<void> {
    this.restartCalls++;
    await tick();
    if (this.backend.failRestart) throw fakeError('worker_failed', '', 'restart');
    for (const c of this.chatCalls) c.stream.forceAbort();
    this.crashed = false;
    this.history = [];
    if (this.memory) this.memory.agent = null; // the new worker has no memory open
  }

  dispose(): void {
    this.disposeCalls++;
    this.disposed = true;
    for (const c of this.chatCalls) c.stream.forceAbort();
  }

  /** The most recent stream. */
  get lastStream(): FakeStream | undefined {
    return this.chatCalls.at(-1)?.stream;
  }
}

export class FakeBackend {
  clients: FakeClient[] = [];
  factoryCalls: ClientOptions[] = [];
  /** The reply to a message (default: echoes it). */
  reply: (message: string, client: FakeClient) => ReplyScript = (message) => ({ pieces: ['You said: ', message] });
  /** Called for every new stream. */
  onStream: ((s: FakeStream, c: FakeClient) => void) | null = null;
  /** When set, the factory rejects with this code. */
  factoryError: NeuronOSErrorCode | null = null;
  /** Loads wait at 50% until `releaseLoads()`. */
  holdLoads = false;
  /** The next chat() fails with wasm_crashed after its pieces. */
  crashNextChat = false;
  /** restart() rejects with worker_failed. */
  failRestart = false;
  /** memory.open() answers with this notice and opens the memory in RAM (e.g. another tab has it). */
  memoryNotice: { code: string; message: string } | null = null;
  /** memory.<op>() rejects with this code. */
  memoryFail: Partial<Record<MemoryOp, NeuronOSErrorCode>> = {};
  /** The stored memories ("OPFS"), by agent name. */
  readonly memories = new Map<string, FakeMemoryData>();
  private loadFailures: Array<{ match: string; code: NeuronOSErrorCode; times: number }> = [];
  private loadWaiters: Array<() => void> = [];

  /** loadModel of a URL containing `match` fails with `code` (`times` times; default always). */
  failLoad(match: string, code: NeuronOSErrorCode, times = Infinity): void {
    this.loadFailures.push({ match, code, times });
  }

  takeLoadFailure(url: string): NeuronOSErrorCode | null {
    const f = this.loadFailures.find((x) => url.includes(x.match) && x.times > 0);
    if (!f) return null;
    f.times--;
    return f.code;
  }

  waitForLoadRelease(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.loadWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  releaseLoads(): void {
    this.holdLoads = false;
    const w = this.loadWaiters;
    this.loadWaiters = [];
    for (const r of w) r();
  }

  readonly factory = async (opts: ClientOptions): Promise<ClientLike> => {
    this.factoryCalls.push(opts);
    await tick();
    if (this.factoryError) throw fakeError(this.factoryError, '', 'create');
    const c = new FakeClient(this, this.clients.length + 1, opts);
    this.clients.push(c);
    return c;
  };

  /** The stored memory of `agent` (a new one with the default core blocks if none). */
  memoryOf(agent: string): FakeMemoryData {
    let d = this.memories.get(agent);
    if (!d) this.memories.set(agent, (d = defaultMemory()));
    return d;
  }

  /** Stores items in `agent`'s memory (recall: oldest first; listed newest first). */
  seedMemory(agent: string, seed: MemorySeed): FakeMemoryData {
    const d = this.memoryOf(agent);
    addItems(d, seed);
    return d;
  }

  get lastClient(): FakeClient | undefined {
    return this.clients.at(-1);
  }

  get loadCalls(): LoadCall[] {
    return this.clients.flatMap((c) => c.loadCalls);
  }

  get chatCalls(): ChatCall[] {
    return this.clients.flatMap((c) => c.chatCalls);
  }
}
