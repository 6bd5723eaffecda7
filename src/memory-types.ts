/**
 * Types of the agent's memory as the client API (`NeuronOS.memory`) and the worker protocol see
 * it. The objects are the C store's JSON (core-c/include/neuronos.h, "memory store") with field
 * names such as `conversation_id` kept as they are in `store()` input and in export documents,
 * plus, on every listed or found item, its `tier`, an `id` (a core block's is its label) and a
 * `text` (a message's is its content), so items of all tiers can be shown alike (the element's
 * memory panel does).
 */

/** The three tiers (MemGPT style): `core` blocks in every prompt, `recall` every message of every
 *  conversation, `archival` facts the agent chose to keep. */
export type MemoryTier = 'core' | 'recall' | 'archival';

/** A labelled block of core memory (the agent places all of them in every prompt). */
export interface CoreBlock {
  tier: 'core';
  /** The label (core blocks are addressed by label: `delete('core', label)`). */
  id: string;
  /** 1–64 of [A-Za-z0-9_.-]. */
  label: string;
  text: string;
  /** Character limit of the block. */
  limit: number;
  /** Characters in `text`. */
  chars: number;
}

/** A message of a conversation, kept in recall memory. */
export interface RecallMessage {
  tier: 'recall';
  id: number;
  conversation_id: string;
  role: string;
  content: string;
  /** The same as `content` (every item has a `text`). */
  text: string;
  /** Milliseconds since the Unix epoch. */
  time: number;
  /** Search results only: relevance (higher is better, comparable within one result list). */
  score?: number;
}

/** A fact in archival memory. */
export interface ArchivalEntry {
  tier: 'archival';
  id: number;
  text: string;
  tags: string[];
  /** Milliseconds since the Unix epoch. */
  time: number;
  /** Search results only. */
  score?: number;
  /** Results of `search(q, {tier: 'archival'})` only: the text around the matched words, which
   *  are marked with `**`. */
  snippet?: string;
}

/** Any item of any tier (what `list()` of a tier given at run time returns). */
export type MemoryListItem = CoreBlock | RecallMessage | ArchivalEntry;

/** What `store()` takes. Times default to now. */
export type MemoryItem =
  | { tier: 'core'; label: string; text: string }
  | { tier: 'recall'; role: string; content: string; conversation_id?: string; time?: number }
  | { tier: 'archival'; text: string; tags?: string[]; time?: number };

/** What `store()` resolves to: the new id (recall, archival) or the label (core). */
export type MemoryStoreResult = { tier: 'core'; id: string } | { tier: 'recall' | 'archival'; id: number };

/** A search hit over both searchable tiers (no `tier` option given). */
export type MemorySearchHit = RecallMessage | ArchivalEntry;

/** The export document (versioned; equal memories export equal documents). */
export interface MemoryExport {
  format: 'neuronos-memory';
  version: number;
  core: { label: string; text: string; limit: number }[];
  recall: { id: number; conversation_id: string; role: string; content: string; time: number }[];
  archival: { id: number; text: string; tags: string[]; time: number }[];
}

/** What `import()` did: counts imported per tier, and duplicates skipped (merge mode). */
export interface MemoryImportReport {
  core: number;
  recall: number;
  archival: number;
  skipped: number;
}

/** Counts of the open memory, and where it lives. */
export interface MemoryStats {
  agent: string;
  /** True when the memory is the OPFS database (survives reloads); false: in RAM only. */
  persistent: boolean;
  /** Core blocks. */
  core: number;
  /** Recall messages. */
  recall: number;
  /** Archival entries. */
  archival: number;
  /** Characters in all core blocks. */
  core_chars: number;
  /** Conversations in recall memory. */
  conversations: number;
  /** Size of the database. */
  bytes: number;
  schema_version: number;
}

/** Something the visitor should be told about where their memory lives. */
export interface MemoryNotice {
  /**
   * - `memory_not_persistent`: this browser offers no storage the worker can use synchronously
   *   (no OPFS or no sync access handles, e.g. some private modes): memory is in RAM and will
   *   not survive a reload.
   * - `memory_in_use`: another tab (or window) of this site has this agent's memory open; this
   *   one runs with memory in RAM, which will not be saved.
   * - `memory_waiting`: another tab has it open; waiting for it to let go (sent while waiting).
   */
  code: 'memory_not_persistent' | 'memory_in_use' | 'memory_waiting';
  message: string;
}

/** What `memory.open()` resolves to. */
export interface MemoryOpenResult {
  agent: string;
  /** True: the OPFS database `neuronos/memory/<agent>.db`. False: RAM only (see `notice`). */
  persistent: boolean;
  /** Why the memory is not persistent (absent when it is, or when `persist: false` was asked). */
  notice?: MemoryNotice;
  /** The last session ended in the middle of a write (a tab closed or a worker stopped at that
   *  moment); that unfinished write was rolled back on opening. */
  recovered?: boolean;
}

export interface MemoryOpenOptions {
  /** Keep the memory in this origin's private file system (default true). False: RAM only. */
  persist?: boolean;
  /**
   * When another tab holds this agent's memory: how long to wait for it (ms) before running with
   * memory in RAM (notice `memory_in_use`). Default 5000; 0 = do not wait. While waiting, a
   * `memory_waiting` notice goes to `onNotice`. (A page being reloaded also holds it for a moment:
   * Chromium lets a busy worker of a closing page run for up to 2 s.)
   */
  waitMs?: number;
  /** Notices while opening (`memory_waiting`); the final one is also in the result. */
  onNotice?: (n: MemoryNotice) => void;
}

export interface MemorySearchOptions {
  /** Results at most (default 10, at most 1000). */
  limit?: number;
  /** Search one tier only (`recall` or `archival`); default both, merged by relevance. */
  tier?: 'recall' | 'archival';
  /** With `tier: 'recall'`: one conversation only. */
  conversation_id?: string;
}

export interface MemoryListOptions {
  offset?: number;
  /** Default 50, at most 1000. */
  limit?: number;
}

/**
 * The memory API of a NeuronOS instance (`ai.memory`). Open a memory first; every other call on
 * a closed memory rejects with `not_initialized`. Failures are NeuronOSErrors: `invalid_argument`
 * (bad input, with the reason), `quota_exceeded` (the browser refused the storage; nothing was
 * changed), `busy`, `internal` (e.g. a damaged file).
 */
export interface MemoryApi {
  /**
   * Opens agent `agent`'s memory (closing the one open). Persistent memory lives in
   * `neuronos/memory/<agent>.db` in this origin's private file system; it falls back to RAM,
   * and says so in `notice`, where that is not possible (no OPFS; another tab has it open).
   */
  open(agent?: string, opts?: MemoryOpenOptions): Promise<MemoryOpenResult>;
  /** Closes the memory (and lets another tab have it). */
  close(): Promise<void>;
  /** The open memory, or null. */
  readonly current: MemoryOpenResult | null;
  /** Stores one item; resolves once it is saved (it survives a reload from then on). */
  store(item: MemoryItem): Promise<MemoryStoreResult>;
  /** Full-text search (any text is a valid query: its words are matched, best first). */
  search(query: string, opts?: MemorySearchOptions & { tier?: undefined }): Promise<MemorySearchHit[]>;
  search(query: string, opts: MemorySearchOptions & { tier: 'recall' }): Promise<RecallMessage[]>;
  search(query: string, opts: MemorySearchOptions & { tier: 'archival' }): Promise<ArchivalEntry[]>;
  /** A page of a tier: core blocks in order; messages and entries newest first. */
  list(tier: 'core', opts?: MemoryListOptions): Promise<CoreBlock[]>;
  list(tier: 'recall', opts?: MemoryListOptions): Promise<RecallMessage[]>;
  list(tier: 'archival', opts?: MemoryListOptions): Promise<ArchivalEntry[]>;
  list(tier: MemoryTier, opts?: MemoryListOptions): Promise<MemoryListItem[]>;
  /** Deletes a message or entry by id, or a core block by label. */
  delete(tier: MemoryTier, id: number | string): Promise<void>;
  /** Everything, as one versioned document. */
  export(): Promise<MemoryExport>;
  /** Imports an export document: `replace` (default) makes the memory the document; `merge` adds
   *  it (duplicates skipped). All or nothing. */
  import(doc: MemoryExport | object | string, opts?: { mode?: 'replace' | 'merge' }): Promise<MemoryImportReport>;
  /** Forgets everything (core goes back to its empty default blocks; the file is compacted). */
  clear(): Promise<void>;
  stats(): Promise<MemoryStats>;
  /** Runs SQLite's and FTS5's integrity checks; rejects with `internal` naming the problem. */
  check(): Promise<void>;
}
