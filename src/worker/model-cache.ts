/**
 * The model cache in the origin private file system (OPFS), under `neuronos/models/`:
 * `<key>.gguf` (the bytes) and `<key>.json` (what they are), key = sha256 of the URL.
 *
 * Rules: the JSON is written only after the last byte is flushed, and removed before a new write
 * starts, so a partial file is never taken as complete; an entry counts only when its file has
 * exactly the recorded size. Writing and reading use synchronous access handles (worker only);
 * listing and deleting work from the page too (async API).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface CacheEntryMeta {
  url: string;
  key: string;
  size: number;
  etag: string | null;
  lastModified: string | null;
  integrity: string | null;
  complete: true;
  storedAt: string;
}

interface SyncHandle {
  read(buf: ArrayBufferView, opts?: { at?: number }): number;
  write(buf: ArrayBufferView, opts?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

export interface CacheWriter {
  /** Writes at `at`; throws (e.g. QuotaExceededError) when the bytes do not fit. */
  write(chunk: Uint8Array, at: number): void;
  /** Flushes, closes and records the entry as complete. */
  complete(): Promise<void>;
  /** Closes and deletes what was written. */
  abandon(): void;
}

export interface ModelCache {
  lookup(url: string): Promise<CacheEntryMeta | null>;
  beginWrite(url: string, info: { size: number; etag: string | null; lastModified: string | null; integrity: string | null }): Promise<CacheWriter>;
  /** Reads a complete entry: `view(at, n)` gives the destination (WASM memory), `set` copies
   *  when the file API refuses to read into it directly; `onBytes` reports progress. */
  read(meta: CacheEntryMeta, set: (buf: Uint8Array, at: number) => void, onBytes: (n: number) => void, view: (at: number, n: number) => Uint8Array): Promise<void>;
  remove(url: string): Promise<void>;
  list(): Promise<CacheEntryMeta[]>;
  freeBytes(): Promise<number | null>;
}

export const cacheKey = (url: string): string => bytesToHex(sha256(new TextEncoder().encode(url))).slice(0, 40);

async function modelsDir(): Promise<FileSystemDirectoryHandle> {
  if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory) throw new Error('the origin private file system is not available');
  const root = await navigator.storage.getDirectory();
  const top = await root.getDirectoryHandle('neuronos', { create: true });
  return top.getDirectoryHandle('models', { create: true });
}

async function readMeta(dir: FileSystemDirectoryHandle, key: string): Promise<CacheEntryMeta | null> {
  try {
    const f = await (await dir.getFileHandle(`${key}.json`)).getFile();
    const meta = JSON.parse(await f.text()) as CacheEntryMeta;
    if (meta.complete !== true || typeof meta.size !== 'number') return null;
    const data = await (await dir.getFileHandle(`${key}.gguf`)).getFile();
    return data.size === meta.size ? meta : null;
  } catch {
    return null;
  }
}

async function removeKey(dir: FileSystemDirectoryHandle, key: string): Promise<void> {
  // the description first: without it, the bytes are never trusted
  for (const name of [`${key}.json`, `${key}.gguf`]) {
    try {
      await dir.removeEntry(name);
    } catch (e) {
      if ((e as DOMException).name !== 'NotFoundError') throw e;
    }
  }
}

const openSync = async (dir: FileSystemDirectoryHandle, name: string): Promise<SyncHandle> => {
  const fh = (await dir.getFileHandle(name, { create: true })) as FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncHandle> };
  if (typeof fh.createSyncAccessHandle !== 'function') throw new Error('synchronous file access is only available in a worker');
  return fh.createSyncAccessHandle();
};

export async function openCache(): Promise<ModelCache> {
  const dir = await modelsDir();
  return {
    lookup: (url) => readMeta(dir, cacheKey(url)),

    async beginWrite(url, info) {
      const key = cacheKey(url);
      await removeKey(dir, key);
      const h = await openSync(dir, `${key}.gguf`);
      try {
        h.truncate(info.size); // reserves the space now: a quota error shows before the download
      } catch (e) {
        h.close();
        await removeKey(dir, key).catch(() => undefined);
        throw new Error(`not enough storage for ${(info.size / 2 ** 20).toFixed(0)} MiB (${(e as Error).name})`);
      }
      let open = true;
      const close = () => {
        if (open) {
          open = false;
          h.close();
        }
      };
      return {
        write(chunk, at) {
          const n = h.write(chunk, { at });
          if (n !== chunk.length) throw new Error('the storage quota is exhausted');
        },
        async complete() {
          h.flush();
          close();
          const meta: CacheEntryMeta = { url, key, size: info.size, etag: info.etag, lastModified: info.lastModified, integrity: info.integrity, complete: true, storedAt: new Date().toISOString() };
          const m = await openSync(dir, `${key}.json`);
          try {
            const bytes = new TextEncoder().encode(JSON.stringify(meta));
            m.truncate(0);
            m.write(bytes, { at: 0 });
            m.flush();
          } finally {
            m.close();
          }
        },
        abandon() {
          close();
          void removeKey(dir, key).catch(() => undefined);
        },
      };
    },

    async read(meta, set, onBytes, view) {
      const h = await openSync(dir, `${meta.key}.gguf`);
      try {
        if (h.getSize() !== meta.size) throw new Error('the cached file has the wrong size');
        const CHUNK = 16 << 20;
        let direct = true;
        let tmp: Uint8Array | null = null;
        for (let at = 0; at < meta.size; ) {
          const n = Math.min(CHUNK, meta.size - at);
          let got: number;
          if (direct) {
            try {
              got = h.read(view(at, n), { at });
            } catch {
              direct = false; // e.g. a view on shared memory (threaded build)
              continue;
            }
          } else {
            tmp = tmp && tmp.length >= n ? tmp : new Uint8Array(CHUNK);
            got = h.read(tmp.subarray(0, n), { at });
            set(tmp.subarray(0, got), at);
          }
          if (got <= 0) throw new Error('the cached file ended early');
          at += got;
          onBytes(got);
        }
      } finally {
        h.close();
      }
    },

    remove: (url) => removeKey(dir, cacheKey(url)),
    list: () => listEntries(dir),
    async freeBytes() {
      try {
        const e = await navigator.storage.estimate();
        return e.quota !== undefined && e.usage !== undefined ? e.quota - e.usage : null;
      } catch {
        return null;
      }
    },
  };
}

async function listEntries(dir: FileSystemDirectoryHandle): Promise<CacheEntryMeta[]> {
  const out: CacheEntryMeta[] = [];
  const it = dir as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
  for await (const name of it.keys()) {
    if (!name.endsWith('.json')) continue;
    const meta = await readMeta(dir, name.slice(0, -5));
    if (meta) out.push(meta);
  }
  return out.sort((a, b) => a.url.localeCompare(b.url));
}

/** Page-side helpers (async OPFS API; no worker needed). */
export const pageCache = {
  async list(): Promise<CacheEntryMeta[]> {
    return listEntries(await modelsDir());
  },
  async has(url: string): Promise<boolean> {
    try {
      return (await readMeta(await modelsDir(), cacheKey(url))) !== null;
    } catch {
      return false;
    }
  },
  async remove(url: string): Promise<void> {
    await removeKey(await modelsDir(), cacheKey(url));
  },
};
