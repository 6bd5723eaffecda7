/**
 * Types of the agent (ReAct loop with tools), shared by the client (src/neuronos.ts), the worker
 * (src/worker/) and the element (components/). No code with side effects here.
 *
 * One agent turn: the model answers each step with exactly one JSON object (its output is
 * constrained by a grammar built from the enabled tools, so it cannot be anything else):
 *
 *   {"thought": "…", "action": "<tool name>", "args": {…}}     call a tool
 *   {"thought": "…", "answer": "…"}                          reply to the visitor (ends the turn)
 *
 * A tool's result goes back to the model as a user message `Observation: {"tool":…,"result":…}`
 * (or `…,"error":"…"}`), and the next step begins, until an answer or the step limit.
 */

/** The JSON Schema subset a tool's `parameters` may use (anything else is refused at
 *  registration with `invalid_argument`). The top level is always an object. */
export type ToolValueSchema =
  | { type: 'string'; description?: string; enum?: string[] }
  | { type: 'number'; description?: string }
  | { type: 'integer'; description?: string }
  | { type: 'boolean'; description?: string }
  | { type: 'array'; description?: string; items: { type: 'string' | 'number' | 'integer' | 'boolean'; enum?: string[] } };

export interface ToolParameters {
  type: 'object';
  properties: Record<string, ToolValueSchema>;
  required?: string[];
}

/** What the model is told about a tool. Names: [a-z][a-z0-9_]{0,47}. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: ToolParameters;
}

/** A tool defined by the page: its handler runs on the page (main thread). */
export interface PageTool extends ToolSpec {
  /** Receives the arguments (already checked against `parameters`); its return value (any
   *  JSON-serialisable value) is the observation. A throw becomes an error observation. */
  handler: (args: Record<string, unknown>) => unknown | Promise<unknown>;
  /** The element asks the visitor before each call (default false). */
  confirm?: boolean;
  /** Milliseconds the loop waits for the handler (default 30 000); then an error observation. */
  timeoutMs?: number;
}

/** The ten built-in tools. */
export const BUILTIN_TOOLS = [
  'calculator',
  'get_time',
  'core_memory_append',
  'core_memory_replace',
  'archival_memory_insert',
  'archival_memory_search',
  'conversation_search',
  'file_list',
  'file_read',
  'file_write',
] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOLS)[number];

/** Groups usable in an allow-list. */
export const TOOL_GROUPS: Record<string, readonly BuiltinToolName[]> = {
  memory: ['core_memory_append', 'core_memory_replace', 'archival_memory_insert', 'archival_memory_search', 'conversation_search'],
  files: ['file_list', 'file_read', 'file_write'],
};

/** One completed part of an agent turn (the `step` event, the element's `neuronos-step`). */
export interface AgentStepEvent {
  /** 0-based index of the model output this belongs to. */
  step: number;
  /**
   * action:      the model called a tool (`tool`, `args`), before it runs
   * observation: the tool's result (`result`) or failure (`error`), as the model will see it
   * refused:     the page or the visitor refused the call (`error` says why); the model is told
   * invalid:     the model's output was not a valid call (cut off, unknown tool, bad arguments);
   *              `error` says why, the model is told and the loop goes on
   * answer:      the final reply (`answer`)
   */
  kind: 'action' | 'observation' | 'refused' | 'invalid' | 'answer';
  thought: string;
  tool?: string;
  args?: Record<string, unknown>;
  result?: unknown;
  error?: string;
  answer?: string;
}

/** Asked before every tool call; the element turns it into the cancelable `neuronos-tool-call`
 *  event (and a confirmation prompt when `confirm`). Resolve false to refuse the call. */
export interface ToolCallRequest {
  step: number;
  tool: string;
  args: Record<string, unknown>;
  /** A page tool registered with `confirm: true`. */
  confirm: boolean;
  /** 'builtin' or 'page'. */
  source: 'builtin' | 'page';
}

/** Why an agent turn ended. */
export type AgentFinish = 'answer' | 'step_limit' | 'aborted' | 'length' | 'context_full';
