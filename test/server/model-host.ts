// A local model host that behaves like a public one (Hugging Face: `/resolve/` answers 302 to a
// "CDN" that serves the bytes), with failure injection for the downloader's tests: dropped and
// stalled connections, error statuses, HTML error pages, slow answers, no Range support, chunked
// bodies. Node built-ins only; listens on 127.0.0.1 only; large files are read from disk by range.
//
// Semantics (RFC 9110): Accept-Ranges: bytes; one range `bytes=a-b`, `bytes=a-` or `bytes=-n` →
// 206 + Content-Range; a range starting at or beyond the end → 416 + `Content-Range: bytes */size`;
// syntactically invalid or multi-range Range headers are ignored (200, full body); Range is ignored
// for HEAD; strong ETag + Last-Modified; If-Range (ETag or date) that does not match → 200 full
// body; If-None-Match (or, without it, If-Modified-Since) matching → 304. `Cache-Control: no-store`
// so a browser's HTTP cache never answers for the host (the request log stays what the client did).
//
// Behaviors (see `Behavior`): a behavior set on a path applies to requests of that path and, when
// the path redirects, to its CDN path too. `delayMs`, `status` and `html` apply to the first answer
// (the redirect itself is never delayed and `status`/`html` replace it); `dropAt`, `stallAt`,
// `bytesPerSecond`, `noRange`, `noContentLength` apply wherever bytes are served. A `dropAt` entry
// is consumed by each GET that reaches the body (200/206), not by HEAD, 304, 416 or the redirect.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { stat, open, type FileHandle } from 'node:fs/promises';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface Behavior {
  /** For successive GET requests of this path: close the socket after sending N bytes of body
   * (relative to the start of the file, not of the range); each request consumes one entry; when
   * empty, serve normally. */
  dropAt?: number[];
  /** Answer with this HTTP status (404, 500, …) and a small text body. */
  status?: number;
  /** Answer 200 with Content-Type text/html and an HTML error page (as hosts do for bad links). */
  html?: boolean;
  /** Send N bytes of body (relative to the start of the file), then keep the connection open
   * without sending more (until the client gives up or the server stops). */
  stallAt?: number;
  /** Wait before answering. */
  delayMs?: number;
  /** Throttle the body. */
  bytesPerSecond?: number;
  /** Ignore Range headers (always 200 with the whole file; no Accept-Ranges header). */
  noRange?: boolean;
  /** Send chunked without Content-Length. */
  noContentLength?: boolean;
}

export interface HostRequest {
  method: string;
  /** The URL path as requested (no query). */
  path: string;
  range: string | null;
  ifRange: string | null;
  /** The answer's status (0 until the headers are sent). */
  status: number;
  /** Body bytes sent so far (updated while a body streams). */
  bytes: number;
  origin: string | null;
}

export interface ModelHost {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request, in order of arrival (entries are updated as their answers progress). */
  requests: HostRequest[];
  setBehavior(path: string, b: Behavior | null): void;
  /** Replace a file's content (its ETag and Last-Modified change), e.g. to test cache invalidation. */
  putFile(path: string, data: Uint8Array): void;
  stop(): Promise<void>;
}

const EXPOSE_HEADERS = 'Content-Length, Content-Range, ETag, Last-Modified, Accept-Ranges, X-Linked-Size';
const ALLOW_HEADERS = 'Range, If-Range, If-None-Match, Content-Type';
const ALLOW_METHODS = 'GET, HEAD, OPTIONS';
const CORS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': EXPOSE_HEADERS,
  'Cross-Origin-Resource-Policy': 'cross-origin',
};
const CHUNK = 64 * 1024;

type Entry =
  | { kind: 'mem'; data: Uint8Array; lastModified: number; etag?: string }
  | { kind: 'disk'; file: string; statKey?: string; etag?: string };

interface Resolved {
  size: number;
  etag: string;
  lastModified: string; // HTTP date
  lastModifiedMs: number; // whole seconds
  read(pos: number, n: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

const sha256 = (d: string | Uint8Array) => createHash('sha256').update(d).digest('hex');
const cdnPathOf = (path: string) => `/cdn/${sha256(path)}`;

function contentType(path: string): string {
  if (/\.json$/i.test(path)) return 'application/json';
  if (/\.(txt|md)$/i.test(path)) return 'text/plain; charset=utf-8';
  return 'application/octet-stream'; // .gguf and anything else
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function validate(path: string, b: Behavior): Behavior {
  const nonNeg = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (b.dropAt && !b.dropAt.every(nonNeg)) throw new Error(`setBehavior(${path}): dropAt must be non-negative integers`);
  if (b.stallAt !== undefined && !nonNeg(b.stallAt)) throw new Error(`setBehavior(${path}): bad stallAt`);
  if (b.delayMs !== undefined && !(b.delayMs >= 0 && b.delayMs <= 600_000)) throw new Error(`setBehavior(${path}): bad delayMs`);
  if (b.status !== undefined && !(Number.isInteger(b.status) && b.status >= 200 && b.status <= 599))
    throw new Error(`setBehavior(${path}): status must be 200..599`);
  if (b.bytesPerSecond !== undefined && !(b.bytesPerSecond > 0 && Number.isFinite(b.bytesPerSecond)))
    throw new Error(`setBehavior(${path}): bytesPerSecond must be > 0`);
  // A copy, so consuming dropAt does not change the caller's array.
  return { ...b, dropAt: b.dropAt ? [...b.dropAt] : undefined };
}

/** Parses one `bytes=` range. undefined: ignore the header; 'unsatisfiable': 416. */
function parseRange(h: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(h);
  if (!m) return undefined; // multi-range, other units, garbage: ignored (allowed by RFC 9110)
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (b !== '' && Number(b) < start) return undefined; // invalid range-spec → the header is ignored
  if (start >= size) return 'unsatisfiable';
  return { start, end: b === '' ? size - 1 : Math.min(Number(b), size - 1) };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function etagMatches(list: string, etag: string, weak: boolean): boolean {
  return list.split(',').some((t) => {
    const tag = t.trim();
    if (tag === '*') return true;
    if (weak) return tag.replace(/^W\//, '') === etag;
    return tag === etag;
  });
}

export async function startModelHost(opts: {
  files: Record<string, string | Uint8Array>;
  port?: number;
  redirectPrefix?: string;
}): Promise<ModelHost> {
  const files = new Map<string, Entry>();
  const cdn = new Map<string, string>(); // CDN path → file path
  const behaviors = new Map<string, Behavior>();
  const requests: HostRequest[] = [];
  const sockets = new Set<Socket>();
  const active = new Set<AbortController>();
  const startSec = Math.floor(Date.now() / 1000) * 1000;

  const addFile = (path: string, e: Entry) => {
    if (!path.startsWith('/')) throw new Error(`model host: file path must start with '/': ${path}`);
    files.set(path, e);
    cdn.set(cdnPathOf(path), path);
  };
  for (const [path, src] of Object.entries(opts.files)) {
    if (typeof src === 'string') {
      const s = await stat(src); // fails early on a missing fixture
      if (!s.isFile()) throw new Error(`model host: not a file: ${src}`);
      addFile(path, { kind: 'disk', file: src });
    } else {
      addFile(path, { kind: 'mem', data: src, lastModified: startSec });
    }
  }

  async function resolve(e: Entry): Promise<Resolved> {
    if (e.kind === 'mem') {
      e.etag ??= `"${sha256(e.data).slice(0, 16)}"`;
      const data = e.data; // an in-flight body keeps the content it started with
      return {
        size: data.byteLength,
        etag: e.etag,
        lastModified: new Date(e.lastModified).toUTCString(),
        lastModifiedMs: e.lastModified,
        read: async (pos, n) => data.subarray(pos, pos + n),
        close: async () => {},
      };
    }
    const s = await stat(e.file); // per request: a regenerated fixture gets a new ETag
    const key = `${s.size}:${s.mtimeMs}:${s.ino}`;
    if (e.statKey !== key) {
      e.statKey = key;
      e.etag = `"${sha256(`${e.file}\0${key}`).slice(0, 16)}"`;
    }
    const mtime = Math.floor(s.mtimeMs / 1000) * 1000;
    let fh: FileHandle | undefined;
    return {
      size: s.size,
      etag: e.etag!,
      lastModified: new Date(mtime).toUTCString(),
      lastModifiedMs: mtime,
      read: async (pos, n) => {
        fh ??= await open(e.file, 'r');
        const buf = Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        return buf.subarray(0, bytesRead);
      },
      close: async () => {
        await fh?.close().catch(() => {});
      },
    };
  }

  function send(res: ServerResponse, log: HostRequest, status: number, headers: Record<string, string | number>, body?: string) {
    log.status = status;
    const h: Record<string, string | number> = { ...CORS, ...headers };
    if (body !== undefined && !('Content-Length' in h)) h['Content-Length'] = Buffer.byteLength(body);
    res.writeHead(status, h);
    if (body !== undefined && log.method !== 'HEAD' && status !== 204 && status !== 304) {
      res.end(body);
      log.bytes = Buffer.byteLength(body);
    } else res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse, log: HostRequest, signal: AbortSignal) {
    const method = log.method;
    const p = log.path;

    if (method === 'OPTIONS') {
      const h: Record<string, string | number> = {
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Max-Age': 86400,
        'Content-Length': 0,
      };
      if (req.headers['access-control-request-private-network'] === 'true') h['Access-Control-Allow-Private-Network'] = 'true';
      return send(res, log, 204, h);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      return send(res, log, 405, { Allow: ALLOW_METHODS, 'Content-Type': 'text/plain; charset=utf-8' }, 'Method Not Allowed\n');
    }

    let decoded = p;
    try {
      decoded = decodeURIComponent(p);
    } catch {}
    let key: string | undefined;
    let isCdn = false;
    for (const cand of [p, decoded]) {
      if (files.has(cand)) {
        key = cand;
        break;
      }
      const orig = cdn.get(cand);
      if (orig !== undefined) {
        key = orig;
        isCdn = true;
        break;
      }
    }
    let bKey: string | undefined = behaviors.has(p) ? p : behaviors.has(decoded) ? decoded : undefined;
    if (!bKey && isCdn && key && behaviors.has(key)) bKey = key;
    const b: Behavior = (bKey && behaviors.get(bKey)) || {};

    const redirects = !!key && !isCdn && !!opts.redirectPrefix && p.includes(opts.redirectPrefix);
    if (!redirects || b.status !== undefined || b.html) {
      await wait(b.delayMs ?? 0, signal);
      if (signal.aborted) return;
    }
    if (b.status !== undefined) {
      return send(res, log, b.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }, `${b.status} ${STATUS_CODES[b.status] ?? 'Error'}\n`);
    }
    if (b.html) {
      const page =
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>Page not found</title></head>\n' +
        '<body><h1>404</h1><p>Sorry, we can\u2019t find the page you are looking for.</p></body></html>\n';
      return send(res, log, 200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }, page);
    }
    if (!key) {
      return send(res, log, 404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Error-Code': 'EntryNotFound' }, 'Entry not found\n');
    }
    const entry = files.get(key)!;
    const file = await resolve(entry);
    try {
      if (redirects) {
        const host = req.headers.host && /^[\w.:[\]-]+$/.test(req.headers.host) ? req.headers.host : new URL(url).host;
        return send(res, log, 302, {
          Location: `http://${host}${cdnPathOf(key)}`,
          'X-Linked-Size': file.size,
          'X-Linked-ETag': file.etag,
          'Content-Type': 'text/plain; charset=utf-8',
        }, `Found. Redirecting to ${cdnPathOf(key)}\n`);
      }
      await serve(req, res, log, signal, b, bKey, key, file);
    } finally {
      await file.close();
    }
  }

  async function serve(
    req: IncomingMessage, res: ServerResponse, log: HostRequest, signal: AbortSignal,
    b: Behavior, bKey: string | undefined, key: string, file: Resolved,
  ) {
    const { size, etag } = file;
    const headers: Record<string, string | number> = {
      'Content-Type': contentType(key),
      ETag: etag,
      'Last-Modified': file.lastModified,
      'Cache-Control': 'no-store',
    };
    if (!b.noRange) headers['Accept-Ranges'] = 'bytes';

    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    if (inm !== undefined ? etagMatches(inm, etag, true) : ims !== undefined && Date.parse(ims) >= file.lastModifiedMs) {
      return send(res, log, 304, { ETag: etag, 'Last-Modified': file.lastModified, 'Cache-Control': 'no-store' });
    }

    let start = 0;
    let end = size - 1;
    let status = 200;
    const rangeH = req.headers.range;
    if (log.method === 'GET' && !b.noRange && rangeH !== undefined) {
      const ifRange = header(req, 'if-range');
      const fresh =
        ifRange === undefined ||
        (/^\s*(W\/)?"/.test(ifRange) ? ifRange.trim() === etag : Date.parse(ifRange) === file.lastModifiedMs);
      const r = fresh ? parseRange(rangeH, size) : undefined;
      if (r === 'unsatisfiable') {
        return send(res, log, 416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Type': 'text/plain; charset=utf-8' }, 'Range Not Satisfiable\n');
      }
      if (r) {
        ({ start, end } = r);
        status = 206;
        headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
      }
    }
    const length = end - start + 1;
    if (!b.noContentLength) headers['Content-Length'] = length;

    if (log.method === 'HEAD') {
      if (!b.noContentLength) headers['Content-Length'] = size;
      return send(res, log, 200, headers);
    }

    // Where the body stops early: the next dropAt entry (consumed now) or stallAt, whichever first.
    let cut = end + 1;
    let action: 'end' | 'drop' | 'stall' = 'end';
    const live = bKey ? behaviors.get(bKey) : undefined; // consume from the stored copy
    const drop = live?.dropAt?.shift();
    if (drop !== undefined && drop <= end) {
      cut = Math.max(drop, start);
      action = 'drop';
    }
    if (b.stallAt !== undefined && b.stallAt <= end && Math.max(b.stallAt, start) < cut) {
      cut = Math.max(b.stallAt, start);
      action = 'stall';
    }

    log.status = status;
    res.writeHead(status, { ...CORS, ...headers });
    if (length === 0) return void res.end();
    res.flushHeaders();

    const bps = b.bytesPerSecond;
    const chunkMax = bps ? Math.max(1, Math.min(CHUNK, Math.floor(bps / 20))) : CHUNK;
    const t0 = Date.now();
    let pos = start;
    let lastWrite: Promise<void> = Promise.resolve();
    while (pos < cut && !signal.aborted) {
      const chunk = await file.read(pos, Math.min(chunkMax, cut - pos));
      if (signal.aborted) return;
      if (chunk.byteLength === 0) {
        // The file shrank under us: what a real server does — cut the connection.
        res.socket?.destroy();
        return;
      }
      lastWrite = new Promise<void>((r) => void res.write(chunk, () => r()));
      const flushed = res.writableNeedDrain
        ? new Promise<void>((r) => {
            const done = () => (res.off('drain', done), signal.removeEventListener('abort', done), r());
            res.on('drain', done);
            signal.addEventListener('abort', done, { once: true });
          })
        : undefined;
      pos += chunk.byteLength;
      log.bytes += chunk.byteLength;
      if (flushed) await flushed;
      if (bps) await wait(((pos - start) / bps) * 1000 - (Date.now() - t0), signal);
    }
    if (signal.aborted) return;
    if (action === 'end') return void res.end();
    if (action === 'stall') return untilAborted(signal); // the socket stays open, silent
    // drop: let what was written reach the kernel, then FIN the connection mid-body.
    await Promise.race([lastWrite, untilAborted(signal)]);
    const sock = res.socket;
    if (sock && !sock.destroyed) sock.destroySoon();
  }

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://host.invalid');
    const log: HostRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      range: req.headers.range ?? null,
      ifRange: header(req, 'if-range') ?? null,
      status: 0,
      bytes: 0,
      origin: req.headers.origin ?? null,
    };
    requests.push(log);
    const ac = new AbortController();
    active.add(ac);
    res.on('close', () => {
      ac.abort();
      active.delete(ac);
    });
    handle(req, res, log, ac.signal).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        send(res, log, 500, { 'Content-Type': 'text/plain; charset=utf-8' }, `model host error: ${String(err)}\n`);
      } else res.socket?.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolveP, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolveP();
    });
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('model host: no address');
  const url = `http://127.0.0.1:${addr.port}`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    requests,
    setBehavior(path, b) {
      if (b) behaviors.set(path, validate(path, b));
      else behaviors.delete(path);
    },
    putFile(path, data) {
      const prev = files.get(path);
      let prevMs = -Infinity;
      if (prev?.kind === 'mem') prevMs = prev.lastModified;
      else if (prev?.kind === 'disk') {
        try {
          prevMs = Math.floor(statSync(prev.file).mtimeMs / 1000) * 1000;
        } catch {}
      }
      // Last-Modified has one-second resolution: make sure it moves (forward).
      const now = Math.floor(Date.now() / 1000) * 1000;
      addFile(path, { kind: 'mem', data, lastModified: Math.max(now, prevMs + 1000) });
    },
    stop() {
      stopping ??= new Promise<void>((resolveP) => {
        server.close(() => resolveP());
        for (const ac of active) ac.abort();
        for (const s of sockets) s.destroy();
      });
      return stopping;
    },
  };
}
