/**
 * `<neuronos-chat>` — a chat with a local model, in one tag. See the class's JSDoc for the
 * attributes, events, parts and custom properties; `define.ts` registers the tag.
 */
import { LitElement, html, noChange, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { Directive, directive, type PartInfo, PartType } from 'lit/directive.js';
import { ifDefined } from 'lit/directives/if-defined.js';
import { keyed } from 'lit/directives/keyed.js';
import { live } from 'lit/directives/live.js';
import { repeat } from 'lit/directives/repeat.js';
import { NeuronOS, NeuronOSError } from '../../src/neuronos.js';
import type {
  ChatMessage,
  ChatOptions,
  GenerationResult,
  LoadOptions,
  ModelInfo,
  NeuronOSErrorCode,
  NeuronOSOptions,
  TokenStream,
} from '../../src/neuronos.js';
import { probeModelSize, type LoadProgress } from '../../src/loader.js';
import { validatePageTool } from '../../src/agent-tools.js';
import { BUILTIN_TOOLS, TOOL_GROUPS, type AgentFinish, type AgentStepEvent, type PageTool, type ToolCallRequest } from '../../src/agent-types.js';
import type { FinishReason, GenerationStats } from '../../src/protocol.js';
import { markdownToText, renderMarkdown } from './markdown.js';
import { styles } from './neuronos-chat.styles.js';

// ---------------------------------------------------------------------------------------------
// The client the element drives

/**
 * What the element needs from a NeuronOS client. `NeuronOS` implements it; tests inject a fake
 * through {@link NeuronOSChat.clientFactory}.
 */
export interface ClientLike {
  readonly variant: 'st' | 'mt';
  readonly threads: number;
  /** The conversation `chat()` continues (restored after a crash recovery). */
  history: ChatMessage[];
  loadModel(source: string, opts?: LoadOptions): Promise<ModelInfo>;
  /** One turn: an agent turn (steps, tools) unless no tool is enabled; the stream yields the answer. */
  chat(message: string, opts?: AgentChatOptions): TokenStream;
  /**
   * Adds a page tool; throws `invalid_argument` (bad name or schema, duplicate, a built-in's
   * name). A client without it has no agent: the element then passes it plain ChatOptions only.
   */
  registerTool?(tool: PageTool): void;
  /** Removes a page tool; false when there was none of that name. */
  unregisterTool?(name: string): boolean;
  resetChat(): void;
  /**
   * The agent's persistent memory (core blocks, recall, archival; SQLite in OPFS, in the worker).
   * A client without it has no memory: the element then shows no memory controls.
   */
  readonly memory?: MemoryClientLike;
  /** Replaces a crashed worker; the model must be loaded again. */
  restart(): Promise<void>;
  /** Ends the worker and frees its memory. */
  dispose(): void;
}

/**
 * What the element passes to `chat()`: the client's ChatOptions and the agent's options (spelled
 * out here so the element states exactly the client surface it relies on).
 */
export interface AgentChatOptions extends ChatOptions {
  /** Allow-list of built-in tools and groups; undefined = all ten; [] = none. */
  tools?: string[];
  /** Most model outputs (steps) in one turn. */
  maxSteps?: number;
  /** Each completed step part. */
  onStep?: (e: AgentStepEvent) => void;
  /** The thought of step `step`, streamed. */
  onThought?: (step: number, piece: string) => void;
  /** Asked before every tool call; false refuses it. */
  onToolCall?: (call: ToolCallRequest) => boolean | Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// The memory surface the element drives (client.memory)

/** The three memory tiers: core blocks (always in the prompt), recall (past messages), archival (facts). */
export type MemoryTier = 'core' | 'recall' | 'archival';

/** One remembered thing, as `client.memory` lists it. Every string in it is untrusted text. */
export interface MemoryItem {
  tier: MemoryTier;
  /** Row id; for a core block its label. */
  id: number | string;
  text: string;
  /** A core block's label ("persona", "human", …). */
  label?: string;
  /** A recall message's role ('user', 'assistant', 'tool'). */
  role?: string;
  /** When it was stored: Unix time in seconds (values above 1e11 are taken as milliseconds). */
  time?: number;
  /** An archival fact's tags. */
  tags?: string[];
  conversation_id?: string;
  /** A search result's relevance. */
  score?: number;
}

/** What `memory.open()` resolves to. */
export interface MemoryOpenResult {
  agent: string;
  /** false: the memory lives in RAM only (memory="off", another tab has it open, no OPFS…). */
  persistent: boolean;
  /** Why it is not what was asked for (e.g. it runs in RAM), worth showing the visitor. */
  notice?: { code: string; message: string };
}

/** Items per tier. */
export interface MemoryStats {
  core: number;
  recall: number;
  archival: number;
}

/**
 * What the element needs of `client.memory`. Every call after `open()` acts on the agent opened
 * last. `list('recall')` is expected newest first (the panel shows the latest messages and pages
 * back with "Show more").
 */
export interface MemoryClientLike {
  open(agent: string, opts?: { persist?: boolean }): Promise<MemoryOpenResult>;
  list(tier: MemoryTier, opts?: { offset?: number; limit?: number }): Promise<MemoryItem[]>;
  search(query: string, opts?: { limit?: number }): Promise<MemoryItem[]>;
  /** Deletes one item; `id` of a core block is its label. */
  delete(tier: MemoryTier, id: number | string): Promise<void>;
  /** The whole memory of the agent as a versioned JSON document. */
  export(): Promise<object>;
  import(doc: object, opts?: { mode?: 'replace' | 'merge' }): Promise<unknown>;
  /** Forgets everything of the agent: all tiers (core back to its defaults) and its files. */
  clear(): Promise<void>;
  stats(): Promise<MemoryStats>;
}

/** What an agent turn's `result` resolves to. */
export type AgentTurnResult = GenerationResult & { steps?: AgentStepEvent[]; agentFinish?: AgentFinish };

/** Options the element passes when it creates its client. */
export type ClientOptions = Pick<NeuronOSOptions, 'workerUrl' | 'wasmBase'>;

export type ClientFactory = (opts: ClientOptions) => Promise<ClientLike>;

// ---------------------------------------------------------------------------------------------
// Events (one declaration each)

export interface NeuronOSReadyDetail {
  /** The loaded model's metadata. */
  model: ModelInfo;
  /** The URL it was loaded from. */
  url: string;
  /** 'mt' (threaded WASM build) or 'st'. */
  variant: 'st' | 'mt';
  /** Threads the model runs on. */
  threads: number;
}

export interface NeuronOSProgressDetail {
  phase: LoadProgress['phase'];
  loaded: number;
  /** 0 when unknown. */
  total: number;
  /** 0–100; -1 when the total is unknown. */
  percent: number;
}

export interface NeuronOSTokenDetail {
  piece: string;
}

export interface NeuronOSMessageDetail {
  role: 'user' | 'assistant';
  content: string;
  /** Why the reply ended (null for the user's message). */
  finish: FinishReason | null;
  /** Speed and token counts of the reply (null for the user's message). */
  stats: GenerationStats | null;
  /** An agent turn's steps (only on a reply that had steps). */
  steps?: AgentStepEvent[];
  /** Why an agent turn ended (only on a reply of an agent turn). */
  agentFinish?: AgentFinish;
}

/** Detail of `neuronos-step`: one completed part of an agent turn. */
export type NeuronOSStepDetail = AgentStepEvent;

/** Detail of `neuronos-tool-call` (cancelable: `preventDefault()` refuses the call). */
export type NeuronOSToolCallDetail = ToolCallRequest;

export interface NeuronOSErrorDetail {
  code: NeuronOSErrorCode;
  message: string;
}

/**
 * Detail of `neuronos-memory`: what happened to the agent's memory. `open`: it was opened (on a new
 * client, after a restart, when `memory` changed); `delete`: the visitor deleted one item;
 * `clear`: "Forget everything"; `import`: a file was imported; `export`: the visitor exported it
 * (`document` is what was saved).
 */
export type NeuronOSMemoryDetail =
  | { action: 'open'; agent: string; persistent: boolean; notice?: { code: string; message: string } }
  | { action: 'delete'; agent: string; tier: MemoryTier; id: number | string }
  | { action: 'clear'; agent: string }
  | { action: 'import'; agent: string; mode: 'replace' | 'merge' }
  | { action: 'export'; agent: string; document: object };

/** Every event `<neuronos-chat>` fires: `bubbles` and `composed`, detail as typed here. */
export interface NeuronOSChatEventMap {
  'neuronos-ready': CustomEvent<NeuronOSReadyDetail>;
  'neuronos-progress': CustomEvent<NeuronOSProgressDetail>;
  'neuronos-token': CustomEvent<NeuronOSTokenDetail>;
  'neuronos-message': CustomEvent<NeuronOSMessageDetail>;
  'neuronos-error': CustomEvent<NeuronOSErrorDetail>;
  'neuronos-notice': CustomEvent<NeuronOSNoticeDetail>;
  'neuronos-step': CustomEvent<NeuronOSStepDetail>;
  'neuronos-tool-call': CustomEvent<NeuronOSToolCallDetail>;
  'neuronos-memory': CustomEvent<NeuronOSMemoryDetail>;
}

export interface NeuronOSNoticeDetail {
  /**
   * e.g. 'quota_exceeded' (the model runs uncached), 'cache_stale', 'cache_unavailable'; or a
   * memory notice from `memory.open()` (e.g. the memory runs in RAM and will not persist).
   */
  code: string;
  message: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface HTMLElementEventMap extends NeuronOSChatEventMap {}
  interface HTMLElementTagNameMap {
    'neuronos-chat': NeuronOSChat;
  }
}

/** Events a listener may cancel with `preventDefault()`. */
const CANCELABLE: ReadonlySet<keyof NeuronOSChatEventMap> = new Set(['neuronos-tool-call']);

/** Every event of the element: bubbles out of the shadow root, typed detail. */
function chatEvent<K extends keyof NeuronOSChatEventMap>(type: K, detail: NeuronOSChatEventMap[K]['detail']): NeuronOSChatEventMap[K] {
  return new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable: CANCELABLE.has(type) }) as NeuronOSChatEventMap[K];
}

// ---------------------------------------------------------------------------------------------
// Attribute validation

export type LoadMode = 'click' | 'visible' | 'eager';
export type Theme = 'light' | 'dark';
export type Status = 'idle' | 'starting' | 'loading' | 'ready' | 'generating' | 'stopping' | 'restarting' | 'error';

interface NumberSpec {
  attr: string;
  min: number;
  max: number;
  integer: boolean;
  /** Value when the attribute is absent. */
  fallback: number | undefined;
}

const SPECS = {
  temperature: { attr: 'temperature', min: 0, max: 2, integer: false, fallback: 0.7 },
  maxTokens: { attr: 'max-tokens', min: 1, max: 8192, integer: true, fallback: 512 },
  contextSize: { attr: 'context-size', min: 128, max: 32768, integer: true, fallback: 2048 },
  threads: { attr: 'threads', min: 1, max: 16, integer: true, fallback: undefined },
  maxSteps: { attr: 'max-steps', min: 1, max: 32, integer: true, fallback: 8 },
} satisfies Record<string, NumberSpec>;

const LOAD_MODES: readonly LoadMode[] = ['click', 'visible', 'eager'];

/** Passes the attribute's text through untouched; the property setters validate it. */
// (`useDefault` keeps default values from being reflected; not for `threads`/`theme`, whose
// default is undefined: Lit would record the first value set as the default.)
const rawConverter = {
  fromAttribute: (v: string | null): string | null => v,
  toAttribute: (v: unknown): string | null => (v === undefined || v === null ? null : String(v)),
};

function quote(raw: unknown): string {
  const s = String(raw);
  return `'${s.length > 40 ? s.slice(0, 40) + '…' : s}'`;
}

type Parsed<T> = { value: T; error?: string };

/**
 * An attribute/property value → a number in range. Absent → the default; not a number → rejected
 * (the previous value stays); out of range → clamped; both with a message.
 */
function parseNumber(spec: NumberSpec, raw: unknown, previous: number | undefined): Parsed<number | undefined> {
  if (raw === null || raw === undefined) return { value: spec.fallback };
  const kind = spec.integer ? 'a whole number' : 'a number';
  const range = `${kind} between ${spec.min} and ${spec.max}`;
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string') {
    const s = raw.trim();
    if (spec.fallback === undefined && (s === '' || s.toLowerCase() === 'auto')) return { value: undefined };
    n = s === '' ? NaN : Number(s);
  } else n = NaN;
  if (!Number.isFinite(n)) return { value: previous, error: `${spec.attr} must be ${range}${spec.fallback === undefined ? " (or 'auto')" : ''}; got ${quote(raw)}` };
  if (spec.integer && !Number.isInteger(n)) return { value: previous, error: `${spec.attr} must be ${range}; got ${quote(raw)}` };
  if (n < spec.min || n > spec.max) {
    const clamped = Math.min(spec.max, Math.max(spec.min, n));
    return { value: clamped, error: `${spec.attr} must be ${range}; got ${quote(raw)}, using ${clamped}` };
  }
  return { value: n };
}

const TOOL_GROUP_NAMES = Object.keys(TOOL_GROUPS);
const KNOWN_TOOL_NAMES: ReadonlySet<string> = new Set<string>([...BUILTIN_TOOLS, ...TOOL_GROUP_NAMES]);

/**
 * The `tools` attribute/property → the allow-list passed to chat(). Absent → undefined (all the
 * built-ins); empty or 'none' → []; names and groups separated by spaces or commas, deduplicated.
 * Unknown names are dropped with a message (an allow-list never grows by a typo).
 */
export function parseTools(raw: unknown): Parsed<string[] | undefined> {
  if (raw === null || raw === undefined) return { value: undefined };
  let names: string[];
  if (Array.isArray(raw)) names = raw.map((x) => String(x));
  else if (typeof raw === 'string') names = raw.split(/[\s,]+/);
  else return { value: [], error: `tools must be tool names separated by spaces or commas; got ${quote(raw)}` };
  const value: string[] = [];
  const unknown: string[] = [];
  for (const name of names.map((n) => n.trim().toLowerCase()).filter(Boolean)) {
    if (name === 'none') continue;
    const list = KNOWN_TOOL_NAMES.has(name) ? value : unknown;
    if (!list.includes(name)) list.push(name);
  }
  if (unknown.length) {
    const error =
      `tools: unknown ${unknown.length === 1 ? 'name' : 'names'} ${unknown.map(quote).join(', ')}, ignored ` +
      `(built-in tools: ${BUILTIN_TOOLS.join(', ')}; groups: ${TOOL_GROUP_NAMES.join(', ')}; or 'none')`;
    return { value, error };
  }
  return { value };
}

/** `memory="off"`: the agent's memory lives in RAM only (opened under this name, not persisted). */
export const MEMORY_OFF = 'off';
const DEFAULT_AGENT = 'default';
const AGENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The `memory` attribute/property → the agent's name, or 'off'. Absent or empty → 'default';
 * 'off' (any case) → 'off'; otherwise 1–64 of A–Z, a–z, 0–9, '_' and '-', else rejected.
 */
export function parseMemoryName(raw: unknown): Parsed<string | undefined> {
  if (raw === null || raw === undefined) return { value: DEFAULT_AGENT };
  const s = String(raw).trim();
  if (s === '') return { value: DEFAULT_AGENT };
  if (s.toLowerCase() === MEMORY_OFF) return { value: MEMORY_OFF };
  if (AGENT_NAME.test(s)) return { value: s };
  return { value: undefined, error: `memory must be a name of 1 to 64 letters, digits, '_' or '-' (or 'off'); got ${quote(raw)}` };
}

/** A tool argument or result as readable text: strings as they are, the rest as indented JSON. */
const MAX_SHOWN_CHARS = 4000;
function formatValue(v: unknown): string {
  let s: string;
  if (v === undefined) s = '(nothing)';
  else if (typeof v === 'string') s = v;
  else {
    try {
      s = JSON.stringify(v, null, 2) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > MAX_SHOWN_CHARS ? `${s.slice(0, MAX_SHOWN_CHARS)}… (${s.length - MAX_SHOWN_CHARS} more characters)` : s;
}

function hasArgs(args: Record<string, unknown> | undefined): boolean {
  return !!args && typeof args === 'object' && Object.keys(args).length > 0;
}

/** The file name of a model URL, for the Load button ("qwen2.5-0.5b-instruct-q4_0.gguf"). */
export function modelNameFromUrl(url: string): string {
  if (!url) return '';
  let path = url;
  try {
    path = new URL(url, typeof location !== 'undefined' ? location.href : 'https://x.invalid/').pathname;
  } catch {
    path = url.split(/[?#]/)[0] ?? url;
  }
  const last = path.split('/').filter(Boolean).pop() ?? url;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GB`;
}

const PHASE_LABEL: Record<LoadProgress['phase'], string> = {
  download: 'Downloading',
  cache: 'Loading from the cache',
  read: 'Reading the file',
  load: 'Loading into memory',
  ready: 'Ready',
};

/** A readable one-line message for an error; never a stack trace. */
function describeError(err: NeuronOSError): string {
  const first = (err.message || err.code).split('\n')[0]!.trim();
  const text = first.length > 300 ? first.slice(0, 300) + '…' : first;
  switch (err.code) {
    case 'http_error':
    case 'not_found':
    case 'network':
    case 'download_stalled':
      return `Could not download the model: ${text}`;
    case 'integrity_mismatch':
      return `The downloaded model is not the expected file: ${text}`;
    case 'model_invalid':
      return `This file is not a usable model: ${text}`;
    case 'model_too_large':
    case 'out_of_memory':
      return `The model does not fit in memory: ${text}`;
    case 'worker_failed':
    case 'unsupported':
      return `The AI engine could not start: ${text}`;
    case 'context_full':
      return `The conversation no longer fits in the context (clear it or raise context-size): ${text}`;
    default:
      return text;
  }
}

function formatStats(stats: GenerationStats | null | undefined): string {
  if (!stats || !Number.isFinite(stats.tokensPerSecond)) return '';
  return `${stats.tokensPerSecond.toFixed(1)} tokens/s`;
}

const FINISH_NOTE: Partial<Record<FinishReason, string>> = {
  aborted: 'Stopped',
  length: 'Reached the max-tokens limit',
  context_full: 'The context is full',
};

const AGENT_FINISH_NOTE: Partial<Record<AgentFinish, string>> = {
  step_limit: 'Reached the step limit (max-steps) without an answer',
};

// ---------------------------------------------------------------------------------------------
// Markdown rendering directive: re-renders only when the text changed

class MarkdownDirective extends Directive {
  private last: string | undefined;
  constructor(part: PartInfo) {
    super(part);
    if (part.type !== PartType.CHILD) throw new Error('markdown() can only be used in child content');
  }
  render(text: string): DocumentFragment {
    return renderMarkdown(text);
  }
  override update(_part: unknown, [text]: [string]): DocumentFragment | typeof noChange {
    if (text === this.last) return noChange;
    this.last = text;
    return this.render(text);
  }
}
const markdown = directive(MarkdownDirective);

// ---------------------------------------------------------------------------------------------

/**
 * Where one agent step stands, as shown:
 *   thinking     its thought streams in
 *   calling      a tool call, before the page (neuronos-tool-call) has decided
 *   confirming   waiting for the visitor's Allow/Deny
 *   running      the tool runs
 *   done/failed  the tool's result / error came back
 *   refused      the page or the visitor refused the call
 *   invalid      the model's output was not a valid call
 *   answered     the step that gave the answer (its thought)
 *   stopped      the turn was stopped during this step
 *   interrupted  the turn failed during this step
 */
type StepStatus = 'thinking' | 'calling' | 'confirming' | 'running' | 'done' | 'failed' | 'refused' | 'invalid' | 'answered' | 'stopped' | 'interrupted';

const STEP_IN_PROGRESS: ReadonlySet<StepStatus> = new Set(['thinking', 'calling', 'confirming', 'running']);

/** A pending "Allow this tool call?" question to the visitor; answered once. */
interface Confirmation {
  id: number;
  state: 'pending' | 'allowed' | 'denied' | 'cancelled';
  resolve: (allowed: boolean) => void;
}

interface StepView {
  step: number;
  status: StepStatus;
  thought: string;
  tool?: string;
  args?: Record<string, unknown>;
  hasResult: boolean;
  result?: unknown;
  error?: string;
  /** Who refused a refused call (when the element knows). */
  refusedBy?: 'page' | 'visitor';
  confirm?: Confirmation;
  /** The <details> is open (in progress: open; done: closed, unless the visitor chose). */
  open: boolean;
  userToggled: boolean;
}

interface Entry {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  streaming: boolean;
  finish: FinishReason | null;
  stats: GenerationStats | null;
  /** Set when the reply broke off with an error. */
  error?: string;
  /** The agent's steps, in order (replies of agent turns). */
  steps?: StepView[];
  /** The answer the agent's answer step carried. */
  answer?: string;
  agentFinish?: AgentFinish;
}

interface Turn {
  stream: TokenStream;
  reply: Entry;
  stopped: boolean;
  /** After a Stop: restarts the worker if the stream has not ended by then. */
  stopTimer?: ReturnType<typeof setTimeout>;
  /** Confirmations still waiting for the visitor. */
  confirms: Set<Confirmation>;
  /** Every step event of the turn, as the client reported them. */
  events: AgentStepEvent[];
}

/** One tier's list in the memory panel. */
interface TierView {
  items: MemoryItem[];
  /** More items than shown (a "Show more" button). */
  more: boolean;
  loading: boolean;
}

/** The memory panel's state; replaced (not emptied) when the memory changes under it. */
interface MemoryView {
  loading: boolean;
  loaded: boolean;
  /** The last failure, shown in the panel. */
  error: string | null;
  stats: MemoryStats | null;
  tiers: Record<MemoryTier, TierView>;
  /** The search box's text. */
  query: string;
  /** The results of the last search (null: none shown). */
  search: { query: string; items: MemoryItem[] } | null;
  searching: boolean;
  /** Items being deleted (`tier:id`). */
  deleting: Set<string>;
  /** "Forget everything?" is asked. */
  confirmForget: boolean;
  /** A file waits for "Replace or merge?". */
  pendingImport: { doc: object; name: string } | null;
  /** An operation that changes the memory as a whole runs (export, import, clear). */
  busy: 'export' | 'import' | 'clear' | null;
}

const MEMORY_TIERS: ReadonlyArray<{ tier: MemoryTier; title: string; hint: string; empty: string }> = [
  { tier: 'core', title: 'Core memory', hint: 'Always in the assistant’s mind.', empty: 'No core memory.' },
  { tier: 'archival', title: 'Facts', hint: 'What the assistant saved for later (archival memory).', empty: 'No facts saved.' },
  { tier: 'recall', title: 'Conversation history', hint: 'Past messages, latest first (recall memory).', empty: 'No past messages.' },
];
/** Items loaded per page of facts and conversation history. */
const MEMORY_PAGE = 20;
/** Core blocks are few: all of them at once (up to this many). */
const MEMORY_CORE_LIMIT = 100;
const MEMORY_SEARCH_LIMIT = 50;
/** Largest memory file the panel imports. */
const MAX_IMPORT_BYTES = 64 * 1024 * 1024;

function emptyMemoryView(): MemoryView {
  const tier = (): TierView => ({ items: [], more: false, loading: false });
  return {
    loading: false,
    loaded: false,
    error: null,
    stats: null,
    tiers: { core: tier(), recall: tier(), archival: tier() },
    query: '',
    search: null,
    searching: false,
    deleting: new Set(),
    confirmForget: false,
    pendingImport: null,
    busy: null,
  };
}

const TIER_NAME: Record<MemoryTier, string> = { core: 'Core', archival: 'Fact', recall: 'Message' };

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

const itemKey = (item: MemoryItem): string => `${item.tier}:${String(item.id)}`;

function snippet(text: string, max = 60): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A memory item's time (Unix seconds, or milliseconds above 1e11), or null. */
function memoryTime(t: unknown): { iso: string; text: string } | null {
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) return null;
  const d = new Date(t > 1e11 ? t : t * 1000);
  if (Number.isNaN(d.getTime())) return null;
  return { iso: d.toISOString(), text: d.toLocaleString() };
}

const ROLE_NAME: ReadonlyMap<string, string> = new Map([
  ['user', 'You'],
  ['assistant', 'Assistant'],
  ['tool', 'Tool'],
  ['system', 'System'],
]);
const roleName = (role: unknown): string => ROLE_NAME.get(String(role)) ?? String(role);

/** What a memory item's Delete button deletes, for its label ("core block “persona”", …). */
function memoryItemName(item: MemoryItem): string {
  const text = snippet(String(item.text ?? ''));
  switch (item.tier) {
    case 'core':
      return `core block “${String(item.label ?? item.id)}”`;
    case 'archival':
      return `fact: ${text}`;
    case 'recall':
      return `message: ${text}`;
  }
  return text;
}

let nextEntryId = 1;
let nextInstanceId = 1;
let nextConfirmId = 1;

/** How many crash recoveries in a row before the element gives up and asks for a click. */
const MAX_RECOVERIES = 2;

/**
 * A chat with a language model that runs entirely in the visitor's browser (llama.cpp compiled
 * to WebAssembly, in a worker). Replies stream in as sanitised Markdown.
 *
 * Each message is an agent turn when tools are enabled (`tools`, `registerTool()`): the model
 * thinks, calls tools and sees their results before it answers. Every step shows in the reply as
 * a collapsible block above the answer; the page can refuse a call (`neuronos-tool-call`), and a
 * page tool registered with `confirm: true` asks the visitor first.
 *
 * The agent remembers across visits (MemGPT-style memory: core blocks, conversation history,
 * archival facts) in the visitor's browser, under the name in `memory`. The Memory button opens a
 * panel that shows what is remembered, with search, Delete on every item, Export/Import (JSON)
 * and "Forget everything".
 *
 * @summary Local, in-browser AI chat: one tag, no server.
 *
 * @fires {CustomEvent<NeuronOSReadyDetail>} neuronos-ready - A model finished loading. Detail: `{model, url, variant, threads}`.
 * @fires {CustomEvent<NeuronOSProgressDetail>} neuronos-progress - Model download/load progress. Detail: `{phase, loaded, total, percent}`.
 * @fires {CustomEvent<NeuronOSTokenDetail>} neuronos-token - A piece of the reply streamed in. Detail: `{piece}`.
 * @fires {CustomEvent<NeuronOSMessageDetail>} neuronos-message - A message was sent (role 'user') or a reply ended (role 'assistant', with `finish` and `stats`). Detail: `{role, content, finish, stats}`.
 * @fires {CustomEvent<NeuronOSNoticeDetail>} neuronos-notice - Something about the model's delivery, the memory or the context worth knowing that is not an error (e.g. `quota_exceeded`: it runs uncached; a memory notice from `memory.open()`: it runs in RAM and will not persist; `context_trimmed`: older turns left the model's context; `message_truncated`: the message was cut to fit). Detail: `{code, message}`.
 * @fires {CustomEvent<NeuronOSErrorDetail>} neuronos-error - Something failed, or an attribute was invalid (code 'invalid_argument'). Detail: `{code, message}`.
 * @fires {CustomEvent<NeuronOSStepDetail>} neuronos-step - A part of an agent turn completed: a tool call (`kind: 'action'`), its result (`'observation'`), a refused call (`'refused'`), an invalid model output (`'invalid'`) or the answer (`'answer'`). Detail: `AgentStepEvent` `{step, kind, thought, tool?, args?, result?, error?, answer?}`.
 * @fires {CustomEvent<NeuronOSToolCallDetail>} neuronos-tool-call - Cancelable. The agent is about to call a tool; `preventDefault()` refuses the call (the model is told). Calls to a page tool registered with `confirm: true` then also ask the visitor (Allow/Deny in the conversation). Detail: `ToolCallRequest` `{step, tool, args, confirm, source}`.
 * @fires {CustomEvent<NeuronOSMemoryDetail>} neuronos-memory - The memory was opened (`action: 'open'`, with `agent`, `persistent`, `notice?`; on a new client, after a restart, when `memory` changes), or the visitor deleted an item (`'delete'`, with `tier`, `id`), forgot everything (`'clear'`), imported a file (`'import'`, with `mode`: 'replace' or 'merge') or exported it (`'export'`, with `document`, the JSON saved). Detail: `{action, agent, …}`.
 *
 * @attr {string} integrity - Optional `sha256-<base64>` hash of the model file; a mismatch is refused (`integrity_mismatch`).
 * @attr {string} model - URL of the GGUF model (https, or relative to the page). Changing it loads the new model, following `load`.
 * @attr {number} temperature - Sampling temperature, 0–2 (default 0.7). Applies to the next message.
 * @attr {number} max-tokens - Most tokens a reply may have, 1–8192 (default 512). Applies to the next message.
 * @attr {number} context-size - Context size in tokens, 128–32768 (default 2048). Applies at the next model load.
 * @attr {number} threads - Threads for the threaded build, 1–16; absent or 'auto' = automatic. Applies at the next model load.
 * @attr {string} system-prompt - System prompt placed before the conversation.
 * @attr {string} placeholder - Placeholder text of the message box.
 * @attr {string} chat-template - Chat template override (Jinja, or a llama.cpp built-in name such as "chatml").
 * @attr {'click'|'visible'|'eager'} load - When to download the model: on a click of the Load button (default), when the element scrolls into view, or at once.
 * @attr {boolean} hide-settings - Hides the settings panel.
 * @attr {'light'|'dark'} theme - Forces a colour scheme; absent = follow `prefers-color-scheme`.
 * @attr {string} worker-url - URL of neuronos-inference-worker.js (default: beside the script).
 * @attr {string} wasm-base - Folder holding the WASM builds (default: the worker's folder).
 * @attr {string} tools - Built-in tools the agent may use, separated by spaces or commas: names (`calculator`, `get_time`, `core_memory_append`, `core_memory_replace`, `archival_memory_insert`, `archival_memory_search`, `conversation_search`, `file_list`, `file_read`, `file_write`) and groups (`memory`, `files`). Absent = all ten; empty or `none` = none (a plain chat unless page tools are registered). Applies to the next message.
 * @attr {number} max-steps - Most steps (model outputs) in one agent turn, 1–32 (default 8). Applies to the next message.
 * @attr {string} memory - The agent's memory name (1–64 of `A–Z a–z 0–9 _ -`, default `default`): what it remembers is stored on the visitor's device under it (SQLite in OPFS) and kept across visits. `off`: memory for this visit only, in RAM (nothing saved; the Memory button says "off"). A change opens that memory and starts a new conversation.
 *
 * @csspart container - The element's outer box.
 * @csspart header - The title row: model name and status.
 * @csspart status - The status line (loading, ready, tokens per second).
 * @csspart error - The error box (role="alert").
 * @csspart notice - A note about the model's delivery (e.g. it runs uncached).
 * @csspart load-button - The button that downloads and loads the model.
 * @csspart progress - The model download/load progress row.
 * @csspart messages - The conversation (role="log").
 * @csspart message - Every message bubble.
 * @csspart message-user - The visitor's messages.
 * @csspart message-assistant - The model's replies.
 * @csspart steps - The agent's steps in a reply (above the answer).
 * @csspart step - One step: a `<details>` block, collapsed once the step is done (`data-status`: thinking, calling, confirming, running, done, failed, refused, invalid, answered, stopped, interrupted).
 * @csspart step-summary - The step's one-line summary ("Thinking…", "Used calculator", "You denied file_write", "Reasoning" for the answer's thought, …).
 * @csspart step-thought - The model's thought in a step (plain text).
 * @csspart step-call - The tool call: its name and arguments (as JSON).
 * @csspart step-result - The tool's result, or why the step failed or was refused.
 * @csspart confirm - The question "Allow <tool> with these arguments?" (role="alertdialog") for a page tool registered with `confirm: true`.
 * @csspart allow-button - Its Allow button.
 * @csspart deny-button - Its Deny button (Escape denies too).
 * @csspart input - The message text box.
 * @csspart send-button - The Send button.
 * @csspart stop-button - The Stop button (shown while a reply streams).
 * @csspart settings - The settings panel (a `<details>`).
 * @csspart memory-button - The header's Memory button (`aria-expanded`); says "off" or "not saved" when the memory is not stored.
 * @csspart memory-notice - A note about the memory (e.g. another tab has it open, so it runs in RAM; OPFS is unavailable; it could not be opened).
 * @csspart memory-panel - The memory panel (a non-modal `role="dialog"`; Escape closes it).
 * @csspart memory-close-button - The panel's Close button.
 * @csspart memory-counts - The counts per tier ("2 core blocks · 5 facts · 40 past messages").
 * @csspart memory-error - A failed memory operation's message in the panel.
 * @csspart memory-search - The search form (a search box and its button).
 * @csspart memory-tier - One tier's section (`data-tier`: core, archival, recall).
 * @csspart memory-results - The search results section.
 * @csspart memory-item - One remembered item (`data-tier`); its text is shown as plain text.
 * @csspart memory-delete-button - An item's Delete button (its accessible name says what it deletes).
 * @csspart memory-more-button - "Show more" of facts or conversation history.
 * @csspart memory-export-button - Export (downloads the memory as a JSON file).
 * @csspart memory-import-button - Import… (chooses a JSON file).
 * @csspart memory-import-choice - The question "Import <file>?" with Replace, Merge and Cancel (role="alertdialog").
 * @csspart memory-import-replace - Its Replace button.
 * @csspart memory-import-merge - Its Merge button.
 * @csspart memory-forget-button - "Forget everything" (asks first).
 * @csspart memory-forget-confirm - The question "Forget everything the assistant remembers?" (role="alertdialog"; Escape cancels).
 * @csspart memory-forget-yes - Its "Forget everything" button (Cancel beside it).
 *
 * @cssprop [--neuronos-bg] - Background (light #ffffff, dark #16181d).
 * @cssprop [--neuronos-fg] - Text colour (light #1f2328, dark #e6e8eb).
 * @cssprop [--neuronos-muted-fg] - Secondary text: status, hints, reply details.
 * @cssprop [--neuronos-border] - Border colour of the box, inputs and tables.
 * @cssprop [--neuronos-accent] - Button background, progress bar.
 * @cssprop [--neuronos-accent-fg] - Button text.
 * @cssprop [--neuronos-user-bg] - Background of the visitor's messages.
 * @cssprop [--neuronos-user-fg] - Text of the visitor's messages.
 * @cssprop [--neuronos-assistant-bg] - Background of the model's replies.
 * @cssprop [--neuronos-assistant-fg] - Text of the model's replies.
 * @cssprop [--neuronos-assistant-muted-fg] - Reply details (speed, "Stopped") inside a reply.
 * @cssprop [--neuronos-error-bg] - Background of the error box.
 * @cssprop [--neuronos-error-fg] - Text of the error box.
 * @cssprop [--neuronos-code-bg] - Background of code in replies.
 * @cssprop [--neuronos-link] - Link colour in replies.
 * @cssprop [--neuronos-step-bg] - Background of an agent step (light #ffffff, dark #1a1d23).
 * @cssprop [--neuronos-step-fg] - Text of an agent step.
 * @cssprop [--neuronos-step-muted-fg] - Labels in a step ("Thought", "Call", "Result").
 * @cssprop [--neuronos-step-border] - Border of an agent step.
 * @cssprop [--neuronos-step-error-fg] - A failed, refused or invalid step.
 * @cssprop [--neuronos-confirm-bg] - Background of the Allow/Deny question (light #fff8c5, dark #2b2410).
 * @cssprop [--neuronos-confirm-fg] - Text of the Allow/Deny question.
 * @cssprop [--neuronos-confirm-border] - Border of the Allow/Deny question.
 * @cssprop [--neuronos-danger] - "Forget everything": its colour (light #b3261e, dark #ffb4ab).
 * @cssprop [--neuronos-danger-fg] - Text on the confirming "Forget everything" button (light #ffffff, dark #410e0b).
 * @cssprop [--neuronos-memory-max-height] - Height of the memory panel before it scrolls (default 24rem; `none` to grow).
 * @cssprop [--neuronos-input-bg] - Background of the text box and settings fields.
 * @cssprop [--neuronos-focus-ring] - Focus outline colour.
 * @cssprop [--neuronos-font-family] - Font (default system-ui).
 * @cssprop [--neuronos-mono-font-family] - Font of code.
 * @cssprop [--neuronos-font-size] - Base font size (default 15px).
 * @cssprop [--neuronos-radius] - Corner radius (default 10px).
 * @cssprop [--neuronos-gap] - Space between the rows (default 0.5rem).
 * @cssprop [--neuronos-padding] - Inner padding of the box (default 0.75rem).
 * @cssprop [--neuronos-messages-min-height] - Minimum height of the conversation (default 6rem).
 * @cssprop [--neuronos-messages-max-height] - Maximum height of the conversation before it scrolls (default 28rem; `none` to grow).
 */
export class NeuronOSChat extends LitElement {
  static override styles = styles;

  /**
   * Creates the element's client. Replace it (on the class, or a subclass) to use another
   * client, e.g. a fake in tests. Called once per connected element, on the first load.
   */
  static clientFactory: ClientFactory = (opts) => NeuronOS.create(opts);

  /**
   * URL of the GGUF model (https, or relative to the page). Changing it loads the new model,
   * following `load`, and starts a new conversation.
   */
  @property({ reflect: true, useDefault: true }) model = '';

  /** Subresource-integrity hash of the model (`sha256-<base64>`), checked as it downloads. */
  @property() integrity = '';

  /**
   * Sampling temperature, 0–2; applies to the next message. Out of range: clamped; not a
   * number: rejected (the value stays); both with a visible message and `neuronos-error`.
   * @default 0.7
   */
  @property({ reflect: true, converter: rawConverter, useDefault: true })
  get temperature(): number {
    return this._temperature;
  }
  set temperature(v: number | string | null | undefined) {
    this._temperature = this.validateNumber('temperature', v, this._temperature) ?? SPECS.temperature.fallback;
  }

  /**
   * Most tokens in a reply, 1–8192 (whole number); applies to the next message.
   * @default 512
   */
  @property({ attribute: 'max-tokens', reflect: true, converter: rawConverter, useDefault: true })
  get maxTokens(): number {
    return this._maxTokens;
  }
  set maxTokens(v: number | string | null | undefined) {
    this._maxTokens = this.validateNumber('maxTokens', v, this._maxTokens) ?? SPECS.maxTokens.fallback;
  }

  /**
   * Context size in tokens, 128–32768 (whole number); applies at the next model load (the
   * settings panel offers "Reload model").
   * @default 2048
   */
  @property({ attribute: 'context-size', reflect: true, converter: rawConverter, useDefault: true })
  get contextSize(): number {
    return this._contextSize;
  }
  set contextSize(v: number | string | null | undefined) {
    this._contextSize = this.validateNumber('contextSize', v, this._contextSize) ?? SPECS.contextSize.fallback;
  }

  /**
   * Threads for the threaded build, 1–16; absent, empty or 'auto' = automatic (undefined).
   * Applies at the next model load.
   * @default undefined
   */
  @property({ reflect: true, converter: rawConverter })
  get threads(): number | undefined {
    return this._threads;
  }
  set threads(v: number | string | null | undefined) {
    this._threads = this.validateNumber('threads', v, this._threads);
  }

  /** System prompt placed before the conversation; applies to the next message. */
  @property({ attribute: 'system-prompt' }) systemPrompt = '';

  /** Placeholder text of the message box (default "Type a message…"). */
  @property() placeholder = '';

  /**
   * Chat template override: a Jinja template or a llama.cpp built-in name such as "chatml";
   * empty = the model's own. Applies to the next message.
   */
  @property({ attribute: 'chat-template' }) chatTemplate = '';

  /**
   * When the model is downloaded: 'click' (a Load button showing the model's file name; nothing
   * is fetched before the click), 'visible' (when the element scrolls into view) or 'eager'.
   * @default 'click'
   */
  @property({ reflect: true, converter: rawConverter, useDefault: true })
  get load(): LoadMode {
    return this._load;
  }
  set load(v: LoadMode | string | null | undefined) {
    if (v === null || v === undefined || v === '') {
      this._load = 'click';
      this.clearConfigError('load');
    } else if ((LOAD_MODES as readonly string[]).includes(String(v).trim().toLowerCase())) {
      this._load = String(v).trim().toLowerCase() as LoadMode;
      this.clearConfigError('load');
    } else {
      this.reportConfigError('load', `load must be 'click', 'visible' or 'eager'; got ${quote(v)}`);
    }
  }

  /** Hides the settings panel (temperature, max tokens, context size). */
  @property({ type: Boolean, attribute: 'hide-settings', reflect: true, useDefault: true }) hideSettings = false;

  /** Forces the 'light' or 'dark' colour scheme; absent follows `prefers-color-scheme`. */
  @property({ reflect: true, converter: rawConverter })
  get theme(): Theme | undefined {
    return this._theme;
  }
  set theme(v: Theme | string | null | undefined) {
    if (v === null || v === undefined || v === '' || v === 'auto') {
      this._theme = undefined;
      this.clearConfigError('theme');
    } else if (v === 'light' || v === 'dark') {
      this._theme = v;
      this.clearConfigError('theme');
    } else {
      this._theme = undefined;
      this.reportConfigError('theme', `theme must be 'light' or 'dark'; got ${quote(v)}`);
    }
  }

  /**
   * URL of neuronos-inference-worker.js (NeuronOSOptions.workerUrl); empty = beside the script.
   * A change ends the current client; the next load starts a new one.
   */
  @property({ attribute: 'worker-url' }) workerUrl = '';

  /** Folder of the WASM builds (NeuronOSOptions.wasmBase); empty = the worker's folder. */
  @property({ attribute: 'wasm-base' }) wasmBase = '';

  /**
   * Allow-list of the built-in tools the agent may use: tool names (`calculator`, `get_time`,
   * the five memory and three file tools) and groups (`memory`, `files`), as a string separated
   * by spaces or commas, or an array. Absent (undefined) = all ten built-ins; empty or `'none'` =
   * none, and then, unless page tools are registered, a plain chat without the agent. Page tools
   * (`registerTool()`) are always available. Unknown names are ignored with a visible message and
   * `neuronos-error` (`invalid_argument`). Reads back as the parsed list. Applies to the next
   * message.
   * @default undefined
   */
  @property({ converter: rawConverter })
  get tools(): string[] | undefined {
    return this._tools ? [...this._tools] : undefined;
  }
  set tools(v: string | string[] | null | undefined) {
    const { value, error } = parseTools(v);
    if (error) this.reportConfigError('tools', error);
    else this.clearConfigError('tools');
    this._tools = value;
  }

  /**
   * Most steps (model outputs) in one agent turn, 1–32 (whole number); applies to the next
   * message. A turn that reaches it ends without an answer.
   * @default 8
   */
  @property({ attribute: 'max-steps', reflect: true, converter: rawConverter, useDefault: true })
  get maxSteps(): number {
    return this._maxSteps;
  }
  set maxSteps(v: number | string | null | undefined) {
    this._maxSteps = this.validateNumber('maxSteps', v, this._maxSteps) ?? SPECS.maxSteps.fallback;
  }

  /**
   * The agent's memory: the name (1–64 of `A–Z a–z 0–9 _ -`) under which what it remembers is
   * stored on the visitor's device (SQLite in OPFS), so it remembers across visits; or `'off'`:
   * memory for this page visit only (in RAM, as agent `default`; nothing is saved). Elements with
   * the same name share a memory; one tab at a time has it stored (another tab then runs in RAM,
   * with a notice). Opened when the client starts (and after a restart); a change opens the new
   * memory and starts a new conversation. An invalid name is rejected (the value stays) with a
   * visible message and `neuronos-error` (`invalid_argument`).
   * @default 'default'
   */
  @property({ converter: rawConverter })
  get memory(): string {
    return this._memoryName;
  }
  set memory(v: string | null | undefined) {
    const { value, error } = parseMemoryName(v);
    if (error) this.reportConfigError('memory', error);
    else this.clearConfigError('memory');
    if (value !== undefined) this._memoryName = value;
  }

  // --- internal state -------------------------------------------------------------------------
  private _memoryName = DEFAULT_AGENT;
  private _temperature: number = SPECS.temperature.fallback;
  private _maxTokens: number = SPECS.maxTokens.fallback;
  private _contextSize: number = SPECS.contextSize.fallback;
  private _threads: number | undefined = undefined;
  private _load: LoadMode = 'click';
  private _theme: Theme | undefined = undefined;
  private _tools: string[] | undefined = undefined;
  private _maxSteps: number = SPECS.maxSteps.fallback;
  /** Page tools, kept across clients: registered on every client the element creates. */
  private readonly _pageTools = new Map<string, PageTool>();

  @state() private _status: Status = 'idle';
  /** A notice about the last load that is not an error (e.g. the model runs uncached). */
  @state() private _notice: string | null = null;
  /** Size of the model behind the Load button (HEAD request; null = unknown). */
  @state() private _modelSize: number | null = null;
  @state() private _progress: LoadProgress | null = null;
  @state() private _messages: Entry[] = [];
  @state() private _error: NeuronOSErrorDetail | null = null;
  @state() private _configErrors = new Map<string, string>();
  @state() private _info: ModelInfo | null = null;
  @state() private _lastStats: GenerationStats | null = null;
  @state() private _announcement = { id: 0, text: '' };
  @state() private _loaded: { url: string; contextSize: number; threads: number | undefined } | null = null;

  /** What the last `memory.open()` of the current client gave (null: not open, or opening). */
  @state() private _memoryInfo: MemoryOpenResult | null = null;
  /** A notice about the memory (it will not persist, it could not be opened). */
  @state() private _memoryNotice: string | null = null;
  /** The memory panel is open. */
  @state() private _memoryPanel = false;
  /** The memory panel's content (mutated in place; requestUpdate() after changes). */
  private _mem: MemoryView = emptyMemoryView();
  /** The open of the current client's memory: for which client and agent, and its outcome. */
  private _memOpen: { client: ClientLike; key: string; promise: Promise<MemoryOpenResult> } | null = null;

  @query('textarea') private _input!: HTMLTextAreaElement | null;
  @query('.messages') private _log!: HTMLElement | null;

  private readonly _uid = nextInstanceId++;
  private _client: ClientLike | null = null;
  private _clientPromise: Promise<ClientLike> | null = null;
  /** Bumped when the element tears down: async work of an older life is dropped. */
  private _life = 0;
  /** Bumped on every load: continuations of an older load are dropped. */
  private _loadSeq = 0;
  private _loadAbort: AbortController | null = null;
  private _turn: Turn | null = null;
  private _recoveries = 0;
  private _observer: IntersectionObserver | null = null;
  private _pendingEvents: Array<[keyof NeuronOSChatEventMap, unknown]> = [];
  private _renderFrame = 0;
  private _stickToBottom = true;

  /**
   * How long a stopped reply may take to end before the worker is restarted (the last resort;
   * normally the worker answers within one token).
   */
  stopTimeoutMs = 10_000;

  // --- public API -----------------------------------------------------------------------------

  /** The current state: idle, starting, loading, ready, generating, stopping, restarting, error. */
  get status(): Status {
    return this._status;
  }

  /** The loaded model's metadata, or null. */
  get modelInfo(): ModelInfo | null {
    return this._info;
  }

  /**
   * The open memory: `{agent, persistent, notice?}` as `memory.open()` gave it, or null (no client
   * yet, opening, or it could not be opened).
   */
  get memoryInfo(): MemoryOpenResult | null {
    return this._memoryInfo;
  }

  /**
   * Gives the agent a tool whose handler runs on this page. The model sees its `name`,
   * `description` and `parameters` (a JSON Schema subset); `handler(args)` receives arguments
   * already checked against `parameters`, and what it returns (or throws) is the observation.
   * With `confirm: true` the visitor is asked (Allow/Deny in the conversation) before each call.
   * Page tools are always available, whatever `tools` says; registering one turns a plain chat
   * (`tools="none"`) into an agent turn. Applies from the next message.
   *
   * The tool is checked at once, also before the element has its client: this throws a
   * `NeuronOSError` with code `invalid_argument` for a bad name or schema (the supported subset is
   * in the README), a duplicate, a built-in's name or a missing handler. The element keeps its
   * page tools across model changes and worker restarts.
   * @throws {NeuronOSError} code `invalid_argument`
   */
  registerTool(tool: PageTool): void {
    validatePageTool(tool); // the whole check, also before the client exists
    if (this._pageTools.has(tool.name)) throw new NeuronOSError('invalid_argument', `a tool named '${tool.name}' is already registered`, 'registerTool');
    const client = this._client;
    if (client) {
      if (!client.registerTool) throw new NeuronOSError('unsupported', 'this client has no page tools (registerTool)', 'registerTool');
      client.registerTool(tool);
    }
    this._pageTools.set(tool.name, tool);
  }

  /**
   * Removes a page tool registered with `registerTool()`; from the next message the agent no
   * longer sees it. Returns false when no tool of that name was registered.
   */
  unregisterTool(name: string): boolean {
    const had = this._pageTools.delete(name);
    this.clearConfigError(`tool:${name}`);
    let removed = false;
    try {
      removed = this._client?.unregisterTool?.(name) ?? false;
    } catch {
      /* a client that cannot: the element no longer registers it anyway */
    }
    return had || removed;
  }

  /**
   * Whether `url` is in the local model cache, so it may load without asking. Always false for
   * now: the cache comes with the model-delivery issue, which overrides this hook.
   */
  protected isCached(url: string): boolean | Promise<boolean> {
    return NeuronOS.isModelCached(url).catch(() => false);
  }

  /** Downloads and loads `model` now (what the Load button does). */
  loadModel(): Promise<void> {
    this._recoveries = 0;
    return this.startLoad();
  }

  /** Sends a message (default: the text box's text). Resolves when the reply has ended. */
  async send(text?: string): Promise<void> {
    const fromInput = text === undefined;
    const message = (fromInput ? (this._input?.value ?? '') : text).trim();
    if (!message) return;
    if (this._status !== 'ready' || !this._client) {
      if (this._status === 'idle' || this._status === 'error') {
        this.setError('no_model', this.model ? 'Load the model first (the Load model button).' : 'No model is set: give the element a model URL.');
      }
      return;
    }
    if (fromInput && this._input) this._input.value = '';
    await this.runTurn(this._client, message);
  }

  /** Stops the streaming reply; it keeps the text it had. */
  stop(): void {
    const turn = this._turn;
    if (!turn || turn.stopped) return;
    turn.stopped = true;
    turn.reply.streaming = false;
    turn.reply.finish = 'aborted';
    this.settleSteps(turn, 'stopped');
    this._status = 'stopping';
    turn.stopTimer = setTimeout(() => this.stopTimedOut(turn), this.stopTimeoutMs);
    try {
      turn.stream.abort();
    } catch {
      /* the stream ends anyway */
    }
    this.requestUpdate();
    this.focusInput();
  }

  /** The worker did not end a stopped generation: the last resort is a new worker. */
  private stopTimedOut(turn: Turn): void {
    if (this._turn !== turn) return;
    this.finishTurn(turn, null, false);
    void this.recover(new NeuronOSError('aborted', 'the reply did not stop in time'), {
      report: false,
      reason: 'The AI engine did not stop in time',
    });
  }

  /** Starts a new conversation (the model stays loaded). */
  clear(): void {
    this.stop();
    this._client?.resetChat();
    this._messages = [];
    this._lastStats = null;
    this._error = null;
  }

  // --- lifecycle ------------------------------------------------------------------------------

  override connectedCallback(): void {
    super.connectedCallback();
    const pending = this._pendingEvents;
    this._pendingEvents = [];
    for (const [type, detail] of pending) this.emit(type, detail as never);
    this.autoLoad();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this._observer?.disconnect();
    this._observer = null;
    // A move in the DOM (remove + insert in the same task) keeps the client; a removal ends it.
    queueMicrotask(() => {
      if (!this.isConnected) this.teardown();
    });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const was = (k: string) => (changed as Map<string, unknown>).get(k);
    const has = (k: string) => (changed as Map<string, unknown>).has(k);
    if (has('model') && this.hasUpdated && was('model') !== this.model) {
      this.modelChanged();
    } else if (has('model') || (has('load') && this._status === 'idle')) {
      // a first value (set before or right after insertion), or a new load mode: autoLoad acts
      // only while idle, so calling it again is harmless
      this.autoLoad();
    }
    if (has('memory')) this.memoryNameChanged();
    if ((has('workerUrl') && was('workerUrl') !== undefined) || (has('wasmBase') && was('wasmBase') !== undefined)) {
      // a client with the old URLs is of no use: the next load starts a new one
      if (this._client || this._clientPromise) {
        this.teardown();
        this.autoLoad();
      }
    }
  }

  protected override updated(): void {
    if (this._stickToBottom && this._log) this._log.scrollTop = this._log.scrollHeight;
  }

  // --- loading --------------------------------------------------------------------------------

  private autoLoad(): void {
    if (!this.isConnected || this._status !== 'idle' || !this.model) return;
    const url = this.model;
    switch (this._load) {
      case 'eager':
        void this.startLoad();
        break;
      case 'visible':
        if (typeof IntersectionObserver === 'undefined') {
          void this.startLoad();
          break;
        }
        this._observer?.disconnect();
        this._observer = new IntersectionObserver((entries) => {
          if (!entries.some((e) => e.isIntersecting)) return;
          this._observer?.disconnect();
          this._observer = null;
          if (this._status === 'idle' && this.model === url) void this.startLoad();
        });
        this._observer.observe(this);
        break;
      case 'click': {
        const life = this._life;
        this._modelSize = null;
        void this.probeSize(url).then((size) => {
          if (life === this._life && this.model === url) this._modelSize = size;
        });
        void Promise.resolve()
          .then(() => this.isCached(url))
          .then(
            (cached) => {
              if (cached && life === this._life && this._status === 'idle' && this.model === url && this.isConnected) void this.startLoad();
            },
            () => undefined,
          );
        break;
      }
    }
  }

  /** The model's size for the Load prompt, without downloading it. Overridable (tests). */
  protected probeSize(url: string): Promise<number | null> {
    return probeModelSize(url).catch(() => null);
  }

  private modelChanged(): void {
    if (!this.isConnected) return;
    this.endTurn();
    this._loadSeq++;
    this._loadAbort?.abort();
    this._loadAbort = null;
    this._observer?.disconnect();
    this._observer = null;
    this._info = null;
    this._loaded = null;
    this._progress = null;
    this._messages = [];
    this._lastStats = null;
    this._error = null;
    this._status = 'idle';
    this._recoveries = 0;
    this.autoLoad();
  }

  private clientOptions(): ClientOptions {
    const o: ClientOptions = {};
    if (this.workerUrl) o.workerUrl = this.workerUrl;
    if (this.wasmBase) o.wasmBase = this.wasmBase;
    return o;
  }

  private getClient(): Promise<ClientLike> {
    if (this._client) return Promise.resolve(this._client);
    if (!this._clientPromise) {
      const life = this._life;
      // read in a later microtask: a page that imports the element and then sets clientFactory
      // in the same module still gets its factory used for elements already on the page
      const p = Promise.resolve()
        .then(() => (this.constructor as typeof NeuronOSChat).clientFactory(this.clientOptions()))
        .then(
          (client) => {
            if (life !== this._life) {
              client.dispose();
              throw new NeuronOSError('aborted', 'the element was removed from the page');
            }
            this._client = client;
            this.installPageTools(client, false);
            void this.openMemory(client);
            return client;
          },
          (e: unknown) => {
            if (this._clientPromise === p) this._clientPromise = null;
            throw e;
          },
        );
      this._clientPromise = p;
    }
    return this._clientPromise;
  }

  /**
   * Loads `model`. After a crash recovery, `restore` puts the conversation back and `notice`
   * replaces the error message once the model is loaded.
   */
  private async startLoad(restore?: ChatMessage[], notice?: NeuronOSErrorDetail): Promise<void> {
    const url = this.model;
    if (!url) {
      this.setError('invalid_argument', 'No model is set: give the element a model URL.');
      return;
    }
    this.endTurn();
    this._loadAbort?.abort();
    const ctrl = new AbortController();
    this._loadAbort = ctrl;
    const seq = ++this._loadSeq;
    const life = this._life;
    const stale = () => seq !== this._loadSeq || life !== this._life;
    this._observer?.disconnect();
    this._observer = null;
    this._status = 'starting';
    this._progress = null;
    this._info = null;
    this._loaded = null;
    if (!restore) {
      this._error = null;
      this._messages = [];
      this._lastStats = null;
    }
    const contextSize = this._contextSize;
    const threads = this._threads;
    try {
      const client = await this.getClient();
      if (stale()) return;
      this._status = 'loading';
      this._notice = null;
      const info = await client.loadModel(url, {
        signal: ctrl.signal,
        contextSize,
        ...(threads !== undefined ? { threads } : {}),
        ...(this.integrity ? { integrity: this.integrity } : {}),
        onNotice: (n) => {
          if (stale()) return;
          this._notice = n.message;
          this.emit('neuronos-notice', n);
        },
        onProgress: (p) => {
          if (stale()) return;
          this._progress = p;
          this.emit('neuronos-progress', { phase: p.phase, loaded: p.loaded, total: p.total, percent: p.percent });
        },
      });
      if (stale()) return;
      if (restore) client.history = restore;
      this._info = info;
      this._loaded = { url, contextSize, threads };
      this._progress = null;
      this._status = 'ready';
      if (notice) this._error = notice;
      this.announce(`${info.name || modelNameFromUrl(url)} is loaded.`);
      this.emit('neuronos-ready', {
        model: info,
        url,
        variant: client.variant,
        threads: info.n_threads > 0 ? info.n_threads : client.threads,
      });
    } catch (e) {
      if (stale()) return;
      this._progress = null;
      this.handleError(e);
    } finally {
      if (this._loadAbort === ctrl) this._loadAbort = null;
    }
  }

  // --- chatting -------------------------------------------------------------------------------

  private chatOptions(client: ClientLike, turn: Turn): AgentChatOptions {
    const o: AgentChatOptions = { temperature: this._temperature, maxTokens: this._maxTokens };
    if (this.systemPrompt) o.systemPrompt = this.systemPrompt;
    if (this.chatTemplate) o.template = this.chatTemplate;
    if (!client.registerTool) return o; // a client from before the agent: plain chat options only
    // older turns left the model's context, or the message was cut to fit: tell the visitor
    o.onNotice = (n) => {
      if (this._turn !== turn) return;
      this._notice = n.message;
      this.emit('neuronos-notice', n);
    };
    o.agent = this.memoryAgent;
    o.maxSteps = this._maxSteps;
    if (this._tools !== undefined) o.tools = [...this._tools];
    o.onThought = (step, piece) => this.onThought(turn, step, piece);
    o.onStep = (e) => this.onStep(turn, e);
    o.onToolCall = (call) => this.onToolCall(turn, call);
    return o;
  }

  private async runTurn(client: ClientLike, message: string): Promise<void> {
    const user: Entry = { id: nextEntryId++, role: 'user', content: message, streaming: false, finish: null, stats: null };
    const reply: Entry = { id: nextEntryId++, role: 'assistant', content: '', streaming: true, finish: null, stats: null };
    this._messages = [...this._messages, user, reply];
    this._error = null;
    this._stickToBottom = true;
    this.emit('neuronos-message', { role: 'user', content: message, finish: null, stats: null });
    this._status = 'generating';
    // the turn exists before chat() is called: the agent's callbacks may arrive at once
    const turn: Turn = { stream: null as unknown as TokenStream, reply, stopped: false, confirms: new Set(), events: [] };
    this._turn = turn;
    try {
      turn.stream = client.chat(message, this.chatOptions(client, turn));
    } catch (e) {
      if (this._turn === turn) this._turn = null;
      this.cancelConfirms(turn);
      reply.streaming = false;
      this.turnFailed(reply, e);
      return;
    }
    const stream = turn.stream;
    const current = () => this._turn === turn;
    try {
      for await (const piece of stream) {
        if (turn.stopped || !current()) break;
        if (!reply.content) this.answerStarted(reply);
        reply.content += piece;
        this.emit('neuronos-token', { piece });
        this.scheduleStreamRender();
      }
      const result = await stream.result;
      if (!current()) return;
      this.finishTurn(turn, result);
    } catch (e) {
      if (!current()) return;
      const err = NeuronOSError.from(e, 'internal');
      if (turn.stopped && err.code === 'aborted') {
        this.finishTurn(turn, null);
        return;
      }
      this._turn = null;
      clearTimeout(turn.stopTimer);
      reply.streaming = false;
      this.settleSteps(turn, 'interrupted');
      this.turnFailed(reply, err);
    }
  }

  private finishTurn(turn: Turn, result: AgentTurnResult | null, setReady = true): void {
    clearTimeout(turn.stopTimer);
    if (this._turn === turn) this._turn = null;
    const reply = turn.reply;
    reply.streaming = false;
    reply.finish = turn.stopped ? 'aborted' : (result?.finish ?? 'none');
    reply.stats = result?.stats ?? null;
    if (result?.agentFinish) reply.agentFinish = result.agentFinish;
    if (!turn.stopped && result && !reply.content) {
      // an agent turn's answer is its answer step's; the text of a plain one is the reply
      if (reply.answer !== undefined) reply.content = reply.answer;
      else if (!reply.steps?.length && result.text) reply.content = result.text;
    }
    this.settleSteps(turn, turn.stopped ? 'stopped' : 'interrupted');
    if (result?.stats) this._lastStats = result.stats;
    if (reply.finish !== 'aborted') this._recoveries = 0;
    if (setReady) this._status = 'ready';
    this.cancelStreamRender();
    this.requestUpdate();
    const text = markdownToText(reply.content);
    const note = reply.agentFinish && !turn.stopped ? AGENT_FINISH_NOTE[reply.agentFinish] : undefined;
    this.announce(turn.stopped ? `Stopped. ${text}` : text || note || 'The reply is empty.');
    // the turn may have changed the memory (the agent's memory tools, the recall log)
    if (this._memoryPanel) void this.loadMemory();
    const detail: NeuronOSMessageDetail = { role: 'assistant', content: reply.content, finish: reply.finish, stats: reply.stats };
    const steps = result?.steps ?? turn.events;
    if (steps.length) detail.steps = steps;
    if (reply.agentFinish) detail.agentFinish = reply.agentFinish;
    this.emit('neuronos-message', detail);
  }

  private turnFailed(reply: Entry, e: unknown): void {
    const err = NeuronOSError.from(e, 'internal');
    reply.error = err.code === 'wasm_crashed' ? 'Interrupted: the AI engine crashed.' : `Interrupted: ${describeError(err)}`;
    this.cancelStreamRender();
    this.requestUpdate();
    this.handleError(err);
  }

  // --- agent steps ----------------------------------------------------------------------------

  /** Whether the turn still takes the client's callbacks (not stopped, not replaced). */
  private isLive(turn: Turn): boolean {
    return this._turn === turn && !turn.stopped;
  }

  /** The view of step `n` of the reply, created on its first news. */
  private stepView(reply: Entry, n: number): StepView {
    const steps = (reply.steps ??= []);
    let view = steps.find((v) => v.step === n);
    if (!view) {
      view = { step: n, status: 'thinking', thought: '', hasResult: false, open: true, userToggled: false };
      steps.push(view);
      steps.sort((a, b) => a.step - b.step);
    }
    return view;
  }

  /** A step is over: its block collapses, unless the visitor opened or closed it. */
  private settle(view: StepView, status: StepStatus): void {
    view.status = status;
    if (!view.userToggled) view.open = false;
  }

  /** The answer begins: a step still thinking was the answer's thought. */
  private answerStarted(reply: Entry): void {
    for (const v of reply.steps ?? []) if (v.status === 'thinking') this.settle(v, 'answered');
  }

  /** The turn ended (stopped, failed, or finished): nothing stays in progress or waiting. */
  private settleSteps(turn: Turn, how: 'stopped' | 'interrupted'): void {
    this.cancelConfirms(turn);
    for (const v of turn.reply.steps ?? []) {
      if (!STEP_IN_PROGRESS.has(v.status)) continue;
      // a finished turn's last thought that saw no answer event was still its answer's
      this.settle(v, how === 'interrupted' && v.status === 'thinking' && turn.reply.answer !== undefined ? 'answered' : how);
    }
  }

  private onThought(turn: Turn, step: number, piece: string): void {
    if (!this.isLive(turn)) return;
    const view = this.stepView(turn.reply, step);
    view.thought += piece;
    this.scheduleStreamRender();
  }

  private onStep(turn: Turn, e: AgentStepEvent): void {
    if (!this.isLive(turn) || !e) return;
    turn.events.push(e);
    const view = this.stepView(turn.reply, e.step);
    if (typeof e.thought === 'string' && e.thought) view.thought = e.thought;
    if (e.tool !== undefined) view.tool = e.tool;
    if (e.args !== undefined) view.args = e.args;
    switch (e.kind) {
      case 'action':
        // (onToolCall may have come first: then the step is already further on)
        if (view.status === 'thinking') view.status = 'calling';
        break;
      case 'observation':
        if (e.error !== undefined && e.error !== null) view.error = String(e.error);
        else {
          view.hasResult = true;
          view.result = e.result;
        }
        this.settle(view, view.error !== undefined ? 'failed' : 'done');
        break;
      case 'refused':
        view.error = e.error ?? view.error;
        this.settle(view, 'refused');
        break;
      case 'invalid':
        view.error = e.error ?? 'the model produced an invalid step';
        this.settle(view, 'invalid');
        break;
      case 'answer':
        turn.reply.answer = e.answer ?? '';
        this.settle(view, 'answered');
        break;
    }
    this.emit('neuronos-step', e);
    this.scheduleStreamRender();
  }

  /**
   * Before every tool call: the page may refuse it (`neuronos-tool-call`, cancelable), and a
   * call that asks for confirmation waits for the visitor's Allow/Deny.
   */
  private onToolCall(turn: Turn, call: ToolCallRequest): boolean | Promise<boolean> {
    if (!this.isLive(turn) || !call) return false;
    const view = this.stepView(turn.reply, call.step);
    view.tool = call.tool;
    view.args = call.args;
    if (STEP_IN_PROGRESS.has(view.status)) view.status = 'calling';
    this.scheduleStreamRender();
    const allowed = this.isConnected ? this.dispatchEvent(chatEvent('neuronos-tool-call', call)) : false;
    if (!this.isLive(turn)) return false; // a listener stopped the turn
    if (!allowed) {
      view.refusedBy = 'page';
      view.status = 'refused';
      return false;
    }
    if (!call.confirm) {
      view.status = 'running';
      this.announce(`Using ${call.tool}.`);
      return true;
    }
    return this.askVisitor(turn, view);
  }

  /** The inline Allow/Deny question; resolves once (false when the turn ends first). */
  private askVisitor(turn: Turn, view: StepView): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const c: Confirmation = { id: nextConfirmId++, state: 'pending', resolve };
      view.confirm = c;
      view.status = 'confirming';
      turn.confirms.add(c);
      this.requestUpdate();
      void this.updateComplete.then(() => {
        if (c.state === 'pending') this.renderRoot.querySelector<HTMLElement>(`[data-confirm="${c.id}"]`)?.focus();
      });
    });
  }

  /** The visitor's answer (Allow, Deny, Escape). Later clicks change nothing. */
  private answerConfirm(view: StepView, allowed: boolean): void {
    const c = view.confirm;
    const turn = this._turn;
    if (!c || c.state !== 'pending') return;
    const hadFocus = !!(this.renderRoot as ShadowRoot).activeElement?.closest?.('.confirm');
    c.state = allowed ? 'allowed' : 'denied';
    turn?.confirms.delete(c);
    if (allowed) {
      view.status = 'running';
      this.announce(`Allowed. Using ${view.tool ?? 'the tool'}.`);
    } else {
      view.refusedBy = 'visitor';
      view.status = 'refused';
      this.announce(`Denied: ${view.tool ?? 'the tool'} will not run.`);
    }
    c.resolve(allowed);
    this.requestUpdate();
    if (hadFocus) this.focusInput();
  }

  /** Unanswered confirmations of an ended turn are answered "no". */
  private cancelConfirms(turn: Turn): void {
    for (const c of turn.confirms) {
      c.state = 'cancelled';
      c.resolve(false);
    }
    turn.confirms.clear();
  }

  private onConfirmKeyDown(view: StepView, e: KeyboardEvent): void {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.answerConfirm(view, false);
    }
  }

  private onStepToggle(view: StepView, e: Event): void {
    const open = (e.currentTarget as HTMLDetailsElement).open;
    if (open === view.open) return; // our own change
    view.open = open;
    view.userToggled = true;
  }

  /** Registers the element's page tools on a (new or restarted) client; refusals are shown. */
  private installPageTools(client: ClientLike, again: boolean): void {
    for (const [name, tool] of [...this._pageTools]) {
      try {
        if (!client.registerTool) throw new NeuronOSError('unsupported', 'this client has no page tools (registerTool)', 'registerTool');
        if (again) client.unregisterTool?.(name);
        client.registerTool(tool);
        this.clearConfigError(`tool:${name}`);
      } catch (e) {
        const err = NeuronOSError.from(e, 'invalid_argument', 'registerTool');
        this._pageTools.delete(name);
        this.reportConfigError(`tool:${name}`, `The page tool '${name}' was not registered: ${describeError(err)}`);
      }
    }
  }

  /** Ends the running turn without waiting (model change, load, teardown). */
  private endTurn(): void {
    const turn = this._turn;
    if (!turn) return;
    this._turn = null;
    clearTimeout(turn.stopTimer);
    turn.stopped = true;
    turn.reply.streaming = false;
    turn.reply.finish = 'aborted';
    this.settleSteps(turn, 'stopped');
    try {
      turn.stream.abort();
    } catch {
      /* ignore */
    }
  }

  /** Replies re-render at most once per frame while they stream. */
  private scheduleStreamRender(): void {
    if (this._renderFrame) return;
    if (typeof requestAnimationFrame === 'undefined' || document.visibilityState === 'hidden') {
      this.requestUpdate();
      return;
    }
    this._renderFrame = requestAnimationFrame(() => {
      this._renderFrame = 0;
      this.requestUpdate();
    });
  }

  private cancelStreamRender(): void {
    if (this._renderFrame) cancelAnimationFrame(this._renderFrame);
    this._renderFrame = 0;
  }

  // --- memory ---------------------------------------------------------------------------------

  /** The agent name passed to `memory.open()` and `chat()`. */
  private get memoryAgent(): string {
    return this._memoryName === MEMORY_OFF ? DEFAULT_AGENT : this._memoryName;
  }

  private get memoryPersist(): boolean {
    return this._memoryName !== MEMORY_OFF;
  }

  /**
   * Opens the memory of `memory` on `client`, once per client and name (null: the client has no
   * memory). The outcome shows (button, notice) and is fired as `neuronos-memory`; a failure is
   * shown and fired as `neuronos-error`, and the next use tries again.
   */
  private openMemory(client: ClientLike): Promise<MemoryOpenResult> | null {
    const memory = client.memory;
    if (!memory) return null;
    const agent = this.memoryAgent;
    const persist = this.memoryPersist;
    const key = `${agent}\n${persist}`;
    const current = this._memOpen;
    if (current && current.client === client && current.key === key) return current.promise;
    const life = this._life;
    const promise = Promise.resolve().then(() => memory.open(agent, { persist }));
    const entry = { client, key, promise };
    this._memOpen = entry;
    this._memoryInfo = null;
    this._memoryNotice = null;
    this.resetMemoryView();
    const stale = () => life !== this._life || this._memOpen !== entry;
    promise.then(
      (r) => {
        if (stale()) return;
        const info: MemoryOpenResult = { agent: typeof r?.agent === 'string' ? r.agent : agent, persistent: r?.persistent ?? persist };
        if (r?.notice) info.notice = { code: String(r.notice.code), message: String(r.notice.message) };
        this._memoryInfo = info;
        if (info.notice) {
          this._memoryNotice = info.notice.message;
          this.emit('neuronos-notice', { ...info.notice });
        }
        this.emit('neuronos-memory', { action: 'open', ...info });
        if (this._memoryPanel) void this.loadMemory();
      },
      (e: unknown) => {
        if (stale()) return;
        this._memOpen = null;
        const err = NeuronOSError.from(e, 'internal', 'memory.open');
        this._memoryNotice = `The memory could not be opened: ${describeError(err)}`;
        this._mem.error = this._memoryNotice;
        this.emit('neuronos-error', { code: err.code, message: this._memoryNotice });
        this.requestUpdate();
      },
    );
    return promise;
  }

  /** `memory` changed: open the new memory (a new conversation with it), if there is a client. */
  private memoryNameChanged(): void {
    const client = this._client;
    if (!client?.memory) return;
    const open = this._memOpen;
    if (open && open.client === client && open.key === `${this.memoryAgent}\n${this.memoryPersist}`) return;
    if (open && (this._messages.length || this._turn)) this.clear();
    void this.openMemory(client)?.catch(() => undefined);
  }

  /** The open memory of the client (created if need be, for the panel). */
  private async memoryApi(): Promise<MemoryClientLike> {
    const client = await this.getClient();
    const memory = client.memory;
    if (!memory) throw new NeuronOSError('unsupported', 'this version of the AI engine has no memory', 'memory');
    await this.openMemory(client);
    return memory;
  }

  /** A new, empty panel state; work still running for the old one is dropped. */
  private resetMemoryView(): void {
    const keepQuery = this._mem.query;
    this._mem = emptyMemoryView();
    this._mem.query = keepQuery;
    this.requestUpdate();
  }

  private memoryFailed(view: MemoryView, e: unknown, doing: string): void {
    if (view !== this._mem) return;
    const err = NeuronOSError.from(e, 'internal', 'memory');
    view.error = `${doing}: ${describeError(err)}`;
    this.emit('neuronos-error', { code: err.code, message: view.error });
    this.requestUpdate();
  }

  private tierMore(view: MemoryView, tier: MemoryTier, got: number, asked: number): boolean {
    const total = view.stats?.[tier];
    return typeof total === 'number' ? view.tiers[tier].items.length < total : got >= asked;
  }

  /** Loads the counts and the first page of every tier into the panel. */
  private async loadMemory(): Promise<void> {
    const view = this._mem;
    view.loading = true;
    view.error = null;
    this.requestUpdate();
    try {
      const memory = await this.memoryApi();
      if (view !== this._mem) return;
      const [stats, core, archival, recall] = await Promise.all([
        memory.stats(),
        memory.list('core', { offset: 0, limit: MEMORY_CORE_LIMIT }),
        memory.list('archival', { offset: 0, limit: MEMORY_PAGE }),
        memory.list('recall', { offset: 0, limit: MEMORY_PAGE }),
      ]);
      if (view !== this._mem) return;
      view.stats = stats;
      const lists: Array<[MemoryTier, MemoryItem[], number]> = [
        ['core', core, MEMORY_CORE_LIMIT],
        ['archival', archival, MEMORY_PAGE],
        ['recall', recall, MEMORY_PAGE],
      ];
      for (const [tier, items, asked] of lists) {
        const t = view.tiers[tier];
        t.items = Array.isArray(items) ? items : [];
        t.more = this.tierMore(view, tier, t.items.length, asked);
      }
      view.loaded = true;
    } catch (e) {
      this.memoryFailed(view, e, 'The memory could not be read');
    } finally {
      if (view === this._mem) {
        view.loading = false;
        this.requestUpdate();
      }
    }
  }

  private async refreshMemoryStats(view: MemoryView, memory: MemoryClientLike): Promise<void> {
    try {
      const stats = await memory.stats();
      if (view !== this._mem) return;
      view.stats = stats;
      for (const { tier } of MEMORY_TIERS) view.tiers[tier].more = view.tiers[tier].items.length < (stats?.[tier] ?? 0);
      this.requestUpdate();
    } catch {
      /* the counts stay as they were */
    }
  }

  /**
   * Opens (true), closes (false) or toggles the memory panel, as the Memory button does. Opening it
   * before the model is loaded starts the AI engine to read the memory (not the model download).
   */
  toggleMemoryPanel(open = !this._memoryPanel): void {
    if (open === this._memoryPanel) return;
    if (!open) {
      this.closeMemoryPanel(false);
      return;
    }
    this._memoryPanel = true;
    void this.loadMemory();
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>('[part~="memory-panel"]')?.focus());
  }

  /** Closes the panel; focus goes back to the Memory button when it was inside (or `refocus`). */
  private closeMemoryPanel(refocus: boolean): void {
    const panel = this.renderRoot.querySelector('[part~="memory-panel"]');
    const active = (this.renderRoot as ShadowRoot).activeElement;
    const inside = !!active && !!panel?.contains(active);
    this._memoryPanel = false;
    this._mem.confirmForget = false;
    this._mem.pendingImport = null;
    if (refocus || inside) void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>('[part~="memory-button"]')?.focus());
  }

  private focusInPanel(selector: string): void {
    void this.updateComplete.then(() => {
      const panel = this.renderRoot.querySelector<HTMLElement>('[part~="memory-panel"]');
      if (!panel) return;
      (panel.querySelector<HTMLElement>(selector) ?? panel).focus();
    });
  }

  private onMemoryKeyDown(e: KeyboardEvent): void {
    if (e.key !== 'Escape') return;
    const view = this._mem;
    const target = e.composedPath()[0] as HTMLElement | undefined;
    if (view.confirmForget) {
      e.preventDefault();
      this.cancelForget();
    } else if (view.pendingImport) {
      e.preventDefault();
      this.cancelImport();
    } else if (target instanceof HTMLInputElement && target.type === 'search' && target.value) {
      return; // Escape empties the search box first
    } else {
      e.preventDefault();
      this.closeMemoryPanel(true);
    }
    e.stopPropagation();
  }

  private async showMoreMemory(tier: MemoryTier): Promise<void> {
    const view = this._mem;
    const t = view.tiers[tier];
    if (t.loading) return;
    t.loading = true;
    this.requestUpdate();
    const before = t.items.length;
    try {
      const memory = await this.memoryApi();
      const items = await memory.list(tier, { offset: before, limit: MEMORY_PAGE });
      if (view !== this._mem) return;
      const seen = new Set(t.items.map(itemKey));
      const added = (Array.isArray(items) ? items : []).filter((i) => !seen.has(itemKey(i)));
      t.items = [...t.items, ...added];
      t.more = added.length > 0 && this.tierMore(view, tier, items.length, MEMORY_PAGE);
      this.announce(added.length ? `${added.length} more shown.` : 'Nothing more.');
      if (!t.more && added[0]) this.focusInPanel(`#mem-${tier}-${this._uid} [data-key="${CSS.escape(itemKey(added[0]))}"] [part~="memory-delete-button"]`);
    } catch (e) {
      this.memoryFailed(view, e, 'Could not load more');
    } finally {
      t.loading = false;
      this.requestUpdate();
    }
  }

  private async searchMemory(): Promise<void> {
    const view = this._mem;
    const q = view.query.trim();
    if (!q) {
      view.search = null;
      this.requestUpdate();
      return;
    }
    view.searching = true;
    view.error = null;
    this.requestUpdate();
    try {
      const memory = await this.memoryApi();
      const items = await memory.search(q, { limit: MEMORY_SEARCH_LIMIT });
      if (view !== this._mem) return;
      view.search = { query: q, items: Array.isArray(items) ? items : [] };
      const n = view.search.items.length;
      this.announce(n === 0 ? `Nothing found for ${q}.` : `${n} ${n === 1 ? 'result' : 'results'} for ${q}.`);
    } catch (e) {
      this.memoryFailed(view, e, 'The search failed');
    } finally {
      view.searching = false;
      this.requestUpdate();
    }
  }

  private clearMemorySearch(): void {
    this._mem.search = null;
    this._mem.query = '';
    this.requestUpdate();
    this.focusInPanel('input[type="search"]');
  }

  /** Deletes one item (its Delete button); focus moves to the next item of the same list. */
  private async deleteMemoryItem(item: MemoryItem, e: Event): Promise<void> {
    const view = this._mem;
    const key = itemKey(item);
    if (view.deleting.has(key)) return;
    // where focus goes afterwards: the next item of this list, else the previous, else its heading
    const li = (e.currentTarget as HTMLElement | null)?.closest('li');
    const list = li?.parentElement;
    const neighbour = (li?.nextElementSibling ?? li?.previousElementSibling) as HTMLElement | null | undefined;
    const after = list?.id
      ? neighbour?.dataset['key']
        ? `#${list.id} [data-key="${CSS.escape(neighbour.dataset['key'])}"] [part~="memory-delete-button"]`
        : `#${list.id}-heading`
      : '';
    view.deleting.add(key);
    view.error = null;
    this.requestUpdate();
    try {
      const memory = await this.memoryApi();
      await memory.delete(item.tier, item.id);
      if (view !== this._mem) return;
      const keep = (i: MemoryItem) => itemKey(i) !== key;
      const t = view.tiers[item.tier];
      t.items = t.items.filter(keep);
      if (view.search) view.search = { ...view.search, items: view.search.items.filter(keep) };
      if (view.stats) view.stats = { ...view.stats, [item.tier]: Math.max(0, (view.stats[item.tier] ?? 1) - 1) };
      const agent = this._memoryInfo?.agent ?? this.memoryAgent;
      this.announce(`Deleted ${memoryItemName(item)}.`);
      this.emit('neuronos-memory', { action: 'delete', agent, tier: item.tier, id: item.id });
      if (after) this.focusInPanel(after);
      void this.refreshMemoryStats(view, memory);
    } catch (err) {
      this.memoryFailed(view, err, `Could not delete the ${memoryItemName(item)}`);
    } finally {
      view.deleting.delete(key);
      this.requestUpdate();
    }
  }

  /** Downloads the memory as a JSON file (and fires `neuronos-memory` with the document). */
  private async exportMemory(): Promise<void> {
    const view = this._mem;
    if (view.busy) return;
    view.busy = 'export';
    view.error = null;
    this.requestUpdate();
    try {
      const memory = await this.memoryApi();
      const doc = await memory.export();
      if (view !== this._mem) return;
      const agent = this._memoryInfo?.agent ?? this.memoryAgent;
      const day = new Date().toISOString().slice(0, 10);
      const name = `neuronos-memory-${agent}-${day}.json`;
      this.saveFile(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }), name);
      this.announce(`Memory exported as ${name}.`);
      this.emit('neuronos-memory', { action: 'export', agent, document: doc });
    } catch (e) {
      this.memoryFailed(view, e, 'The memory could not be exported');
    } finally {
      if (view.busy === 'export') view.busy = null;
      this.requestUpdate();
    }
  }

  /** Saves `blob` as a download named `filename` (a Blob URL and `<a download>`). */
  protected saveFile(blob: Blob, filename: string): void {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    a.hidden = true;
    this.renderRoot.appendChild(a);
    try {
      a.click();
    } finally {
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 30_000);
    }
  }

  private chooseImportFile(): void {
    this.renderRoot.querySelector<HTMLInputElement>('.memory-import-file')?.click();
  }

  /** A file was chosen: read and parse it, then ask "Replace or merge?". */
  private async onImportFile(e: Event): Promise<void> {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    const view = this._mem;
    view.error = null;
    this.requestUpdate();
    let doc: unknown;
    try {
      if (file.size > MAX_IMPORT_BYTES) throw new Error(`the file is larger than ${formatBytes(MAX_IMPORT_BYTES)}`);
      doc = JSON.parse(await file.text());
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('it is not a JSON object');
    } catch (err) {
      if (view !== this._mem) return;
      view.error = `${snippet(file.name, 80)} is not a memory export: ${snippet(err instanceof Error ? err.message : String(err), 200)}`;
      this.emit('neuronos-error', { code: 'invalid_argument', message: view.error });
      this.requestUpdate();
      return;
    }
    if (view !== this._mem) return;
    view.pendingImport = { doc: doc as object, name: file.name };
    view.confirmForget = false;
    this.requestUpdate();
    this.focusInPanel('[part~="memory-import-choice"]');
  }

  private cancelImport(): void {
    this._mem.pendingImport = null;
    this.requestUpdate();
    this.focusInPanel('[part~="memory-import-button"]');
  }

  private async importMemory(mode: 'replace' | 'merge'): Promise<void> {
    const view = this._mem;
    const pending = view.pendingImport;
    if (!pending || view.busy) return;
    view.busy = 'import';
    view.error = null;
    this.requestUpdate();
    try {
      const memory = await this.memoryApi();
      await memory.import(pending.doc, { mode });
      if (view !== this._mem) return;
      view.pendingImport = null;
      view.search = null;
      const agent = this._memoryInfo?.agent ?? this.memoryAgent;
      this.announce(mode === 'replace' ? `The memory was replaced by ${pending.name}.` : `${pending.name} was merged into the memory.`);
      this.emit('neuronos-memory', { action: 'import', agent, mode });
      this.focusInPanel('[part~="memory-import-button"]');
    } catch (e) {
      this.memoryFailed(view, e, 'The file could not be imported');
    } finally {
      if (view.busy === 'import') view.busy = null;
      this.requestUpdate();
    }
    if (view === this._mem && !view.pendingImport) void this.loadMemory();
  }

  private askForget(): void {
    this._mem.confirmForget = true;
    this._mem.pendingImport = null;
    this.requestUpdate();
    this.focusInPanel('[part~="memory-forget-confirm"]');
  }

  private cancelForget(): void {
    this._mem.confirmForget = false;
    this.requestUpdate();
    this.focusInPanel('[part~="memory-forget-button"]');
  }

  /** "Forget everything", confirmed: the conversation ends, then the agent's memory is cleared. */
  private async forgetEverything(): Promise<void> {
    const view = this._mem;
    if (!view.confirmForget || view.busy) return;
    view.busy = 'clear';
    view.error = null;
    this.requestUpdate();
    try {
      const memory = await this.memoryApi();
      // the conversation first, so a running turn cannot log to the memory after it was cleared
      this.clear();
      await memory.clear();
      if (view !== this._mem) return;
      view.confirmForget = false;
      view.search = null;
      view.query = '';
      const agent = this._memoryInfo?.agent ?? this.memoryAgent;
      this.announce('Everything the assistant remembered was forgotten.');
      this.emit('neuronos-memory', { action: 'clear', agent });
      this.focusInPanel('[part~="memory-forget-button"]');
    } catch (e) {
      this.memoryFailed(view, e, 'The memory could not be cleared');
    } finally {
      if (view.busy === 'clear') view.busy = null;
      this.requestUpdate();
    }
    if (view === this._mem && !view.confirmForget) void this.loadMemory();
  }

  // --- errors and recovery --------------------------------------------------------------------

  private handleError(e: unknown): void {
    const err = NeuronOSError.from(e, 'internal');
    if (err.code === 'wasm_crashed') {
      void this.recover(err);
      return;
    }
    this._status = this._info && this._client ? 'ready' : 'error';
    this.setError(err.code, describeError(err));
  }

  /**
   * A crashed (or stuck) worker: restart it, load the model again, put the conversation back.
   * Gives up after MAX_RECOVERIES in a row; a click on Load then starts a fresh client.
   */
  private async recover(err: NeuronOSError, opts: { report?: boolean; reason?: string } = {}): Promise<void> {
    const client = this._client;
    const life = this._life;
    const reason = opts.reason ?? 'The AI engine crashed';
    if (opts.report ?? true) this.emit('neuronos-error', { code: err.code, message: describeError(err) });
    this._recoveries++;
    if (!client || this._recoveries > MAX_RECOVERIES) {
      this.dropClient();
      this._info = null;
      this._loaded = null;
      this._status = 'error';
      this._error = { code: err.code, message: `${reason} again. Load the model to try once more.` };
      return;
    }
    const history = [...(client.history ?? [])];
    this._loadSeq++;
    this._status = 'restarting';
    this._info = null;
    this._error = { code: err.code, message: `${reason}; restarting it…` };
    try {
      await client.restart();
    } catch (e) {
      if (life !== this._life) return;
      // the client is beyond repair: the next load starts a new one
      this.dropClient();
      this._status = 'error';
      this.setError(NeuronOSError.from(e, 'worker_failed').code, describeError(NeuronOSError.from(e, 'worker_failed')));
      return;
    }
    // the page tools again, in case the client forgot them with its worker; the memory too
    if (this._client === client) {
      this.installPageTools(client, true);
      this._memOpen = null;
      void this.openMemory(client);
    }
    // the element was removed, or the model changed meanwhile (that load follows `load`)
    if (life !== this._life || this._status !== 'restarting') return;
    await this.startLoad(history, { code: err.code, message: `${reason} and was restarted; the model is loaded again.` });
  }

  private setError(code: NeuronOSErrorCode, message: string): void {
    this._error = { code, message };
    this.emit('neuronos-error', { code, message });
  }

  private dropClient(): void {
    const c = this._client;
    this._client = null;
    this._clientPromise = null;
    try {
      c?.dispose();
    } catch {
      /* already gone */
    }
  }

  /** Removed from the page: end the client, forget everything; a re-insert starts afresh. */
  private teardown(): void {
    this._life++;
    this._loadSeq++;
    this._loadAbort?.abort();
    this._loadAbort = null;
    this.endTurn();
    this.cancelStreamRender();
    this.dropClient();
    this._status = 'idle';
    this._progress = null;
    this._info = null;
    this._loaded = null;
    this._messages = [];
    this._error = null;
    this._lastStats = null;
    this._recoveries = 0;
    this._memOpen = null;
    this._memoryInfo = null;
    this._memoryNotice = null;
    this._memoryPanel = false;
    this._mem = emptyMemoryView();
  }

  // --- attribute validation -------------------------------------------------------------------

  private validateNumber(key: keyof typeof SPECS, raw: unknown, previous: number | undefined): number | undefined {
    const spec: NumberSpec = SPECS[key];
    const { value, error } = parseNumber(spec, raw, previous);
    if (error) this.reportConfigError(spec.attr, error);
    else this.clearConfigError(spec.attr);
    return value;
  }

  private reportConfigError(attr: string, message: string): void {
    const next = new Map(this._configErrors ?? []);
    next.set(attr, message);
    this._configErrors = next;
    this.emit('neuronos-error', { code: 'invalid_argument', message });
  }

  private clearConfigError(attr: string): void {
    if (!this._configErrors?.has(attr)) return;
    const next = new Map(this._configErrors);
    next.delete(attr);
    this._configErrors = next;
  }

  // --- helpers --------------------------------------------------------------------------------

  private emit<K extends keyof NeuronOSChatEventMap>(type: K, detail: NeuronOSChatEventMap[K]['detail']): void {
    if (!this.isConnected) {
      // e.g. an invalid attribute while the element is created: told once it is on the page
      (this._pendingEvents ??= []).push([type, detail]);
      return;
    }
    this.dispatchEvent(chatEvent(type, detail));
  }

  private announce(text: string): void {
    this._announcement = { id: (this._announcement?.id ?? 0) + 1, text };
  }

  private focusInput(): void {
    // after the update, so a re-rendered composer does not lose it
    void this.updateComplete.then(() => this._input?.focus());
  }

  private onKeyDown(e: KeyboardEvent): void {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void this.send();
    } else if (e.key === 'Escape' && this._turn) {
      e.preventDefault();
      this.stop();
    }
  }

  private onSendClick(): void {
    void this.send();
    this.focusInput();
  }

  private onLogScroll(): void {
    const log = this._log;
    if (log) this._stickToBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  }

  private onSetting(key: 'temperature' | 'maxTokens' | 'contextSize', e: Event): void {
    const value = (e.target as HTMLInputElement).value;
    this[key] = value;
    this.requestUpdate(); // re-syncs the field when the value was rejected
  }

  // --- rendering ------------------------------------------------------------------------------

  private statusText(): string {
    switch (this._status) {
      case 'idle':
        return this.model ? 'Not loaded' : 'No model set';
      case 'starting':
        return 'Starting the AI engine…';
      case 'loading':
        return 'Loading the model…';
      case 'ready':
        return 'Ready';
      case 'generating': {
        const step = this._turn?.reply.steps?.findLast((v) => STEP_IN_PROGRESS.has(v.status));
        if (step?.status === 'confirming') return 'Waiting for your permission…';
        if (step?.status === 'running' || step?.status === 'calling') return `Using ${step.tool ?? 'a tool'}…`;
        if (step?.status === 'thinking') return 'Thinking…';
        return 'Writing a reply…';
      }
      case 'stopping':
        return 'Stopping…';
      case 'restarting':
        return 'Restarting the AI engine…';
      case 'error':
        return 'Not loaded (error)';
    }
  }

  private renderProgress(): TemplateResult | typeof nothing {
    if (this._status !== 'starting' && this._status !== 'loading' && this._status !== 'restarting') return nothing;
    const p = this._progress;
    const pct = p && p.percent >= 0 ? Math.round(p.percent) : undefined;
    let text = this._status === 'starting' ? 'Starting the AI engine…' : this._status === 'restarting' ? 'Restarting…' : 'Preparing…';
    if (p) {
      text = `${PHASE_LABEL[p.phase]}: ${formatBytes(p.loaded)}${p.total > 0 ? ` of ${formatBytes(p.total)}` : ''}${pct !== undefined ? ` (${pct}%)` : ''}`;
    }
    return html`<div part="progress" class="progress" data-phase=${p?.phase ?? this._status}>
      <progress aria-label="Model loading progress" max="100" value=${ifDefined(pct)}></progress>
      <span class="progress-text">${text}</span>
    </div>`;
  }

  private renderLoadPanel(): TemplateResult | typeof nothing {
    if (this._status !== 'idle' && this._status !== 'error') return nothing;
    if (!this.model) return html`<p class="hint">Set the <code>model</code> attribute to the URL of a GGUF model.</p>`;
    const size = this._modelSize ? ` (${formatBytes(this._modelSize)})` : '';
    const hint =
      this._load === 'visible' && this._status === 'idle'
        ? `${modelNameFromUrl(this.model)}${size} loads when the chat scrolls into view, or now:`
        : `${modelNameFromUrl(this.model)}${size} is downloaded and runs in this browser.`;
    return html`<div class="load-panel">
      <button part="load-button" type="button" aria-describedby="load-hint-${this._uid}" @click=${() => void this.loadModel()}>
        ${this._status === 'error' ? 'Retry loading' : 'Load model'}
      </button>
      <span class="hint" id="load-hint-${this._uid}">${hint}</span>
    </div>`;
  }

  private stepSummary(v: StepView): string {
    const tool = v.tool ?? 'a tool';
    switch (v.status) {
      case 'thinking':
        return 'Thinking…';
      case 'calling':
      case 'running':
        return `Using ${tool}…`;
      case 'confirming':
        return `Waiting for your permission to use ${tool}`;
      case 'done':
        return `Used ${tool}`;
      case 'failed':
        return `${tool} failed`;
      case 'refused':
        return v.refusedBy === 'visitor' ? `You denied ${tool}` : `Refused ${tool}`;
      case 'invalid':
        return 'Invalid step';
      case 'answered':
        return 'Reasoning';
      case 'stopped':
        return v.tool ? `Stopped (${v.tool})` : 'Stopped';
      case 'interrupted':
        return v.tool ? `Interrupted (${v.tool})` : 'Interrupted';
    }
  }

  /** What a refused, failed or invalid step says, or its result. */
  private renderStepOutcome(v: StepView): TemplateResult | typeof nothing {
    let label: string;
    let text: string;
    if (v.status === 'refused') {
      label = 'Refused';
      text =
        v.refusedBy === 'visitor'
          ? 'You denied this call.'
          : v.refusedBy === 'page'
            ? 'The page refused this call.'
            : (v.error ?? 'The call was refused.');
    } else if (v.error !== undefined) {
      label = 'Error';
      text = v.error;
    } else if (v.hasResult) {
      label = 'Result';
      text = formatValue(v.result);
    } else if (v.confirm?.state === 'cancelled') {
      label = 'Not run';
      text = 'The reply was stopped before you answered.';
    } else return nothing;
    return html`<div part="step-result" class="step-result" data-outcome=${label.toLowerCase().replace(' ', '-')}>
      <span class="step-label">${label}</span>
      <pre>${text}</pre>
    </div>`;
  }

  private renderConfirm(v: StepView): TemplateResult | typeof nothing {
    const c = v.confirm;
    if (!c || c.state !== 'pending') return nothing;
    const id = `confirm-${this._uid}-${c.id}`;
    const args = hasArgs(v.args);
    return html`<div
      part="confirm"
      class="confirm"
      role="alertdialog"
      aria-labelledby="${id}-q"
      aria-describedby=${ifDefined(args ? `${id}-args` : undefined)}
      tabindex="-1"
      data-confirm=${c.id}
      @keydown=${(e: KeyboardEvent) => this.onConfirmKeyDown(v, e)}
    >
      <p class="confirm-question" id="${id}-q">
        Allow <strong>${v.tool ?? 'a tool'}</strong> ${args ? 'with these arguments?' : '(no arguments)?'}
      </p>
      ${args ? html`<pre class="confirm-args" id="${id}-args">${formatValue(v.args)}</pre>` : nothing}
      <div class="confirm-actions">
        <button part="allow-button" type="button" @click=${() => this.answerConfirm(v, true)}>Allow</button>
        <button part="deny-button" type="button" class="secondary" @click=${() => this.answerConfirm(v, false)}>Deny</button>
      </div>
    </div>`;
  }

  private renderStep(v: StepView): TemplateResult {
    const inProgress = STEP_IN_PROGRESS.has(v.status);
    return html`<details
        part="step"
        class="step"
        data-status=${v.status}
        ?open=${v.open}
        @toggle=${(e: Event) => this.onStepToggle(v, e)}
      >
        <summary part="step-summary" class="step-summary">${this.stepSummary(v)}</summary>
        <div class="step-body">
          ${v.thought || (inProgress && !v.tool)
            ? html`<div part="step-thought" class="step-thought">
                <span class="step-label">Thought</span>
                <p>${v.thought || '…'}</p>
              </div>`
            : nothing}
          ${v.tool !== undefined
            ? html`<div part="step-call" class="step-call">
                <span class="step-label">Call <code>${v.tool}</code></span>
                <pre>${hasArgs(v.args) ? formatValue(v.args) : '{}'}</pre>
              </div>`
            : nothing}
          ${this.renderStepOutcome(v)}
        </div>
      </details>
      ${this.renderConfirm(v)}`;
  }

  private renderSteps(m: Entry): TemplateResult | typeof nothing {
    const steps = (m.steps ?? []).filter((v) => v.thought || v.tool !== undefined || v.error !== undefined || STEP_IN_PROGRESS.has(v.status));
    if (!steps.length) return nothing;
    return html`<div part="steps" class="steps">
      ${repeat(
        steps,
        (v) => v.step,
        (v) => this.renderStep(v),
      )}
    </div>`;
  }

  private renderMessage(m: Entry): TemplateResult {
    const who = m.role === 'user' ? 'You' : 'Assistant';
    const notes: string[] = [];
    if (m.role === 'assistant' && !m.streaming) {
      if (m.error) notes.push(m.error);
      else {
        const agentNote = m.agentFinish && m.finish !== 'aborted' ? AGENT_FINISH_NOTE[m.agentFinish] : undefined;
        const note = agentNote ?? (m.finish ? FINISH_NOTE[m.finish] : undefined);
        if (note) notes.push(note);
        const tps = formatStats(m.stats);
        if (tps) notes.push(`${m.stats!.generatedTokens} tokens · ${tps}`);
      }
    }
    return html`<div
      part="message message-${m.role}"
      class="message ${m.role}${m.streaming ? ' streaming' : ''}"
      data-finish=${ifDefined(m.finish ?? undefined)}
    >
      <span class="visually-hidden">${who}:</span>
      ${m.role === 'user' ? html`<div class="text">${m.content}</div>` : html`${this.renderSteps(m)}<div class="md">${markdown(m.content)}</div>`}
      ${notes.length ? html`<span class="meta">${notes.join(' · ')}</span>` : nothing}
    </div>`;
  }

  private renderMemoryButton(): TemplateResult | typeof nothing {
    if (this._client && !this._client.memory) return nothing;
    const info = this._memoryInfo;
    const badge = !this.memoryPersist ? 'off' : info && !info.persistent ? 'not saved' : '';
    return html`<button
      part="memory-button"
      type="button"
      class="secondary small memory-button"
      aria-expanded=${this._memoryPanel ? 'true' : 'false'}
      aria-controls=${ifDefined(this._memoryPanel ? `memory-panel-${this._uid}` : undefined)}
      @click=${() => this.toggleMemoryPanel()}
    >
      Memory${badge ? html`<span class="memory-badge"> · ${badge}</span>` : nothing}
    </button>`;
  }

  private renderMemoryItem(item: MemoryItem, showTier: boolean): TemplateResult {
    const key = itemKey(item);
    const time = memoryTime(item.time);
    const tags = Array.isArray(item.tags) ? item.tags.map((t) => String(t)).filter(Boolean) : [];
    const role = item.tier === 'recall' && item.role ? roleName(item.role) : '';
    const label = [showTier ? TIER_NAME[item.tier] : '', item.tier === 'core' ? String(item.label ?? item.id) : '', role].filter(Boolean).join(' · ');
    const text = String(item.text ?? '');
    const shown = text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}… (${text.length - MAX_SHOWN_CHARS} more characters)` : text;
    return html`<li part="memory-item" class="memory-item" data-tier=${item.tier} data-key=${key}>
      <div class="memory-item-body">
        ${label ? html`<span class="memory-item-label">${label}</span>` : nothing}
        <p class="memory-text">${shown}</p>
        ${tags.length || time
          ? html`<p class="memory-meta">
              ${tags.length ? html`<span class="memory-tags">Tags: ${tags.join(', ')}</span>` : nothing}
              ${time ? html`<time datetime=${time.iso}>${time.text}</time>` : nothing}
            </p>`
          : nothing}
      </div>
      <button
        part="memory-delete-button"
        type="button"
        class="secondary small"
        ?disabled=${this._mem.deleting.has(key)}
        @click=${(e: Event) => void this.deleteMemoryItem(item, e)}
      >
        Delete<span class="visually-hidden"> ${memoryItemName(item)}</span>
      </button>
    </li>`;
  }

  private renderMemoryTier(v: MemoryView, t: (typeof MEMORY_TIERS)[number]): TemplateResult {
    const tv = v.tiers[t.tier];
    const id = `mem-${t.tier}-${this._uid}`;
    const count = v.stats?.[t.tier];
    return html`<section part="memory-tier" class="memory-tier" data-tier=${t.tier} aria-labelledby="${id}-heading">
      <h3 id="${id}-heading" tabindex="-1">${t.title}${typeof count === 'number' ? html` <span class="memory-count">(${count})</span>` : nothing}</h3>
      <p class="hint">${t.hint}</p>
      ${tv.items.length
        ? html`<ul id=${id} class="memory-list">
            ${repeat(
              tv.items,
              itemKey,
              (i) => this.renderMemoryItem(i, false),
            )}
          </ul>`
        : v.loaded
          ? html`<p class="hint memory-empty">${t.empty}</p>`
          : nothing}
      ${tv.more
        ? html`<button part="memory-more-button" type="button" class="secondary small" ?disabled=${tv.loading} @click=${() => void this.showMoreMemory(t.tier)}>
            Show more<span class="visually-hidden"> ${t.title.toLowerCase()}</span>
          </button>`
        : nothing}
    </section>`;
  }

  private renderMemorySearch(v: MemoryView): TemplateResult | typeof nothing {
    const s = v.search;
    if (!s) return nothing;
    const id = `mem-search-${this._uid}`;
    return html`<section part="memory-results" class="memory-tier" aria-labelledby="${id}-heading">
      <h3 id="${id}-heading" tabindex="-1">Results for “${s.query}” <span class="memory-count">(${s.items.length})</span></h3>
      ${s.items.length
        ? html`<ul id=${id} class="memory-list">
            ${repeat(
              s.items,
              itemKey,
              (i) => this.renderMemoryItem(i, true),
            )}
          </ul>`
        : html`<p class="hint memory-empty">Nothing found.</p>`}
      <button type="button" class="secondary small" @click=${() => this.clearMemorySearch()}>Clear search</button>
    </section>`;
  }

  private renderMemoryPanel(): TemplateResult | typeof nothing {
    if (!this._memoryPanel) return nothing;
    const v = this._mem;
    const id = (x: string) => `${x}-${this._uid}`;
    const info = this._memoryInfo;
    const agent = info?.agent ?? this.memoryAgent;
    let where: string;
    if (!this.memoryPersist) where = 'Memory is off: what the assistant remembers is kept in this tab only and forgotten when the page closes.';
    else if (!info) where = v.error ? 'The memory is not available.' : 'Opening the memory…';
    else if (info.persistent) where = `Stored in this browser, on this device only (memory “${agent}”).`;
    else where = `Not saved: kept in this tab only and forgotten when the page closes.${info.notice ? ` ${info.notice.message}` : ''}`;
    const s = v.stats;
    const counts = s ? `${plural(s.core, 'core block', 'core blocks')} · ${plural(s.archival, 'fact', 'facts')} · ${plural(s.recall, 'past message', 'past messages')}` : '';
    const busy = v.busy !== null;
    return html`<div
      part="memory-panel"
      id=${id('memory-panel')}
      class="memory-panel"
      role="dialog"
      aria-labelledby=${id('mem-title')}
      aria-describedby=${id('mem-where')}
      aria-busy=${v.loading ? 'true' : 'false'}
      tabindex="-1"
      @keydown=${this.onMemoryKeyDown}
    >
      <div class="memory-head">
        <h2 class="memory-title" id=${id('mem-title')}>Memory</h2>
        <button part="memory-close-button" type="button" class="secondary small" @click=${() => this.closeMemoryPanel(true)}>
          Close<span class="visually-hidden"> memory</span>
        </button>
      </div>
      <p class="hint" id=${id('mem-where')}>${where}</p>
      ${counts ? html`<p part="memory-counts" class="memory-counts">${counts}</p>` : nothing}
      ${v.error ? html`<p part="memory-error" class="memory-error" role="alert">${v.error}</p>` : nothing}
      <form
        part="memory-search"
        class="memory-search"
        role="search"
        @submit=${(e: Event) => {
          e.preventDefault();
          void this.searchMemory();
        }}
      >
        <label for=${id('mem-q')}>Search memory</label>
        <input id=${id('mem-q')} type="search" .value=${live(v.query)} @input=${this.onMemoryQuery} @search=${this.onMemoryQuery} />
        <button type="submit" class="secondary small" ?disabled=${v.searching}>Search</button>
      </form>
      ${v.loading && !v.loaded ? html`<p class="hint">Loading…</p>` : nothing}
      ${v.search ? this.renderMemorySearch(v) : MEMORY_TIERS.map((t) => this.renderMemoryTier(v, t))}
      <div class="memory-actions">
        <button part="memory-export-button" type="button" class="secondary small" ?disabled=${busy} @click=${() => void this.exportMemory()}>Export</button>
        <button part="memory-import-button" type="button" class="secondary small" ?disabled=${busy} @click=${() => this.chooseImportFile()}>Import…</button>
        <label class="visually-hidden" for=${id('mem-file')}>Memory file to import</label>
        <input
          id=${id('mem-file')}
          class="memory-import-file"
          type="file"
          accept=".json,application/json"
          hidden
          @change=${(e: Event) => void this.onImportFile(e)}
        />
        <button part="memory-forget-button" type="button" class="danger-outline small" ?disabled=${busy} @click=${() => this.askForget()}>
          Forget everything
        </button>
      </div>
      ${v.pendingImport
        ? html`<div
            part="memory-import-choice"
            class="confirm"
            role="alertdialog"
            aria-labelledby=${id('mem-import-q')}
            aria-describedby=${id('mem-import-d')}
            tabindex="-1"
          >
            <p class="confirm-question" id=${id('mem-import-q')}>Import <strong>${v.pendingImport.name}</strong>?</p>
            <p class="confirm-detail" id=${id('mem-import-d')}>
              Replace: what is remembered now is deleted, then the file is loaded. Merge: the file's memories are added to what is remembered.
            </p>
            <div class="confirm-actions">
              <button part="memory-import-replace" type="button" ?disabled=${busy} @click=${() => void this.importMemory('replace')}>Replace</button>
              <button part="memory-import-merge" type="button" ?disabled=${busy} @click=${() => void this.importMemory('merge')}>Merge</button>
              <button type="button" class="secondary" @click=${() => this.cancelImport()}>Cancel</button>
            </div>
          </div>`
        : nothing}
      ${v.confirmForget
        ? html`<div
            part="memory-forget-confirm"
            class="confirm"
            role="alertdialog"
            aria-labelledby=${id('mem-forget-q')}
            aria-describedby=${id('mem-forget-d')}
            tabindex="-1"
          >
            <p class="confirm-question" id=${id('mem-forget-q')}>Forget everything the assistant remembers?</p>
            <p class="confirm-detail" id=${id('mem-forget-d')}>
              This deletes its core memory, facts, conversation history and files (memory “${agent}”) on this device and clears this
              conversation. It cannot be undone.
            </p>
            <div class="confirm-actions">
              <button part="memory-forget-yes" type="button" class="danger" ?disabled=${busy} @click=${() => void this.forgetEverything()}>
                Forget everything
              </button>
              <button type="button" class="secondary" @click=${() => this.cancelForget()}>Cancel</button>
            </div>
          </div>`
        : nothing}
    </div>`;
  }

  private onMemoryQuery(e: Event): void {
    const view = this._mem;
    view.query = (e.target as HTMLInputElement).value;
    if (!view.query && view.search) {
      view.search = null; // the box was emptied (Escape, ×): back to the lists
      this.requestUpdate();
    }
  }

  private renderSettings(): TemplateResult | typeof nothing {
    if (this.hideSettings) return nothing;
    const id = (s: string) => `${s}-${this._uid}`;
    const loaded = this._loaded;
    const needsReload = !!loaded && (loaded.contextSize !== this._contextSize || loaded.threads !== this._threads);
    return html`<details part="settings" class="settings">
      <summary>Settings</summary>
      <div class="settings-body">
        <div class="field">
          <label for=${id('temperature')}>Temperature (0–2)</label>
          <input
            id=${id('temperature')}
            type="number"
            min="0"
            max="2"
            step="0.1"
            .value=${live(String(this._temperature))}
            @change=${(e: Event) => this.onSetting('temperature', e)}
          />
        </div>
        <div class="field">
          <label for=${id('max-tokens')}>Max tokens (1–8192)</label>
          <input
            id=${id('max-tokens')}
            type="number"
            min="1"
            max="8192"
            step="1"
            .value=${live(String(this._maxTokens))}
            @change=${(e: Event) => this.onSetting('maxTokens', e)}
          />
        </div>
        <div class="field">
          <label for=${id('context-size')}>Context size (128–32768)</label>
          <input
            id=${id('context-size')}
            type="number"
            min="128"
            max="32768"
            step="128"
            aria-describedby=${id('context-hint')}
            .value=${live(String(this._contextSize))}
            @change=${(e: Event) => this.onSetting('contextSize', e)}
          />
        </div>
        <div class="settings-actions">
          <span class="hint" id=${id('context-hint')}>Context size applies when the model loads.</span>
          ${needsReload
            ? html`<button type="button" class="secondary" @click=${() => void this.loadModel()}>Reload model</button>`
            : nothing}
          <button type="button" class="secondary" ?disabled=${this._messages.length === 0} @click=${() => this.clear()}>
            Clear conversation
          </button>
        </div>
      </div>
    </details>`;
  }

  protected override render(): TemplateResult {
    const name = this._info?.name && this._info.name !== '' ? this._info.name : modelNameFromUrl(this.model);
    const generating = this._status === 'generating';
    const errors = [...(this._configErrors?.entries() ?? [])].map(([attr, message]) => ({ key: `attr:${attr}`, code: 'invalid_argument', message }));
    if (this._error) errors.push({ key: 'runtime', code: this._error.code, message: this._error.message });
    const tps = formatStats(this._lastStats);
    return html`<div part="container" class="container">
      <div part="header" class="header">
        <span class="title">${name || 'NeuronOS chat'}</span>
        <span class="header-end">
          <span part="status" class="status" data-status=${this._status}
            >${this.statusText()}${tps && (this._status === 'ready' || this._status === 'generating')
              ? html` · <span class="tps">last reply ${tps}</span>`
              : nothing}</span
          >
          ${this.renderMemoryButton()}
        </span>
      </div>
      ${this._notice ? html`<p part="notice" class="notice hint">${this._notice}</p>` : nothing}
      ${this._memoryNotice ? html`<p part="memory-notice" class="notice hint">${this._memoryNotice}</p>` : nothing}
      <div part="error" class="errors" role="alert" ?hidden=${errors.length === 0}>
        ${repeat(
          errors,
          (e) => e.key,
          (e) => html`<p data-code=${e.code}>${e.message}</p>`,
        )}
      </div>
      ${this.renderMemoryPanel()} ${this.renderLoadPanel()} ${this.renderProgress()}
      <div
        part="messages"
        class="messages"
        role="log"
        aria-label="Conversation"
        aria-live="off"
        aria-busy=${generating && !this._turn?.confirms.size ? 'true' : 'false'}
        tabindex="0"
        @scroll=${this.onLogScroll}
      >
        ${this._messages.length === 0
          ? html`<p class="empty">${this._status === 'ready' ? 'Ask anything.' : 'No messages yet.'}</p>`
          : repeat(
              this._messages,
              (m) => m.id,
              (m) => this.renderMessage(m),
            )}
      </div>
      <div class="composer">
        <label class="visually-hidden" for="input-${this._uid}">Message</label>
        <textarea
          id="input-${this._uid}"
          part="input"
          rows="2"
          placeholder=${this.placeholder || 'Type a message…'}
          aria-describedby="input-hint-${this._uid}"
          @keydown=${this.onKeyDown}
        ></textarea>
        <span class="visually-hidden" id="input-hint-${this._uid}">Enter sends, Shift+Enter starts a new line, Escape stops the reply.</span>
        <button part="send-button" type="button" ?hidden=${generating} ?disabled=${this._status !== 'ready'} @click=${this.onSendClick}>
          Send
        </button>
        <button part="stop-button" type="button" ?hidden=${!generating} @click=${() => this.stop()}>Stop</button>
      </div>
      ${this.renderSettings()}
      <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
        ${keyed(this._announcement.id, html`<p>${this._announcement.text}</p>`)}
      </div>
    </div>`;
  }
}
