/**
 * Model bytes from a URL, a File/Blob or a buffer, with progress, cancellation and early
 * content checks (a web page instead of a model is refused before it reaches WASM).
 *
 * Split GGUF (`name-00001-of-00003.gguf`): all parts are fetched, 4 at a time, and handed to
 * the worker as separate buffers (never concatenated).
 * Partial: resume after a dropped connection, the OPFS cache and integrity checks belong to the
 * model-delivery issue.
 */
import { NeuronOSError } from './errors.js';

export type ModelSource = string | URL | Blob | ArrayBuffer | Uint8Array;

export interface LoadProgress {
  phase: 'download' | 'read' | 'load' | 'ready';
  loaded: number;
  /** 0 when unknown. */
  total: number;
  /** 0–100; -1 when the total is unknown. */
  percent: number;
}

export interface FetchOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

const SPLIT_RE = /-(\d{5})-of-(\d{5})\.gguf($|[?#])/;
const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46];

/** The part URLs of a split model, or just [url]. */
export function splitUrls(url: string): string[] {
  const m = SPLIT_RE.exec(url);
  if (!m) return [url];
  const count = Number(m[2]);
  if (count < 1 || count > 9999) return [url];
  return Array.from({ length: count }, (_, i) => url.replace(SPLIT_RE, `-${String(i + 1).padStart(5, '0')}-of-${m[2]}.gguf$3`));
}

function checkMagic(head: Uint8Array, what: string): void {
  if (head.length >= 4 && GGUF_MAGIC.every((b, i) => head[i] === b)) return;
  const text = new TextDecoder().decode(head.subarray(0, 64)).trimStart().toLowerCase();
  if (text.startsWith('<')) {
    throw new NeuronOSError('model_invalid', `${what} is a web page (HTML), not a GGUF model: check the URL (on Hugging Face use /resolve/, not /blob/)`, 'loadModel');
  }
  throw new NeuronOSError('model_invalid', `${what} is not a GGUF model (wrong magic bytes)`, 'loadModel');
}

async function fetchOne(url: string, opts: FetchOptions, report: (delta: number, total: number) => void): Promise<ArrayBuffer> {
  const f = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await f(url, { signal: opts.signal, credentials: 'omit' });
  } catch (e) {
    if (opts.signal?.aborted) throw new NeuronOSError('aborted', 'the download was cancelled', 'loadModel');
    throw new NeuronOSError('network', `could not download ${url}: ${(e as Error).message} (offline, or the host does not allow cross-origin requests?)`, 'loadModel');
  }
  if (!res.ok) {
    throw new NeuronOSError('http_error', `the model URL answered HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}: ${url}`, 'loadModel');
  }
  const type = res.headers.get('content-type') ?? '';
  if (/text\/html/i.test(type)) {
    throw new NeuronOSError('model_invalid', `${url} is a web page (HTML), not a GGUF model: check the URL (on Hugging Face use /resolve/, not /blob/)`, 'loadModel');
  }
  const total = Number(res.headers.get('content-length') ?? 0);
  report(0, total);
  if (!res.body) {
    const buf = await res.arrayBuffer();
    checkMagic(new Uint8Array(buf, 0, Math.min(64, buf.byteLength)), url);
    report(buf.byteLength, 0);
    return buf;
  }
  const reader = res.body.getReader();
  let buf = new Uint8Array(total > 0 ? total : 1 << 20);
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n === 0 || (n < 4 && n + value.length >= 4)) checkMagic(concatHead(buf.subarray(0, n), value), url);
      if (n + value.length > buf.length) {
        const bigger = new Uint8Array(Math.max(buf.length * 2, n + value.length));
        bigger.set(buf.subarray(0, n));
        buf = bigger;
      }
      buf.set(value, n);
      n += value.length;
      report(value.length, 0);
    }
  } catch (e) {
    if (e instanceof NeuronOSError) {
      void reader.cancel().catch(() => undefined);
      throw e;
    }
    if (opts.signal?.aborted) throw new NeuronOSError('aborted', 'the download was cancelled', 'loadModel');
    throw new NeuronOSError('network', `the download of ${url} broke off after ${n} bytes: ${(e as Error).message}`, 'loadModel');
  }
  if (total > 0 && n !== total) {
    throw new NeuronOSError('network', `the download of ${url} ended after ${n} of ${total} bytes`, 'loadModel');
  }
  if (n === 0) throw new NeuronOSError('model_invalid', `${url} is empty`, 'loadModel');
  return n === buf.length ? buf.buffer : buf.slice(0, n).buffer;
}

function concatHead(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.min(64, a.length + b.length));
  out.set(a.subarray(0, out.length));
  if (a.length < out.length) out.set(b.subarray(0, out.length - a.length), a.length);
  return out;
}

/** Returns the model's bytes as one buffer per part. */
export async function fetchModel(source: ModelSource, opts: FetchOptions = {}): Promise<ArrayBuffer[]> {
  const progress = opts.onProgress;
  if (source instanceof ArrayBuffer) {
    checkMagic(new Uint8Array(source, 0, Math.min(64, source.byteLength)), 'the buffer');
    return [source];
  }
  if (source instanceof Uint8Array) {
    checkMagic(source.subarray(0, 64), 'the buffer');
    return [source.slice().buffer];
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = 'name' in source ? (source as File).name : 'the file';
    progress?.({ phase: 'read', loaded: 0, total: source.size, percent: 0 });
    const buf = await source.arrayBuffer();
    checkMagic(new Uint8Array(buf, 0, Math.min(64, buf.byteLength)), name);
    progress?.({ phase: 'read', loaded: buf.byteLength, total: buf.byteLength, percent: 100 });
    return [buf];
  }
  const url = new URL(String(source), typeof location !== 'undefined' ? location.href : undefined).href;
  const urls = splitUrls(url);
  let loaded = 0;
  const totals = new Array<number>(urls.length).fill(0);
  const report = (i: number) => (delta: number, total: number) => {
    if (total) totals[i] = total;
    loaded += delta;
    const sum = totals.every((t) => t > 0) ? totals.reduce((a, b) => a + b, 0) : 0;
    progress?.({ phase: 'download', loaded, total: sum, percent: sum ? Math.min(100, (loaded / sum) * 100) : -1 });
  };
  const out = new Array<ArrayBuffer>(urls.length);
  let next = 0;
  const lane = async () => {
    while (next < urls.length) {
      const i = next++;
      out[i] = await fetchOne(urls[i]!, opts, report(i));
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, urls.length) }, lane));
  return out;
}

/**
 * The size of a model without downloading it (HEAD requests; every part of a split model).
 * Resolves to null when the host does not say. Used by the element's Load prompt.
 */
export async function probeModelSize(source: string, opts: { signal?: AbortSignal; fetch?: typeof fetch } = {}): Promise<number | null> {
  const f = opts.fetch ?? fetch;
  const url = new URL(source, typeof location !== 'undefined' ? location.href : undefined).href;
  if (url.startsWith('blob:') || url.startsWith('data:')) return null;
  let total = 0;
  for (const part of splitUrls(url)) {
    try {
      const res = await f(part, { method: 'HEAD', signal: opts.signal, credentials: 'omit' });
      const n = Number(res.headers.get('content-length') ?? NaN);
      if (!res.ok || !Number.isFinite(n) || n <= 0) return null;
      total += n;
    } catch {
      return null;
    }
  }
  return total;
}

