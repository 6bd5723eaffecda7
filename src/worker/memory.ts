/**
 * The worker's side of the memory requests (protocol: memoryOpen … memoryCheck): checks the
 * arguments, opens the OPFS files and lock (memory-fs.ts), and calls the C store (core.ts).
 * Every call runs on the worker's own thread (also in the threaded build), where the OPFS
 * handles live. The store does not need a model: memory works before (or without) one.
 */
import { NeuronOSError } from '../errors.js';
import type {
  ArchivalEntry,
  CoreBlock,
  MemoryExport,
  MemoryImportReport,
  MemoryItem,
  MemoryListItem,
  MemoryNotice,
  MemoryOpenResult,
  MemorySearchHit,
  MemoryStats,
  MemoryStoreResult,
  MemoryTier,
  RecallMessage,
} from '../memory-types.js';
import type { Core } from './core.js';
import { AGENT_NAME_RE, MemoryFs, guardStorage } from './memory-fs.js';

const TIERS: Record<MemoryTier, number> = { core: 0, recall: 1, archival: 2 };
/** Default wait for another holder of the memory. More than Chromium's grace for a terminated
 *  worker: terminate() (and a reload) lets a busy worker run on for up to 2 s before it is
 *  stopped, and it holds the lock and the files until then. */
const DEFAULT_WAIT_MS = 5000;

function bad(message: string, op: string): never {
  throw new NeuronOSError('invalid_argument', message, op);
}

function tierOf(tier: unknown, op: string): number {
  if (typeof tier !== 'string' || !(tier in TIERS)) bad(`tier must be 'core', 'recall' or 'archival', not ${JSON.stringify(tier)}`, op);
  return TIERS[tier as MemoryTier];
}

function str(v: unknown, name: string, op: string): string {
  if (typeof v !== 'string') bad(`${name} must be a string`, op);
  return v;
}

/** A whole number >= 0 (undefined → `dflt`). */
function count(v: unknown, name: string, op: string, dflt = 0): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) bad(`${name} must be a whole number from 0`, op);
  return v;
}

function time(v: unknown, op: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad('time must be milliseconds since 1970 (a number from 0)', op);
  return Math.floor(v);
}

type Raw = Record<string, unknown>;

/** The C store's JSON objects → items of the client API (tier, id and text on every one). */
function asItem(tier: MemoryTier, o: Raw): MemoryListItem {
  if (tier === 'core') return { tier, id: o.label, ...o } as unknown as CoreBlock;
  if (tier === 'recall') return { tier, ...o, text: o.content } as unknown as RecallMessage;
  return { tier, ...o } as unknown as ArchivalEntry;
}

export class WorkerMemory {
  private readonly fs: MemoryFs;
  private state: MemoryOpenResult | null = null;

  constructor(private readonly core: Core) {
    this.fs = new MemoryFs(core.module);
  }

  get current(): MemoryOpenResult | null {
    return this.state;
  }

  private need(op: string): MemoryOpenResult {
    if (!this.state) throw new NeuronOSError('not_initialized', 'no memory is open: call memory.open() first', op);
    return this.state;
  }

  /** Runs a store call, reporting storage failures (quota) as such. */
  private run<T>(op: string, f: () => T): T {
    this.need(op);
    return guardStorage(this.fs.files, op, f);
  }

  async open(args: { agent: string; persist: boolean; waitMs?: number }, onNotice: (n: MemoryNotice) => void): Promise<MemoryOpenResult> {
    const op = 'memoryOpen';
    const agent = args.agent;
    if (typeof agent !== 'string' || !AGENT_NAME_RE.test(agent)) bad(`agent name must be 1-64 letters, digits, '_' or '-': ${JSON.stringify(agent)}`, op);
    const waitMs = count(args.waitMs, 'waitMs', op, DEFAULT_WAIT_MS);
    this.close();
    let notice: MemoryNotice | undefined;
    let recovered = false;
    if (args.persist !== false) {
      const got = await this.fs.acquire(agent, waitMs, onNotice);
      if (got.persistent) {
        try {
          guardStorage(this.fs.files, op, () => this.core.memoryOpen(agent, true));
        } catch (e) {
          this.core.memoryClose();
          this.fs.release();
          throw e;
        }
        recovered = got.recovered;
        this.state = { agent, persistent: true, ...(recovered ? { recovered } : {}) };
        return this.state;
      }
      notice = got.notice;
    }
    this.core.memoryOpen(agent, false);
    this.state = { agent, persistent: false, ...(notice ? { notice } : {}) };
    return this.state;
  }

  /** Closes the store, then its files and lock (none open is fine). */
  close(): void {
    this.core.memoryClose();
    this.fs.release();
    this.state = null;
  }

  store(item: MemoryItem): MemoryStoreResult {
    const op = 'memoryStore';
    if (!item || typeof item !== 'object') bad('a memory item must be an object with a tier', op);
    const it = item as unknown as Record<string, unknown>;
    switch (it.tier) {
      case 'core': {
        const label = str(it.label, 'label', op);
        const text = str(it.text, 'text', op);
        this.run(op, () => this.core.memoryCoreSet(label, text));
        return { tier: 'core', id: label };
      }
      case 'recall': {
        const conv = it.conversation_id === undefined ? 'default' : str(it.conversation_id, 'conversation_id', op);
        const role = str(it.role, 'role', op);
        const content = str(it.content, 'content', op);
        const t = time(it.time, op);
        return { tier: 'recall', id: this.run(op, () => this.core.memoryRecallAdd(conv, role, content, t)) };
      }
      case 'archival': {
        const text = str(it.text, 'text', op);
        let tags: string | null = null;
        if (it.tags !== undefined) {
          if (!Array.isArray(it.tags) || !it.tags.every((x) => typeof x === 'string')) bad('tags must be an array of strings', op);
          tags = JSON.stringify(it.tags);
        }
        const t = time(it.time, op);
        return { tier: 'archival', id: this.run(op, () => this.core.memoryArchivalInsert(text, tags, t)) };
      }
      default:
        return bad(`tier must be 'core', 'recall' or 'archival', not ${JSON.stringify(it.tier)}`, op);
    }
  }

  search(args: { query: string; limit?: number; tier?: 'recall' | 'archival'; conversation_id?: string }): MemorySearchHit[] | RecallMessage[] | ArchivalEntry[] {
    const op = 'memorySearch';
    const query = str(args.query, 'query', op);
    const limit = count(args.limit, 'limit', op);
    if (args.tier === undefined) {
      if (args.conversation_id !== undefined) bad("conversation_id needs tier: 'recall'", op);
      return (this.run(op, () => this.core.memorySearch(query, limit)) as Raw[]).map((o) => asItem(o.tier === 'recall' ? 'recall' : 'archival', o)) as MemorySearchHit[];
    }
    if (args.tier !== 'recall' && args.tier !== 'archival') bad(`search tier must be 'recall' or 'archival' (list core memory instead), not ${JSON.stringify(args.tier)}`, op);
    const conv = args.conversation_id === undefined ? null : str(args.conversation_id, 'conversation_id', op);
    if (conv !== null && args.tier !== 'recall') bad("conversation_id needs tier: 'recall'", op);
    const tier = args.tier;
    return (this.run(op, () => this.core.memorySearchTier(TIERS[tier], query, conv, limit)) as Raw[]).map((o) => asItem(tier, o)) as RecallMessage[] | ArchivalEntry[];
  }

  list(args: { tier: MemoryTier; offset?: number; limit?: number }): MemoryListItem[] {
    const op = 'memoryList';
    const tier = tierOf(args.tier, op);
    const offset = count(args.offset, 'offset', op);
    const limit = count(args.limit, 'limit', op);
    return (this.run(op, () => this.core.memoryList(tier, offset, limit)) as Raw[]).map((o) => asItem(args.tier, o));
  }

  delete(args: { tier: MemoryTier; id: number | string }): null {
    const op = 'memoryDelete';
    const tier = tierOf(args.tier, op);
    if (tier === TIERS.core) {
      const label = str(args.id, 'a core block (by its label)', op);
      this.run(op, () => this.core.memoryCoreDelete(label));
    } else {
      if (typeof args.id !== 'number' || !Number.isSafeInteger(args.id) || args.id < 1) bad('id must be a whole number from 1', op);
      this.run(op, () => this.core.memoryDelete(tier, args.id as number));
    }
    return null;
  }

  export(): MemoryExport {
    return JSON.parse(this.run('memoryExport', () => this.core.memoryExport())) as MemoryExport;
  }

  import(args: { doc: MemoryExport | object | string; mode: 'replace' | 'merge' }): MemoryImportReport {
    const op = 'memoryImport';
    if (args.mode !== 'replace' && args.mode !== 'merge') bad(`mode must be 'replace' or 'merge', not ${JSON.stringify(args.mode)}`, op);
    const json = typeof args.doc === 'string' ? args.doc : JSON.stringify(args.doc);
    if (typeof json !== 'string') bad('the document must be an export object or its JSON text', op);
    return this.run(op, () => this.core.memoryImport(json, args.mode === 'merge' ? 1 : 0));
  }

  clear(): null {
    this.run('memoryClear', () => this.core.memoryClear());
    return null;
  }

  stats(): MemoryStats {
    const s = this.need('memoryStats');
    const c = this.run('memoryStats', () => this.core.memoryDbStats());
    return {
      agent: s.agent,
      persistent: s.persistent,
      core: Number(c.core_blocks),
      recall: Number(c.recall_messages),
      archival: Number(c.archival_entries),
      core_chars: Number(c.core_chars),
      conversations: Number(c.conversations),
      bytes: Number(c.bytes),
      schema_version: Number(c.schema_version),
    };
  }

  check(): null {
    this.run('memoryCheck', () => this.core.memoryCheck());
    return null;
  }
}
