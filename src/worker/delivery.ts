/**
 * Model delivery inside the worker: bytes go from the network, the OPFS cache, a File/Blob or a
 * transferred buffer straight into 64 KiB-aligned buffers in WASM memory — one copy — and are
 * then memory-mapped by llama.cpp in place (Core.loadMapped).
 *
 * - Download: streaming fetch with progress; a dropped connection resumes with an HTTP Range
 *   request (If-Range guards against a changed file), with bounded retries and backoff; a stall
 *   (no byte for `stallMs`) is its own error; an AbortSignal cancels.
 * - Checks before a byte is used: HTTP status, HTML instead of a model, the GGUF magic, the
 *   declared size, and an optional `integrity="sha256-…"` (SRI syntax, base64) hashed as the
 *   bytes arrive.
 * - Split models (`*-00001-of-0000N.gguf`): every part, 4 at a time, each into its own buffer.
 * - OPFS cache (`neuronos/models/`): written while downloading, marked complete only after the
 *   last byte is flushed — a partial file is never taken as complete. See model-cache.ts.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { NeuronOSError } from '../errors.js';
import { probeModelSize, splitUrls } from '../loader.js';
import type { DeliveryProgress } from '../protocol.js';
import type { Core } from './core.js';
import { openCache, type CacheEntryMeta, type CacheWriter, type ModelCache } from './model-cache.js';

export interface DownloadOptions {
  signal: AbortSignal;
  /** Called often (throttle on the receiving side). */
  onProgress: (p: DeliveryProgress) => void;
  integrity?: string;
  /** 'prefer': a complete cached copy is used without any network request (default);
   *  'revalidate': a HEAD request first, a changed ETag/size drops the copy; 'off'. */
  cache?: 'prefer' | 'revalidate' | 'off';
  /** Attempts per part after a dropped connection (default 5). */
  retries?: number;
  /** A download that receives nothing for this long fails with `download_stalled` (default 30 s). */
  stallMs?: number;
  /** Notices for the page (e.g. "running uncached: not enough storage"). */
  onNotice?: (code: string, message: string) => void;
}

export interface HeapPart {
  ptr: number;
  size: number;
}

const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46];

function parseIntegrity(integrity: string | undefined): Uint8Array | null {
  if (!integrity) return null;
  const m = /^sha256-([A-Za-z0-9+/=_-]+)$/.exec(integrity.trim());
  if (!m) throw new NeuronOSError('invalid_argument', `integrity must look like "sha256-<base64>"; got "${integrity}"`, 'loadModel');
  const b64 = m[1]!.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64);
  if (bin.length !== 32) throw new NeuronOSError('invalid_argument', 'integrity: a sha256 digest has 32 bytes', 'loadModel');
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

const toBase64 = (b: Uint8Array): string => btoa(String.fromCharCode(...b));

function checkMagic(bytes: Uint8Array, what: string): void {
  if (bytes.length >= 4 && GGUF_MAGIC.every((b, i) => bytes[i] === b)) return;
  const text = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().toLowerCase();
  if (text.startsWith('<')) {
    throw new NeuronOSError('model_invalid', `${what} is a web page (HTML), not a GGUF model: check the URL (on Hugging Face use /resolve/, not /blob/)`, 'loadModel');
  }
  throw new NeuronOSError('model_invalid', `${what} is not a GGUF model (wrong magic bytes)`, 'loadModel');
}

function httpError(res: Response, url: string): NeuronOSError {
  if (res.status === 404 || res.status === 410) {
    return new NeuronOSError('not_found', `the model was not found (HTTP ${res.status}): ${url}`, 'loadModel');
  }
  return new NeuronOSError('http_error', `the model host answered HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}: ${url}`, 'loadModel');
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new NeuronOSError('aborted', 'the download was cancelled', 'loadModel'));
    }, { once: true });
  });

/** Shared progress over all parts. */
class Progress {
  loaded = 0;
  totals: number[];
  private last = 0;
  private readonly t0 = performance.now();
  constructor(n: number, private readonly cb: (p: DeliveryProgress) => void, private readonly phase: DeliveryProgress['phase']) {
    this.totals = new Array<number>(n).fill(0);
  }
  add(delta: number, force = false): void {
    this.loaded += delta;
    const now = performance.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const total = this.totals.every((t) => t > 0) ? this.totals.reduce((a, b) => a + b, 0) : 0;
    const secs = (now - this.t0) / 1000;
    this.cb({
      phase: this.phase,
      loaded: this.loaded,
      total,
      percent: total ? Math.min(100, (this.loaded / total) * 100) : -1,
      bytesPerSecond: secs > 0 ? this.loaded / secs : 0,
    });
  }
}

/** Downloads one part into a fresh heap buffer; writes the cache on the way. */
async function downloadPart(core: Core, url: string, index: number, progress: Progress, opts: DownloadOptions, cache: ModelCache | null, expectedDigest: Uint8Array | null): Promise<HeapPart> {
  const retries = opts.retries ?? 5;
  const stallMs = opts.stallMs ?? 30_000;
  let ptr = 0;
  let size = 0;
  let offset = 0;
  let validator: string | null = null; // ETag or Last-Modified of the bytes we have
  let hasher = expectedDigest ? sha256.create() : null;
  let writer: CacheWriter | null = null;
  let attempt = 0;
  try {
    for (;;) {
      const controller = new AbortController();
      const onAbort = () => controller.abort();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      let stalled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          stalled = true;
          controller.abort();
        }, stallMs);
      };
      try {
        arm();
        const headers: Record<string, string> = {};
        // only Range: it is CORS-safelisted, If-Range would need a preflight that model hosts
        // may refuse. A changed file is caught by comparing the validator of the 206 instead.
        if (offset > 0) headers.Range = `bytes=${offset}-`;
        let res: Response;
        try {
          res = await fetch(url, { signal: controller.signal, headers, credentials: 'omit', cache: 'no-store' });
        } catch (e) {
          if (opts.signal.aborted) throw new NeuronOSError('aborted', 'the download was cancelled', 'loadModel');
          if (stalled) throw new NeuronOSError('download_stalled', `the model host stopped sending (nothing for ${Math.round(stallMs / 1000)} s): ${url}`, 'loadModel');
          throw Object.assign(new NeuronOSError('network', `could not reach the model host: ${(e as Error).message} (offline, or the host does not allow cross-origin requests?)`, 'loadModel'), { retryable: true });
        }
        if (!res.ok) throw httpError(res, url);
        if (/text\/html/i.test(res.headers.get('content-type') ?? '')) {
          throw new NeuronOSError('model_invalid', `${url} is a web page (HTML), not a GGUF model: check the URL (on Hugging Face use /resolve/, not /blob/)`, 'loadModel');
        }
        const now = res.headers.get('etag') ?? res.headers.get('last-modified');
        if (res.status === 206 && offset > 0 && validator && now && now !== validator) {
          // the file changed under us: start again from byte 0
          void res.body?.cancel().catch(() => undefined);
          progress.add(-offset);
          offset = 0;
          validator = null;
          if (attempt++ >= retries) throw new NeuronOSError('network', `${url} kept changing while it downloaded`, 'loadModel');
          continue;
        }
        const resumed = res.status === 206 && offset > 0;
        if (!resumed) {
          // a fresh (or restarted: the file changed) download from byte 0
          const len = Number(res.headers.get('content-length') ?? NaN);
          if (!Number.isFinite(len) || len <= 0) {
            throw new NeuronOSError('http_error', `the model host did not send the size of ${url} (Content-Length): cannot stream it into memory`, 'loadModel');
          }
          if (ptr && len !== size) {
            core.freeModelBuffer(ptr);
            ptr = 0;
          }
          size = len;
          if (!ptr) ptr = core.allocModel(size);
          progress.add(-offset);
          progress.totals[index] = size;
          offset = 0;
          hasher = expectedDigest ? sha256.create() : null;
          validator = res.headers.get('etag') ?? res.headers.get('last-modified');
          if (cache) {
            writer?.abandon();
            writer = await cache.beginWrite(url, { size, etag: res.headers.get('etag'), lastModified: res.headers.get('last-modified'), integrity: opts.integrity ?? null }).catch((e: Error) => {
              opts.onNotice?.('cache_skipped', `the model will not be cached: ${e.message}`);
              return null;
            });
          }
        } else {
          const range = /bytes (\d+)-(\d+)\/(\d+)/.exec(res.headers.get('content-range') ?? '');
          if (!range || Number(range[1]) !== offset || Number(range[3]) !== size) {
            throw new NeuronOSError('http_error', `the model host answered the resume of ${url} with a wrong range`, 'loadModel');
          }
        }
        if (!res.body) throw new NeuronOSError('http_error', `no body from ${url}`, 'loadModel');
        // Read into one reused scratch buffer where the browser allows it (a BYOB reader): no
        // garbage chunk per read, so the worker's memory stays close to the model's size.
        const reader = byobReader(res.body);
        try {
          for (;;) {
            let chunk: ReadableStreamReadResult<Uint8Array>;
            try {
              chunk = await reader.read();
            } catch (e) {
              if (opts.signal.aborted) throw new NeuronOSError('aborted', 'the download was cancelled', 'loadModel');
              if (stalled) throw new NeuronOSError('download_stalled', `the model host stopped sending after ${offset} of ${size} bytes (nothing for ${Math.round(stallMs / 1000)} s): ${url}`, 'loadModel');
              throw Object.assign(new NeuronOSError('network', `the download of ${url} broke off after ${offset} of ${size} bytes: ${(e as Error).message}`, 'loadModel'), { retryable: true });
            }
            if (chunk.done) break;
            arm();
            const value = chunk.value;
            if (offset + value.length > size) throw new NeuronOSError('http_error', `${url} sent more bytes than it announced (${size})`, 'loadModel');
            if (offset < 4) {
              const head = new Uint8Array(4);
              head.set(core.heap(ptr, offset));
              head.set(value.subarray(0, 4 - offset), offset);
              if (offset + value.length >= 4) checkMagic(head, url);
            }
            core.heap(ptr + offset, value.length).set(value);
            hasher?.update(value);
            if (writer) {
              try {
                writer.write(value, offset);
              } catch (e) {
                writer.abandon();
                writer = null;
                opts.onNotice?.('cache_skipped', `the model will not be cached: ${(e as Error).message}`);
              }
            }
            offset += value.length;
            progress.add(value.length);
          }
        } finally {
          reader.releaseLock();
        }
        if (offset !== size) {
          throw Object.assign(new NeuronOSError('network', `the download of ${url} ended after ${offset} of ${size} bytes`, 'loadModel'), { retryable: true });
        }
        break;
      } catch (e) {
        const retryable = (e as { retryable?: boolean }).retryable === true;
        if (!retryable || attempt >= retries || opts.signal.aborted) throw e;
        attempt++;
        await sleep(Math.min(250 * 2 ** (attempt - 1), 4000), opts.signal);
      } finally {
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
      }
    }
    if (expectedDigest && hasher) {
      const got = hasher.digest();
      if (got.length !== expectedDigest.length || got.some((b, i) => b !== expectedDigest[i])) {
        throw new NeuronOSError('integrity_mismatch', `the model's sha256 is sha256-${toBase64(got)}, not the expected ${opts.integrity}: refused`, 'loadModel');
      }
    }
    if (writer) {
      try {
        await writer.complete();
      } catch (e) {
        opts.onNotice?.('cache_skipped', `the model could not be cached: ${(e as Error).message}`);
      }
      writer = null;
    }
    return { ptr, size };
  } catch (e) {
    writer?.abandon();
    if (ptr) core.freeModelBuffer(ptr);
    throw e;
  }
}

/** A reader of `body` that reuses one 1 MiB buffer (BYOB) when supported, else the default reader. */
function byobReader(body: ReadableStream<Uint8Array>): { read(): Promise<ReadableStreamReadResult<Uint8Array>>; releaseLock(): void } {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    return body.getReader();
  }
  let scratch: ArrayBuffer | null = new ArrayBuffer(1 << 20);
  return {
    async read() {
      const r = await byob.read(new Uint8Array(scratch ?? new ArrayBuffer(1 << 20)));
      // the buffer comes back (transferred) with the bytes: reuse it for the next read
      scratch = r.value ? (r.value.buffer as ArrayBuffer) : null;
      return r.done ? { done: true, value: undefined } : { done: false, value: r.value! };
    },
    releaseLock: () => byob.releaseLock(),
  };
}

/** Reads a complete cached part into a fresh heap buffer (no network). */
async function readCachedPart(core: Core, cache: ModelCache, meta: CacheEntryMeta, progress: Progress, index: number): Promise<HeapPart> {
  const ptr = core.allocModel(meta.size);
  progress.totals[index] = meta.size;
  try {
    await cache.read(meta, (buf, at) => core.heap(ptr + at, buf.length).set(buf), (n) => progress.add(n), (at, n) => core.heap(ptr + at, n));
    return { ptr, size: meta.size };
  } catch (e) {
    core.freeModelBuffer(ptr);
    throw e;
  }
}

/**
 * Every part of the model at `url`, in WASM memory. From the OPFS cache when a complete copy is
 * there (no network with cache 'prefer'), else downloaded (and cached).
 */
export async function deliverUrl(core: Core, url: string, opts: DownloadOptions): Promise<{ parts: HeapPart[]; fromCache: boolean }> {
  const urls = splitUrls(url);
  const digest = urls.length === 1 ? parseIntegrity(opts.integrity) : opts.integrity ? (() => {
    throw new NeuronOSError('invalid_argument', 'integrity is supported for single-file models only', 'loadModel');
  })() : null;
  const mode = opts.cache ?? 'prefer';
  const cache = mode === 'off' ? null : await openCache().catch((e: Error) => {
    opts.onNotice?.('cache_unavailable', `models cannot be cached in this browser (${e.message}); it will be downloaded every time`);
    return null;
  });

  // a complete cached copy of every part?
  if (cache) {
    const metas = await Promise.all(urls.map((u) => cache.lookup(u)));
    let usable = metas.every((m) => m && (!opts.integrity || m.integrity === opts.integrity));
    if (usable && mode === 'revalidate') {
      const fresh = await Promise.all(metas.map((m) => revalidate(m!, opts.signal)));
      if (fresh.some((f) => f === false)) {
        await Promise.all(metas.map((m) => cache.remove(m!.url)));
        opts.onNotice?.('cache_stale', 'the cached copy of the model is out of date: downloading it again');
        usable = false;
      }
    }
    if (usable) {
      const progress = new Progress(urls.length, opts.onProgress, 'cache');
      const parts: HeapPart[] = [];
      try {
        for (let i = 0; i < metas.length; i++) parts.push(await readCachedPart(core, cache, metas[i]!, progress, i));
        progress.add(0, true);
        return { parts, fromCache: true };
      } catch (e) {
        for (const p of parts) core.freeModelBuffer(p.ptr);
        opts.onNotice?.('cache_unreadable', `the cached copy could not be read (${(e as Error).message}): downloading it again`);
        await Promise.all(metas.map((m) => cache.remove(m!.url).catch(() => undefined)));
      }
    }
  }

  // quota: skip caching when the model cannot fit (the download itself still runs)
  let useCache = cache;
  if (cache) {
    const need = await probeModelSize(url, { signal: opts.signal });
    const free = await cache.freeBytes();
    if (need !== null && free !== null && need > free) {
      opts.onNotice?.('quota_exceeded', `not enough storage to cache the model (${(need / 2 ** 20).toFixed(0)} MiB needed, ${(free / 2 ** 20).toFixed(0)} MiB free): it runs uncached and will be downloaded again next time`);
      useCache = null;
    }
  }

  const progress = new Progress(urls.length, opts.onProgress, 'download');
  const parts: HeapPart[] = new Array(urls.length);
  let next = 0;
  let failed: unknown = null;
  const lane = async () => {
    while (next < urls.length && !failed) {
      const i = next++;
      try {
        parts[i] = await downloadPart(core, urls[i]!, i, progress, opts, useCache, digest);
      } catch (e) {
        failed = failed ?? e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, urls.length) }, lane));
  if (failed) {
    for (const p of parts) if (p) core.freeModelBuffer(p.ptr);
    throw failed;
  }
  progress.add(0, true);
  return { parts, fromCache: false };
}

/** true: still current; false: changed; null: could not ask (offline) — the copy is used. */
async function revalidate(meta: CacheEntryMeta, signal: AbortSignal): Promise<boolean | null> {
  try {
    const r = await fetch(meta.url, { method: 'HEAD', signal, credentials: 'omit', cache: 'no-store' });
    if (!r.ok) return null;
    const etag = r.headers.get('etag');
    const lm = r.headers.get('last-modified');
    const len = Number(r.headers.get('content-length') ?? NaN);
    if (Number.isFinite(len) && len !== meta.size) return false;
    if (etag && meta.etag) return etag === meta.etag;
    if (lm && meta.lastModified) return lm === meta.lastModified;
    return true;
  } catch {
    return null;
  }
}

/** A File/Blob: read in slices straight into WASM memory (one copy). */
export async function deliverBlob(core: Core, blob: Blob, name: string, opts: Pick<DownloadOptions, 'signal' | 'onProgress'>): Promise<HeapPart[]> {
  if (blob.size === 0) throw new NeuronOSError('model_invalid', `${name} is empty`, 'loadModel');
  checkMagic(new Uint8Array(await blob.slice(0, 64).arrayBuffer()), name);
  const ptr = core.allocModel(blob.size);
  const progress = new Progress(1, opts.onProgress, 'read');
  progress.totals[0] = blob.size;
  try {
    const reader = blob.stream().getReader();
    let offset = 0;
    for (;;) {
      if (opts.signal.aborted) throw new NeuronOSError('aborted', 'loading was cancelled', 'loadModel');
      const { done, value } = await reader.read();
      if (done) break;
      core.heap(ptr + offset, value.length).set(value);
      offset += value.length;
      progress.add(value.length);
    }
    progress.add(0, true);
    return [{ ptr, size: blob.size }];
  } catch (e) {
    core.freeModelBuffer(ptr);
    throw e;
  }
}

/** Transferred buffers: one copy into WASM memory each. */
export function deliverBuffers(core: Core, buffers: ArrayBuffer[]): HeapPart[] {
  const parts: HeapPart[] = [];
  try {
    for (const b of buffers) {
      const bytes = new Uint8Array(b);
      checkMagic(bytes.subarray(0, 64), 'the buffer');
      const ptr = core.allocModel(bytes.length);
      parts.push({ ptr, size: bytes.length });
      core.heap(ptr, bytes.length).set(bytes);
    }
    return parts;
  } catch (e) {
    for (const p of parts) core.freeModelBuffer(p.ptr);
    throw e;
  }
}
