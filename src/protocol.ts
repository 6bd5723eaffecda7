/**
 * The worker protocol: every message between the NeuronOS client (page) and the inference
 * worker, both directions. Shared by src/neuronos.ts and src/worker/worker.ts.
 *
 * Worker → client, once at start-up:
 *   { type: 'ready', version, variant, threads, simd, relaxedSimd, abort? }
 *     variant 'mt' (threaded build; the page is cross-origin isolated) or 'st'; relaxedSimd: the
 *     threaded build with relaxed-SIMD kernels (where the browser validates relaxed SIMD).
 *     abort: in the threaded build, the WASM memory (a SharedArrayBuffer) and the int32 index of
 *     the core's abort flag, so the client can stop a running computation without waiting for
 *     the worker's event loop.
 *   { type: 'fatal', error } when the module cannot start at all.
 *
 * Client → worker, requests: { id, type, args } — `type` is one of RequestMap's keys.
 * Worker → client, exactly one reply per request:
 *   { id, type: 'result', result }            (RequestMap[type]['result'])
 *   { id, type: 'error', error: {code, message, op} }
 * Streams, before the reply: { id, type: 'event', event, data } — EventMap.
 *
 * Client → worker, out of band: { type: 'abort', target: id } stops request `target`
 * (a generation ends with finish 'aborted'; a load is cancelled). The reply still comes.
 *
 * Tools (agent turns): the worker asks the client before every tool call and runs page tools on
 * the page: worker → client { id, type: 'call', request, mode, tool, args, step, confirm, source }
 *   mode 'approve': may this call run? (the element's cancelable `neuronos-tool-call`, a
 *                   confirmation prompt) → result true/false
 *   mode 'run':     run the page tool's handler → result: its return value
 * client → worker { id, type: 'call-result', result } or { id, type: 'call-error', error }. `id` is
 * the call's own id; `request` the agent request it belongs to. The worker stops waiting after
 * the tool's timeout (an error observation) and ignores a late answer.
 *
 * Buffers (model bytes) are transferred, never copied.
 */
import type { NeuronOSErrorCode } from './errors.js';
import type { AgentFinish, AgentStepEvent, ToolSpec } from './agent-types.js';
import type { ChatMessage, FinishReason, ModelInfo, SamplingOptions } from './worker/core.js';
import type {
  ArchivalEntry,
  MemoryExport,
  MemoryImportReport,
  MemoryItem,
  MemoryListItem,
  MemoryOpenResult,
  MemorySearchHit,
  MemoryStats,
  MemoryStoreResult,
  MemoryTier,
  RecallMessage,
} from './memory-types.js';

export type { ChatMessage, FinishReason, ModelInfo, SamplingOptions };

export const PROTOCOL_VERSION = 1;

export interface ErrorData {
  code: NeuronOSErrorCode;
  message: string;
  op?: string;
}

export interface GenerationStats {
  /** Prompt tokens, of which `promptReused` came from the KV cache. */
  promptTokens: number;
  promptReused: number;
  generatedTokens: number;
  promptMs: number;
  generateMs: number;
  /** Generated tokens per second (after the prompt). */
  tokensPerSecond: number;
}

export interface GenerationResult {
  text: string;
  finish: FinishReason;
  stats: GenerationStats;
}

/** Where the model comes from. The worker fetches URLs itself, so the bytes land in WASM memory
 * once (zero-copy loading); Blobs are read in the worker; buffers are transferred. */
export type ModelSourceData =
  | { kind: 'url'; url: string; integrity?: string; cache?: 'prefer' | 'revalidate' | 'off'; retries?: number; stallMs?: number }
  | { kind: 'blob'; blob: Blob; name: string }
  | { kind: 'buffers'; parts: ArrayBuffer[] };

export interface DeliveryProgress {
  /** download: from the network; cache: from the OPFS cache; read: a local file; load: llama.cpp
   *  sets the model up; ready: done. */
  phase: 'download' | 'cache' | 'read' | 'load' | 'ready';
  loaded: number;
  /** 0 when unknown. */
  total: number;
  /** 0–100; -1 when the total is unknown. */
  percent: number;
  bytesPerSecond?: number;
}

export interface LoadResult {
  info: ModelInfo;
  /** The model came from the OPFS cache (no network). */
  fromCache: boolean;
  /** Bytes of model in WASM memory. */
  bytes: number;
  /** Milliseconds spent delivering the bytes and in llama.cpp's load. */
  deliverMs: number;
  loadMs: number;
  /** Size of the worker's WebAssembly memory after the load (reserved; includes headroom). */
  wasmMemoryBytes: number;
  /** The heap's high-water mark after the load: the most WASM memory ever in use (model,
   *  KV cache, llama.cpp's buffers, and anything the load allocated and freed). */
  wasmHeapPeakBytes: number;
}

export interface LoadArgs {
  source: ModelSourceData;
  /** Context size in tokens (0 = the model's own, capped at 4096). */
  contextSize?: number;
  /** Threads (threaded build only); default: navigator.hardwareConcurrency, at most 8. */
  threads?: number;
  /** false: weights keep the file's layout (default true: Q4_0 is repacked in place into the
   *  4x4 interleaved layout that the gemv/gemm kernels read) */
  repack?: boolean;
}

export interface AgentArgs {
  /** The conversation, the new user message last (no system message: see `system`). */
  messages: ChatMessage[];
  system?: string;
  template?: string;
  sampling?: SamplingOptions;
  /** Enabled tools: built-in names, and page tool specs (their handlers stay on the page). */
  tools: (string | (ToolSpec & { confirm?: boolean; timeoutMs?: number }))[];
  /** Model outputs per turn (default 8). */
  maxSteps?: number;
  maxThoughtChars?: number;
  maxAnswerChars?: number;
  maxStringChars?: number;
  maxArrayItems?: number;
  /** The agent's name: its private folder for the file tools (default "default"). */
  agent?: string;
  /** Default wait for a page tool (ms, default 30 000); a tool's own timeoutMs wins. */
  toolTimeoutMs?: number;
  /** Recall memory's conversation id (default "default"). */
  conversation?: string;
  /** A plain chat turn through the same context management and memory: no tools, no JSON. */
  plain?: boolean;
}

export interface AgentResult extends GenerationResult {
  /** The answer (also in `text`). */
  agentFinish: AgentFinish;
  steps: AgentStepEvent[];
  /** The turn's assistant message as the model wrote it (the final step's JSON), for the
   *  conversation's history. */
  assistant: string;
}

export interface RequestMap {
  load: { args: LoadArgs; result: LoadResult };
  generate: { args: { prompt: string; sampling?: SamplingOptions }; result: GenerationResult };
  chat: { args: { messages: ChatMessage[]; template?: string; sampling?: SamplingOptions }; result: GenerationResult };
  /** One agent turn (ReAct with tools); `token` events carry the answer, `thought` and `step`
   *  events the rest. */
  agent: { args: AgentArgs; result: AgentResult };
  /** The built-in tools' specs. */
  builtinTools: { args: Record<string, never>; result: ToolSpec[] };
  info: { args: Record<string, never>; result: ModelInfo | null };
  tokenize: { args: { text: string; addSpecial?: boolean }; result: number[] };
  applyTemplate: { args: { messages: ChatMessage[]; template?: string; addAssistant?: boolean }; result: string };
  unload: { args: Record<string, never>; result: null };
  /** Test support: executes a WebAssembly trap inside the module. */
  trap: { args: Record<string, never>; result: null };

  // ---- memory (src/memory-types.ts; the worker side is src/worker/memory.ts). No model needed.
  /** Opens agent `agent`'s memory, closing the open one (its OPFS handles and Web Lock are let
   *  go). `persist`: the OPFS database `neuronos/memory/<agent>.db`, falling back to RAM with a
   *  notice (also sent as a `notice` event while waiting for another tab, `memory_waiting`).
   *  `waitMs`: how long to wait for another tab holding it (default 3000). */
  memoryOpen: { args: { agent: string; persist: boolean; waitMs?: number }; result: MemoryOpenResult };
  /** Closes the memory; the lock and the files are released for other tabs. */
  memoryClose: { args: Record<string, never>; result: null };
  /** Stores one item; the reply comes once it is durable. */
  memoryStore: { args: { item: MemoryItem }; result: MemoryStoreResult };
  /** Full-text search: both searchable tiers merged, or one (`tier`). */
  memorySearch: {
    args: { query: string; limit?: number; tier?: 'recall' | 'archival'; conversation_id?: string };
    result: MemorySearchHit[] | RecallMessage[] | ArchivalEntry[];
  };
  /** A page of a tier. */
  memoryList: { args: { tier: MemoryTier; offset?: number; limit?: number }; result: MemoryListItem[] };
  /** Deletes a message / entry by id, or a core block by label. */
  memoryDelete: { args: { tier: MemoryTier; id: number | string }; result: null };
  /** The export document. */
  memoryExport: { args: Record<string, never>; result: MemoryExport };
  /** Imports an export document (object or JSON text); all or nothing. */
  memoryImport: { args: { doc: MemoryExport | object | string; mode: 'replace' | 'merge' }; result: MemoryImportReport };
  /** Forgets everything in the open memory. */
  memoryClear: { args: Record<string, never>; result: null };
  /** Counts, and where the memory lives. */
  memoryStats: { args: Record<string, never>; result: MemoryStats };
  /** Integrity check of the open memory (SQLite + FTS5); an `internal` error names the problem. */
  memoryCheck: { args: Record<string, never>; result: null };
}

export type RequestType = keyof RequestMap;

export interface EventMap {
  /** One piece of generated text (whole UTF-8 characters). */
  token: { piece: string; nGenerated: number };
  /** Progress of the model's delivery and load. */
  progress: DeliveryProgress;
  /** Progress of prompt evaluation. */
  prompt: { done: number; total: number };
  /** Something the visitor should know that is not an error (e.g. the model runs uncached). */
  notice: { code: string; message: string };
  /** Agent turns: the thought of step `step`, streamed. */
  thought: { step: number; piece: string };
  /** Agent turns: a completed part of a step (action, observation, refused, invalid, answer). */
  step: AgentStepEvent;
}

export type EventType = keyof EventMap;

export interface ReadyMessage {
  type: 'ready';
  version: number;
  protocol: number;
  variant: 'st' | 'mt';
  threads: number;
  simd: boolean;
  /** the threaded build with relaxed-SIMD kernels (neuronos-worker-relaxed) is running */
  relaxedSimd: boolean;
  abort?: { memory: SharedArrayBuffer; index: number };
}

export interface FatalMessage {
  type: 'fatal';
  error: ErrorData;
}

export type RequestMessage = {
  [K in RequestType]: { id: number; type: K; args: RequestMap[K]['args'] };
}[RequestType];

export interface AbortMessage {
  type: 'abort';
  target: number;
}

export interface CallResultMessage {
  id: number;
  type: 'call-result';
  result: unknown;
}

export interface CallErrorMessage {
  id: number;
  type: 'call-error';
  error: ErrorData;
}

export type ClientToWorker = RequestMessage | AbortMessage | CallResultMessage | CallErrorMessage;

export interface ResultMessage {
  id: number;
  type: 'result';
  result: unknown;
}

export interface ErrorMessage {
  id: number;
  type: 'error';
  error: ErrorData;
}

export type EventMessage = {
  [K in EventType]: { id: number; type: 'event'; event: K; data: EventMap[K] };
}[EventType];

export interface CallMessage {
  id: number;
  type: 'call';
  /** The agent request this call belongs to. */
  request: number;
  mode: 'approve' | 'run';
  tool: string;
  args: Record<string, unknown>;
  step: number;
  confirm: boolean;
  source: 'builtin' | 'page';
}

export type WorkerToClient = ReadyMessage | FatalMessage | ResultMessage | ErrorMessage | EventMessage | CallMessage;

/** How the worker finds its files: query parameters of the worker script's URL. */
export interface WorkerUrlParams {
  /** Folder (URL) holding neuronos-worker{,-st}.{js,wasm}; default: the worker script's folder. */
  wasmBase?: string;
  /** Force the single-thread build even when the page is cross-origin isolated. */
  st?: '1';
}
