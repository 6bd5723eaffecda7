/**
 * The memory database's storage in the worker: `neuronos/memory/<agent>.db` in the origin
 * private file system (OPFS), reached by the C core's SQLite VFS "opfs" (core-c/src/opfs_vfs.c)
 * through `Module.neuronosOpfs`, the bridge installed here.
 *
 * How a persistent memory is opened (MemoryFs.acquire):
 *  1. Feature checks: `navigator.storage.getDirectory` and `createSyncAccessHandle` must exist
 *     (they do in dedicated workers of current browsers; some private modes have no OPFS). If not:
 *     memory in RAM, notice `memory_not_persistent`.
 *  2. The Web Lock `neuronos-memory:<agent>` (exclusive). OPFS allows one access handle per file,
 *     so two tabs of the site cannot both have the database; the lock makes the second one wait
 *     in order instead of failing at random. Taken at once if free; otherwise a `memory_waiting`
 *     notice is sent and the worker waits up to `waitMs` (default 5000 ms) for the other tab to
 *     close the memory (or the tab; a page being reloaded, or a worker being terminated, holds it
 *     until it ends: Chromium lets a busy worker run on for up to 2 s after terminate()); after that it runs with memory in RAM, notice
 *     `memory_in_use`. The lock is held until the memory is closed or the worker ends (the
 *     browser releases a terminated worker's locks and handles).
 *  3. The sync access handles of `<agent>.db` and `<agent>.db-journal` (the only files the store
 *     uses; see opfs_vfs.c) are opened BEFORE SQLite opens the database, because
 *     createSyncAccessHandle() is asynchronous and SQLite's xOpen is not. A handle still held by
 *     a worker that was just terminated is retried for up to 2 s.
 *  4. Then the C core opens the database through the VFS; a hot journal left by an interrupted
 *     write is rolled back by SQLite then (reported as `recovered`).
 *
 * Errors: a write the browser refuses over the quota (Chromium answers it with a short count
 * rather than an exception; both are handled) fails in SQLite as SQLITE_FULL and is reported to
 * the caller as `quota_exceeded` (guardStorage). Nothing is swallowed.
 */
import { NeuronOSError } from '../errors.js';
import type { MemoryNotice } from '../memory-types.js';

/** Agent names: the same rule as the file tools' folders and the C core. */
export const AGENT_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The part of FileSystemSyncAccessHandle the bridge uses (a node test can supply its own). */
export interface SyncHandle {
  read(buffer: Uint8Array, opts: { at: number }): number;
  write(buffer: Uint8Array, opts: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

/** What the C VFS calls (opfs_vfs.c documents the contract). */
export interface OpfsBridge {
  open(path: string): number;
  read(id: number, ptr: number, n: number, offset: number): number;
  write(id: number, ptr: number, n: number, offset: number): number;
  truncate(id: number, size: number): number;
  sync(id: number): number;
  size(id: number): number;
  close(id: number): void;
  access(path: string): number;
  remove(path: string): number;
}

/** The storage failure seen during the current call, if any. */
export interface StorageFailure {
  quota: boolean;
  message: string;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

const isQuota = (e: unknown): boolean => e instanceof Error && (e.name === 'QuotaExceededError' || /quota/i.test(e.message));

/**
 * The bridge: pre-opened handles by path. File ids are indexes into `handles` (an id stays
 * valid while its path is attached; SQLite may open the same path again after closing it).
 */
export class OpfsFiles implements OpfsBridge {
  private readonly paths = new Map<string, number>();
  private readonly handles: (SyncHandle | null)[] = [];
  /** The first storage failure since the last `takeFailure()`. */
  private failure: StorageFailure | null = null;

  /** `heap()` returns a current view of the WASM memory (it can grow). */
  constructor(private readonly heap: () => Uint8Array) {}

  attach(path: string, handle: SyncHandle): void {
    this.paths.set(path, this.handles.length);
    this.handles.push(handle);
  }

  /** Flushes and closes every handle (SQLite must have closed the database first). */
  detachAll(): void {
    for (const h of this.handles) {
      if (!h) continue;
      try {
        h.flush();
      } catch {
        /* closing anyway */
      }
      try {
        h.close();
      } catch {
        /* already closed */
      }
    }
    this.paths.clear();
    this.handles.length = 0;
  }

  get attached(): number {
    return this.paths.size;
  }

  takeFailure(): StorageFailure | null {
    const f = this.failure;
    this.failure = null;
    return f;
  }

  private fail(e: unknown, what: string, quota = isQuota(e)): number {
    this.failure ??= { quota, message: `${what}: ${describe(e)}` };
    return quota ? -2 : -1;
  }

  private handle(id: number): SyncHandle {
    const h = this.handles[id];
    if (!h) throw new Error(`no open file ${id}`);
    return h;
  }

  open(path: string): number {
    return this.paths.get(path) ?? -1;
  }

  read(id: number, ptr: number, n: number, offset: number): number {
    try {
      const got = this.handle(id).read(this.heap().subarray(ptr, ptr + n), { at: offset });
      return got >= 0 && got <= n ? got : this.fail(new Error(`read returned ${got} for ${n} bytes`), 'read');
    } catch (e) {
      return this.fail(e, 'read', false);
    }
  }

  write(id: number, ptr: number, n: number, offset: number): number {
    try {
      const wrote = this.handle(id).write(this.heap().subarray(ptr, ptr + n), { at: offset });
      // Chromium refuses bytes over the quota by returning a short (or nonsensical) count
      if (wrote !== n) return this.fail(new Error(`the browser stored ${wrote} of ${n} bytes (storage quota)`), 'write', true);
      return 0;
    } catch (e) {
      return this.fail(e, 'write');
    }
  }

  truncate(id: number, size: number): number {
    try {
      const h = this.handle(id);
      const before = h.getSize();
      h.truncate(size);
      const after = h.getSize();
      if (after !== size) return this.fail(new Error(`the file is ${after} bytes after truncating to ${size}`), 'truncate', size > before);
      return 0;
    } catch (e) {
      return this.fail(e, 'truncate');
    }
  }

  sync(id: number): number {
    try {
      this.handle(id).flush();
      return 0;
    } catch (e) {
      this.fail(e, 'flush', false);
      return -1;
    }
  }

  size(id: number): number {
    try {
      return this.handle(id).getSize();
    } catch (e) {
      this.fail(e, 'size', false);
      return -1;
    }
  }

  close(_id: number): void {
    // SQLite is done with the file; the handle stays open until the memory is closed
  }

  access(path: string): number {
    const id = this.paths.get(path);
    if (id === undefined) return 0;
    try {
      return this.handle(id).getSize() > 0 ? 1 : 0;
    } catch (e) {
      this.fail(e, 'access', false);
      return 0;
    }
  }

  /** A handle's file cannot be deleted while open: emptied instead (an empty journal is none). */
  remove(path: string): number {
    const id = this.paths.get(path);
    if (id === undefined) return 1;
    try {
      const h = this.handle(id);
      h.truncate(0);
      h.flush();
      return 0;
    } catch (e) {
      this.fail(e, 'delete', false);
      return -1;
    }
  }
}

/** The module object as far as the bridge is concerned. */
export interface BridgeModule {
  HEAPU8: Uint8Array;
  wasmMemory?: WebAssembly.Memory;
  neuronosOpfs?: OpfsBridge;
}

/** The database path the C core uses for `agent` (wasm_glue.c, neuronos_wasm_memory_open). */
export const memoryDbPath = (agent: string): string => `/neuronos/memory/${agent}.db`;

export type AcquireResult = { persistent: true; recovered: boolean } | { persistent: false; notice: MemoryNotice };

interface LockManagerLike {
  request(name: string, options: { mode?: 'exclusive'; ifAvailable?: boolean; signal?: AbortSignal }, cb: (lock: unknown) => Promise<void> | void): Promise<unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes an exclusive Web Lock; resolves to its release function, or null when not granted. */
function takeLock(locks: LockManagerLike, name: string, opts: { ifAvailable?: boolean; signal?: AbortSignal }): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    locks
      .request(name, { mode: 'exclusive', ...opts }, (lock) => {
        if (!lock) {
          resolve(null);
          return;
        }
        resolve(release);
        return held;
      })
      .catch((e: unknown) => {
        if (e instanceof Error && e.name === 'AbortError') resolve(null);
        else reject(e);
      });
  });
}

/** The OPFS side of the worker's memory: the lock, the handles and the bridge. */
export class MemoryFs {
  readonly files: OpfsFiles;
  private unlock: (() => void) | null = null;

  constructor(module: BridgeModule) {
    const heap = (): Uint8Array => {
      const mem = module.wasmMemory; // threaded build: the views go stale when another thread grows memory
      return mem && module.HEAPU8.buffer !== mem.buffer ? new Uint8Array(mem.buffer) : module.HEAPU8;
    };
    this.files = new OpfsFiles(heap);
    module.neuronosOpfs = this.files;
  }

  /** Whether this browser gives the worker synchronous OPFS files at all. */
  static supported(): boolean {
    const g = globalThis as unknown as { navigator?: { storage?: { getDirectory?: unknown } }; FileSystemFileHandle?: unknown };
    const proto = typeof g.FileSystemFileHandle === 'function' ? (g.FileSystemFileHandle as { prototype?: object }).prototype : undefined;
    return typeof g.navigator?.storage?.getDirectory === 'function' && !!proto && 'createSyncAccessHandle' in proto;
  }

  /**
   * Takes agent `agent`'s lock and opens its two files (see the header). Resolves to
   * `persistent: false` with a notice when the memory must run in RAM; rejects with
   * quota_exceeded when the browser refuses to create the files.
   */
  async acquire(agent: string, waitMs: number, onNotice: (n: MemoryNotice) => void): Promise<AcquireResult> {
    this.release();
    if (!MemoryFs.supported()) {
      return {
        persistent: false,
        notice: { code: 'memory_not_persistent', message: 'This browser gives this page no private file storage (OPFS), so memory is kept in RAM and will not persist after the page is closed.' },
      };
    }
    const locks = (globalThis as { navigator: { locks?: LockManagerLike } }).navigator.locks;
    const inUse = (): AcquireResult => ({
      persistent: false,
      notice: { code: 'memory_in_use', message: `Another tab of this site has the memory of agent "${agent}" open, so this tab uses memory in RAM: what it learns will not be saved.` },
    });
    if (locks) {
      let unlock = await takeLock(locks, `neuronos-memory:${agent}`, { ifAvailable: true });
      if (!unlock && waitMs > 0) {
        onNotice({ code: 'memory_waiting', message: `Another tab of this site (or a page that is closing) has the memory of agent "${agent}" open; waiting for it (up to ${Math.round(waitMs / 1000)} s).` });
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(), waitMs);
        try {
          unlock = await takeLock(locks, `neuronos-memory:${agent}`, { signal: ac.signal });
        } finally {
          clearTimeout(timer);
        }
      }
      if (!unlock) return inUse();
      this.unlock = unlock;
    }
    // without Web Locks the exclusive handles alone keep a second tab out (it then runs in RAM)
    try {
      const root = await navigator.storage.getDirectory();
      const dir = await (await root.getDirectoryHandle('neuronos', { create: true })).getDirectoryHandle('memory', { create: true });
      const dbFile = await dir.getFileHandle(`${agent}.db`, { create: true });
      const journalFile = await dir.getFileHandle(`${agent}.db-journal`, { create: true });
      const db = await openSync(dbFile);
      if (!db) {
        this.release();
        return inUse();
      }
      let journal: SyncHandle | null;
      try {
        journal = await openSync(journalFile);
      } catch (e) {
        db.close();
        throw e;
      }
      if (!journal) {
        db.close();
        this.release();
        return inUse();
      }
      const path = memoryDbPath(agent);
      this.files.attach(path, db);
      this.files.attach(`${path}-journal`, journal);
      return { persistent: true, recovered: journal.getSize() > 0 };
    } catch (e) {
      this.release();
      if (isQuota(e)) throw new NeuronOSError('quota_exceeded', `the browser refused to create the memory files (storage quota): ${describe(e)}`, 'memoryOpen');
      return {
        persistent: false,
        notice: { code: 'memory_not_persistent', message: `The private file storage (OPFS) is not available (${describe(e)}), so memory is kept in RAM and will not persist after the page is closed.` },
      };
    }
  }

  /** Closes the handles and releases the lock. The C core must have closed the database. */
  release(): void {
    this.files.detachAll();
    this.unlock?.();
    this.unlock = null;
  }
}

/** Opens a sync access handle; null when another holder keeps it (after retrying for 2 s: a
 *  terminated worker's handles are released shortly after it ends). */
async function openSync(file: FileSystemFileHandle): Promise<SyncHandle | null> {
  const deadline = Date.now() + 2000;
  for (;;) {
    try {
      return (await (file as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle()) as SyncHandle;
    } catch (e) {
      if (!(e instanceof Error && e.name === 'NoModificationAllowedError')) throw e;
      if (Date.now() > deadline) return null;
      await sleep(50);
    }
  }
}

/**
 * Runs a store call and reports storage failures honestly: a failure the bridge saw during the
 * call becomes `quota_exceeded` (the browser refused the bytes) or keeps the core's code with
 * the browser's reason added.
 */
export function guardStorage<T>(files: OpfsFiles, op: string, f: () => T): T {
  files.takeFailure();
  try {
    return f();
  } catch (e) {
    const failure = files.takeFailure();
    if (!failure) throw e;
    const core = e instanceof Error ? e.message : String(e);
    if (failure.quota) throw new NeuronOSError('quota_exceeded', `the browser's storage quota for this site is used up; nothing was changed (${failure.message}; ${core})`, op);
    const code = e instanceof NeuronOSError ? e.code : 'internal';
    throw new NeuronOSError(code, `${core} (storage: ${failure.message})`, op);
  }
}
