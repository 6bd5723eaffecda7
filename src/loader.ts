/**
 * Model sources and URLs, shared by the page and the worker (the download itself is in
 * src/worker/delivery.ts).
 */
import type { DeliveryProgress } from './protocol.js';

export type ModelSource = string | URL | Blob | ArrayBuffer | Uint8Array;

export type LoadProgress = DeliveryProgress;

/** `url` made absolute against the page (or the worker's) location, when there is one. */
export function absoluteUrl(url: string | URL): string {
  return new URL(String(url), typeof location !== 'undefined' ? location.href : undefined).href;
}

const SPLIT_RE = /-(\d{5})-of-(\d{5})\.gguf($|[?#])/;

/** The part URLs of a split model, or just [url]. */
export function splitUrls(url: string): string[] {
  const m = SPLIT_RE.exec(url);
  if (!m) return [url];
  const count = Number(m[2]);
  if (count < 1 || count > 9999) return [url];
  return Array.from({ length: count }, (_, i) => url.replace(SPLIT_RE, `-${String(i + 1).padStart(5, '0')}-of-${m[2]}.gguf$3`));
}

/**
 * The size of a model without downloading it (HEAD requests; every part of a split model).
 * Resolves to null when the host does not say. Used by the element's Load prompt.
 */
export async function probeModelSize(source: string, opts: { signal?: AbortSignal; fetch?: typeof fetch } = {}): Promise<number | null> {
  const f = opts.fetch ?? fetch;
  const url = absoluteUrl(source);
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

