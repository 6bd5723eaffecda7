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
 */
import { NeuronOSError, type NeuronOSErrorCode } from '../../src/errors.js';
import type { ChatOptions, LoadOptions, TokenStream } from '../../src/neuronos.js';
import type { ChatMessage, FinishReason, GenerationResult, GenerationStats, ModelInfo } from '../../src/protocol.js';
import type { ClientLike, ClientOptions } from '../../components/neuronos-chat/neuronos-chat.js';

export interface ReplyScript {
  pieces: string[];
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
    bos: 1,
    eos: 2,
    add_bos: true,
    has_chat_template: true,
    chat_template: '',
    metadata: {},
  };
}

export class FakeStream implements TokenStream {
  readonly result: Promise<GenerationResult>;
  abortCalls = 0;
  /** Pieces handed to the consumer so far. */
  emitted: string[] = [];
  private aborted = false;
  private queue: string[] = [];
  private finished = false;
  private failure: NeuronOSError | null = null;
  private wake: (() => void) | null = null;
  private releaseHold: (() => void) | null = null;
  private released = false;
  private readonly script: ReplyScript;

  constructor(script: ReplyScript) {
    this.script = script;
    this.result = this.run();
    this.result.catch(() => undefined);
  }

  private async run(): Promise<GenerationResult> {
    const s = this.script;
    let text = '';
    try {
      for (let i = 0; i <= s.pieces.length; i++) {
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
      const stats: GenerationStats = {
        promptTokens: 10,
        promptReused: 0,
        generatedTokens: this.emitted.length,
        promptMs: 5,
        generateMs: 50,
        tokensPerSecond: s.tokensPerSecond ?? 42.5,
      };
      return { text, finish: this.aborted ? 'aborted' : (s.finish ?? 'eos'), stats };
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

export interface LoadCall {
  url: string;
  opts: LoadOptions;
}

export interface ChatCall {
  message: string;
  opts: ChatOptions;
  stream: FakeStream;
}

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
  private readonly backend: FakeBackend;

  constructor(backend: FakeBackend, id: number, options: ClientOptions) {
    this.backend = backend;
    this.id = id;
    this.options = options;
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

  chat(message: string, opts: ChatOptions = {}): TokenStream {
    const b = this.backend;
    let script: ReplyScript;
    if (this.disposed || this.crashed) script = { pieces: [], failWith: this.disposed ? 'disposed' : 'wasm_crashed' };
    else script = { ...b.reply(message, this) };
    if (b.crashNextChat) {
      b.crashNextChat = false;
      script.failWith = 'wasm_crashed';
    }
    const stream = new FakeStream(script);
    this.chatCalls.push({ message, opts, stream });
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
