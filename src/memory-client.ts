/**
 * `NeuronOS.memory` — the client side of the agent's memory (types and contract in
 * memory-types.ts; the worker side in worker/memory.ts). A thin layer over the worker protocol:
 * the checks happen in the worker and in C, so every route (API, element, agent) gets them.
 */
import { NeuronOSError } from './errors.js';
import type {
  ArchivalEntry,
  CoreBlock,
  MemoryApi,
  MemoryExport,
  MemoryImportReport,
  MemoryItem,
  MemoryListItem,
  MemoryListOptions,
  MemoryNotice,
  MemoryOpenOptions,
  MemoryOpenResult,
  MemorySearchHit,
  MemorySearchOptions,
  MemoryStats,
  MemoryStoreResult,
  MemoryTier,
  RecallMessage,
} from './memory-types.js';
import type { EventMap, RequestMap, RequestType } from './protocol.js';

/** Agent names (the worker and the C core check the same rule). */
const AGENT_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Sends one request to the worker (NeuronOS.request), with its events. */
export type MemorySend = <K extends RequestType>(type: K, args: RequestMap[K]['args'], onEvent?: (event: keyof EventMap, data: EventMap[keyof EventMap]) => void) => Promise<RequestMap[K]['result']>;

export class MemoryClient implements MemoryApi {
  private opened: MemoryOpenResult | null = null;
  /** What the last open() asked for, so that a restarted worker can open it again. */
  private lastOpen: { agent: string; persist: boolean; waitMs?: number } | null = null;

  constructor(private readonly send: MemorySend) {}

  get current(): MemoryOpenResult | null {
    return this.opened;
  }

  /**
   * Opens agent `agent`'s memory (default "default"), closing the one open. With `persist` (the
   * default) it is the database `neuronos/memory/<agent>.db` in this origin's private file
   * system; where that is impossible the memory runs in RAM and the result's `notice` says why:
   * `memory_not_persistent` (no OPFS here, e.g. some private modes) or `memory_in_use` (another
   * tab has it open and did not let go within `waitMs`). Works without a model.
   */
  async open(agent = 'default', opts: MemoryOpenOptions = {}): Promise<MemoryOpenResult> {
    // bad arguments are refused here, before the open memory is closed (the worker checks again)
    if (typeof agent !== 'string' || !AGENT_NAME_RE.test(agent)) throw new NeuronOSError('invalid_argument', `agent name must be 1-64 letters, digits, '_' or '-': ${JSON.stringify(agent)}`, 'memoryOpen');
    if (opts.waitMs !== undefined && !(Number.isInteger(opts.waitMs) && opts.waitMs >= 0)) throw new NeuronOSError('invalid_argument', 'waitMs must be a whole number of milliseconds from 0', 'memoryOpen');
    const args = { agent, persist: opts.persist ?? true, ...(opts.waitMs !== undefined ? { waitMs: opts.waitMs } : {}) };
    let r: MemoryOpenResult;
    try {
      r = await this.send('memoryOpen', args, (event, data) => {
        if (event === 'notice') opts.onNotice?.(data as MemoryNotice);
      });
    } catch (e) {
      this.opened = null; // the worker closed the open memory before it failed
      this.lastOpen = null;
      throw e;
    }
    this.opened = r;
    this.lastOpen = args;
    return r;
  }

  /** Closes the memory: another tab waiting for it gets it. Calls after this reject with
   *  `not_initialized` until the next open(). */
  async close(): Promise<void> {
    this.lastOpen = null;
    this.opened = null;
    await this.send('memoryClose', {});
  }

  /**
   * Stores one item and resolves once it is saved: from then on it survives a reload, a closed
   * tab or a stopped worker. Core: sets block `label` (created if needed). Recall: a message of
   * conversation `conversation_id` (default "default"). Archival: a fact with optional tags.
   * Rejects with `invalid_argument` (with the reason, e.g. a block's character limit) or
   * `quota_exceeded` (the browser's storage is full; nothing was stored). A store still pending
   * when the worker is stopped (restart, dispose, reload) rejects with `aborted` and may or may
   * not have been saved: whole, or not at all.
   */
  store(item: MemoryItem): Promise<MemoryStoreResult> {
    return this.send('memoryStore', { item });
  }

  /**
   * Full-text search. Any text is a valid query: its words are matched whole (case and accents
   * ignored) and results come best first. Without `tier`, recall and archival are merged.
   */
  search(query: string, opts?: MemorySearchOptions & { tier?: undefined }): Promise<MemorySearchHit[]>;
  search(query: string, opts: MemorySearchOptions & { tier: 'recall' }): Promise<RecallMessage[]>;
  search(query: string, opts: MemorySearchOptions & { tier: 'archival' }): Promise<ArchivalEntry[]>;
  search(query: string, opts: MemorySearchOptions = {}): Promise<MemorySearchHit[] | RecallMessage[] | ArchivalEntry[]> {
    return this.send('memorySearch', { query, ...opts });
  }

  /** A page of a tier: core blocks in order, messages and entries newest first. */
  list(tier: 'core', opts?: MemoryListOptions): Promise<CoreBlock[]>;
  list(tier: 'recall', opts?: MemoryListOptions): Promise<RecallMessage[]>;
  list(tier: 'archival', opts?: MemoryListOptions): Promise<ArchivalEntry[]>;
  list(tier: MemoryTier, opts?: MemoryListOptions): Promise<MemoryListItem[]>;
  list(tier: MemoryTier, opts: MemoryListOptions = {}): Promise<MemoryListItem[]> {
    return this.send('memoryList', { tier, ...opts });
  }

  /** Deletes a recall message or archival entry by its id, or a core block by its label. The
   *  text is overwritten in the file, not just unlinked. */
  async delete(tier: MemoryTier, id: number | string): Promise<void> {
    await this.send('memoryDelete', { tier, id });
  }

  /** Everything as one versioned document (`{format: 'neuronos-memory', version, core, recall,
   *  archival}`), e.g. for the visitor to download. */
  export(): Promise<MemoryExport> {
    return this.send('memoryExport', {});
  }

  /** Imports an export document (object or JSON text). `replace` (default): the memory becomes
   *  the document; `merge`: added to it, duplicates skipped. One bad element refuses all. */
  import(doc: MemoryExport | object | string, opts: { mode?: 'replace' | 'merge' } = {}): Promise<MemoryImportReport> {
    if (doc === null || (typeof doc !== 'string' && typeof doc !== 'object')) return Promise.reject(new NeuronOSError('invalid_argument', 'import takes an export document or its JSON text', 'memoryImport'));
    return this.send('memoryImport', { doc, mode: opts.mode ?? 'replace' });
  }

  /** Forgets everything of the open agent: its memory (core goes back to its empty default blocks;
   *  the file is compacted so forgotten text does not linger) and, when the memory is persistent,
   *  its private files (`neuronos/files/<agent>/`). Never the model cache. */
  async clear(): Promise<void> {
    await this.send('memoryClear', {});
  }

  /** Counts, size in bytes, and whether the memory is persistent. */
  stats(): Promise<MemoryStats> {
    return this.send('memoryStats', {});
  }

  /** Checks the database (SQLite's integrity check and the search index's); rejects with
   *  `internal` naming the first problem. Reads the whole file. */
  async check(): Promise<void> {
    await this.send('memoryCheck', {});
  }

  /** After the worker was replaced (NeuronOS.restart): opens the memory that was open again. */
  async reopen(): Promise<MemoryOpenResult | null> {
    this.opened = null;
    if (!this.lastOpen) return null;
    // the old worker may still hold the lock for up to 2 s (Chromium's grace after terminate())
    const r = await this.send('memoryOpen', { ...this.lastOpen, waitMs: Math.max(this.lastOpen.waitMs ?? 5000, 5000) });
    this.opened = r;
    return r;
  }
}
