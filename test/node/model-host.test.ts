// The local model host (test/server/model-host.ts) through real HTTP requests with node's fetch:
// full GET, HEAD, ranges (incl. 416), If-Range, If-None-Match, the Hugging Face-style redirect to
// a "CDN", CORS, and every injected failure (dropAt, stallAt, status, html, delay, throttle,
// noRange, noContentLength), putFile, and the request log. In-memory files plus one 64 MB file of
// seeded pseudo-random bytes on disk (ranges checked by sha256 of slices).
//
// NEURONOS_TEST_TIMEOUT_MS: per-test timeout (default 60000). NEURONOS_TEST_SEED: the PRNG seed
// (default: random, printed when a test fails).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { startModelHost, type ModelHost } from '../server/model-host.ts';

const TIMEOUT_MS = Number(process.env.NEURONOS_TEST_TIMEOUT_MS || 60_000);
/** How long a client waits on a stalled body before giving up. */
const STALL_MS = Math.max(200, Math.min(1000, Math.floor(TIMEOUT_MS / 20)));
/** "Promptly": how long stop() may take with stalled connections open. */
const STOP_MS = Math.min(5000, TIMEOUT_MS);
const SEED = Number(process.env.NEURONOS_TEST_SEED || Math.floor(Math.random() * 2 ** 31)) >>> 0;

const BIG_SIZE = 64 * 1024 * 1024;
const P = {
  small: '/org/model/resolve/main/small.gguf',
  plain: '/files/plain.gguf',
  big: '/org/model/resolve/main/big.gguf',
  diskSmall: '/files/disk-small.gguf',
  json: '/files/config.json',
  empty: '/files/empty.gguf',
} as const;
const EXPOSE = ['Content-Length', 'Content-Range', 'ETag', 'Last-Modified', 'Accept-Ranges', 'X-Linked-Size'];

/** xorshift128, seeded with splitmix32. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  const sm = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = sm(), b = sm(), c = sm(), d = sm() || 1;
  return () => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return d;
  };
}
function randomBytes(n: number, seed: number): Uint8Array {
  const next = prng(seed);
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = next();
  for (let i = words.length * 4; i < n; i++) out[i] = next() & 255;
  return out;
}
const sha = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A test whose failure prints the seed. */
function it(name: string, fn: (t: TestContext) => Promise<void>) {
  test(name, { timeout: TIMEOUT_MS }, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      console.error(`[model-host.test] "${name}" failed with NEURONOS_TEST_SEED=${SEED}`);
      throw e;
    }
  });
}

/** Reads a body chunk by chunk; a mid-body failure is returned, not thrown. */
async function readBody(r: Response): Promise<{ data: Uint8Array; error: unknown }> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  let error: unknown = null;
  if (r.body) {
    const reader = r.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        n += value.byteLength;
      }
    } catch (e) {
      error = e;
    }
  }
  const data = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) data.set(c, (o += c.byteLength) - c.byteLength);
  return { data, error };
}

function assertCors(r: Response, what: string) {
  assert.equal(r.headers.get('access-control-allow-origin'), '*', `${what}: Allow-Origin`);
  const expose = (r.headers.get('access-control-expose-headers') ?? '').split(',').map((s) => s.trim().toLowerCase());
  for (const h of EXPOSE) assert.ok(expose.includes(h.toLowerCase()), `${what}: exposes ${h}`);
  assert.equal(r.headers.get('cross-origin-resource-policy'), 'cross-origin', `${what}: CORP`);
}

describe('model host', () => {
  let dir: string;
  let host: ModelHost;
  let small: Uint8Array;
  let plain: Uint8Array;
  let big: Uint8Array;
  let diskSmall: Uint8Array;
  let diskSmallPath: string;
  const rnd = prng(SEED ^ 0x5eed);
  const u = (p: string) => host.url + p;
  const last = () => host.requests[host.requests.length - 1]!;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'neuronos-model-host-'));
    small = randomBytes(100_003, SEED);
    plain = randomBytes(50_000, SEED + 1);
    big = randomBytes(BIG_SIZE, SEED + 2);
    diskSmall = randomBytes(10_000, SEED + 3);
    writeFileSync(join(dir, 'big.gguf'), big);
    diskSmallPath = join(dir, 'disk-small.gguf');
    writeFileSync(diskSmallPath, diskSmall);
    host = await startModelHost({
      files: {
        [P.small]: small,
        [P.plain]: plain,
        [P.big]: join(dir, 'big.gguf'),
        [P.diskSmall]: diskSmallPath,
        [P.json]: new TextEncoder().encode('{"a":1}'),
        [P.empty]: new Uint8Array(0),
      },
      redirectPrefix: '/resolve/',
    });
    assert.match(host.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  after(async () => {
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('full GET from memory and from disk', async () => {
    let r = await fetch(u(P.plain));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.equal(r.headers.get('content-length'), String(plain.byteLength));
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    assert.match(r.headers.get('etag') ?? '', /^"[0-9a-f]{16}"$/, 'strong ETag');
    assert.equal(r.headers.get('etag'), `"${sha(plain).slice(0, 16)}"`, 'memory ETag = sha256 of the content');
    assert.ok(!Number.isNaN(Date.parse(r.headers.get('last-modified') ?? '')), 'Last-Modified is a date');
    assertCors(r, 'GET');
    assert.equal(sha(new Uint8Array(await r.arrayBuffer())), sha(plain));

    r = await fetch(u(P.json));
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(await r.text(), '{"a":1}');

    r = await fetch(u(P.empty));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), '0');
    assert.equal((await r.arrayBuffer()).byteLength, 0);

    // 64 MB from disk, through the redirect.
    r = await fetch(u(P.big));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String(BIG_SIZE));
    assert.match(r.headers.get('etag') ?? '', /^"[0-9a-f]{16}"$/);
    assert.equal(sha(new Uint8Array(await r.arrayBuffer())), sha(big));
  });

  it('HEAD gives the headers without a body (Range is ignored for HEAD)', async () => {
    const g = await fetch(u(P.plain));
    await g.arrayBuffer();
    for (const headers of [{}, { Range: 'bytes=0-9' }] as Record<string, string>[]) {
      const r = await fetch(u(P.plain), { method: 'HEAD', headers });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-length'), String(plain.byteLength));
      assert.equal(r.headers.get('etag'), g.headers.get('etag'));
      assert.equal(r.headers.get('last-modified'), g.headers.get('last-modified'));
      assert.equal(r.headers.get('accept-ranges'), 'bytes');
      assert.equal(r.headers.get('content-range'), null);
      assertCors(r, 'HEAD');
      assert.equal((await r.arrayBuffer()).byteLength, 0);
      assert.equal(last().method, 'HEAD');
      assert.equal(last().bytes, 0);
    }
    const r = await fetch(u(P.big), { method: 'HEAD' });
    assert.equal(r.headers.get('content-length'), String(BIG_SIZE));
  });

  it('ranges: a-b, a-, -n, clamped end, 416 beyond the end, invalid ignored', async () => {
    const n = plain.byteLength;
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=10-19', 10, 19],
      ['bytes=49990-', 49990, n - 1],
      ['bytes=-100', n - 100, n - 1],
      ['bytes=-999999', 0, n - 1],
      ['bytes=49000-99999999', 49000, n - 1],
      [`bytes=${n - 1}-${n - 1}`, n - 1, n - 1],
    ];
    for (const [range, a, b] of cases) {
      const r = await fetch(u(P.plain), { headers: { Range: range } });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${n}`, range);
      assert.equal(r.headers.get('content-length'), String(b - a + 1), range);
      assertCors(r, range);
      assert.deepEqual(new Uint8Array(await r.arrayBuffer()), plain.subarray(a, b + 1), range);
      assert.equal(last().range, range);
      assert.equal(last().status, 206);
      assert.equal(last().bytes, b - a + 1);
    }
    for (const range of [`bytes=${n}-`, `bytes=${n + 10}-${n + 20}`, 'bytes=-0']) {
      const r = await fetch(u(P.plain), { headers: { Range: range } });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers.get('content-range'), `bytes */${n}`, range);
      assertCors(r, '416');
      await r.arrayBuffer();
    }
    let r = await fetch(u(P.empty), { headers: { Range: 'bytes=0-' } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), 'bytes */0');
    await r.arrayBuffer();
    for (const range of ['bytes=20-10', 'items=0-10', 'bytes=0-1,5-6', 'garbage']) {
      r = await fetch(u(P.plain), { headers: { Range: range } });
      assert.equal(r.status, 200, `${range} is ignored`);
      assert.equal((await r.arrayBuffer()).byteLength, n, range);
    }
  });

  it('random ranges of the 64 MB disk file match by sha256 (direct CDN path and redirect)', async () => {
    const first = await fetch(u(P.big), { redirect: 'manual' });
    const cdn = new URL(first.headers.get('location')!).pathname;
    await first.arrayBuffer();
    for (let i = 0; i < 12; i++) {
      const a = rnd() % BIG_SIZE;
      const len = 1 + (rnd() % (i < 6 ? 4096 : 3 * 1024 * 1024));
      const b = Math.min(BIG_SIZE - 1, a + len - 1);
      const r = await fetch(u(i % 2 ? cdn : P.big), { headers: { Range: `bytes=${a}-${b}` } });
      assert.equal(r.status, 206, `bytes=${a}-${b} (seed ${SEED})`);
      assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${BIG_SIZE}`);
      assert.equal(sha(new Uint8Array(await r.arrayBuffer())), sha(big.subarray(a, b + 1)), `bytes=${a}-${b}`);
    }
    const r = await fetch(u(P.big), { headers: { Range: `bytes=-1000` } });
    assert.equal(sha(new Uint8Array(await r.arrayBuffer())), sha(big.subarray(BIG_SIZE - 1000)));
  });

  it('If-Range: fresh ETag or date → 206, stale → 200 with the full body', async () => {
    const h = await fetch(u(P.plain), { method: 'HEAD' });
    const etag = h.headers.get('etag')!;
    const lm = h.headers.get('last-modified')!;
    for (const ifRange of [etag, lm]) {
      const r = await fetch(u(P.plain), { headers: { Range: 'bytes=100-199', 'If-Range': ifRange } });
      assert.equal(r.status, 206, `fresh If-Range ${ifRange}`);
      assert.deepEqual(new Uint8Array(await r.arrayBuffer()), plain.subarray(100, 200));
      assert.equal(last().ifRange, ifRange);
    }
    const stale = ['"0123456789abcdef"', `W/${etag}`, new Date(Date.parse(lm) - 60_000).toUTCString()];
    for (const ifRange of stale) {
      const r = await fetch(u(P.plain), { headers: { Range: 'bytes=100-199', 'If-Range': ifRange } });
      assert.equal(r.status, 200, `stale If-Range ${ifRange}`);
      assert.equal(r.headers.get('content-range'), null);
      assert.equal(sha(new Uint8Array(await r.arrayBuffer())), sha(plain));
    }
    // Through the redirect too (the If-Range reaches the CDN).
    const r = await fetch(u(P.small), { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } });
    assert.equal(r.status, 200);
    assert.equal((await r.arrayBuffer()).byteLength, small.byteLength);
  });

  it('If-None-Match / If-Modified-Since → 304', async () => {
    const h = await fetch(u(P.plain), { method: 'HEAD' });
    const etag = h.headers.get('etag')!;
    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      for (const method of ['GET', 'HEAD']) {
        const r = await fetch(u(P.plain), { method, headers: { 'If-None-Match': inm } });
        assert.equal(r.status, 304, `${method} If-None-Match ${inm}`);
        assert.equal(r.headers.get('etag'), etag);
        assertCors(r, '304');
        assert.equal((await r.arrayBuffer()).byteLength, 0);
      }
    }
    let r = await fetch(u(P.plain), { headers: { 'If-None-Match': '"other"' } });
    assert.equal(r.status, 200);
    assert.equal((await r.arrayBuffer()).byteLength, plain.byteLength);
    r = await fetch(u(P.plain), { headers: { 'If-Modified-Since': h.headers.get('last-modified')! } });
    assert.equal(r.status, 304);
    await r.arrayBuffer();
    r = await fetch(u(P.plain), { headers: { 'If-Modified-Since': new Date(0).toUTCString() } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });

  it('redirect: /resolve/ → 302 to /cdn/<sha256 of path> on the same host; CDN serves the bytes', async () => {
    const cdnPath = `/cdn/${createHash('sha256').update(P.small).digest('hex')}`;
    for (const method of ['GET', 'HEAD']) {
      const r = await fetch(u(P.small), { method, redirect: 'manual' });
      assert.equal(r.status, 302, method);
      assert.equal(r.headers.get('location'), host.url + cdnPath);
      assert.equal(r.headers.get('x-linked-size'), String(small.byteLength));
      assertCors(r, `${method} 302`);
      await r.arrayBuffer();
    }
    const before = host.requests.length;
    const r = await fetch(u(P.small), { headers: { Range: 'bytes=5-14' } });
    assert.equal(r.status, 206);
    assert.equal(r.url, host.url + cdnPath);
    assertCors(r, 'CDN 206');
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), small.subarray(5, 15));
    const log = host.requests.slice(before);
    assert.deepEqual(
      log.map((q) => [q.method, q.path, q.status, q.range]),
      [
        ['GET', P.small, 302, 'bytes=5-14'],
        ['GET', cdnPath, 206, 'bytes=5-14'],
      ],
    );
    const h = await fetch(u(P.small), { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.url, host.url + cdnPath);
    assert.equal(h.headers.get('content-length'), String(small.byteLength));
    // Paths without the prefix are served directly; unknown /resolve/ and /cdn/ paths are 404.
    const d = await fetch(u(P.plain), { redirect: 'manual' });
    assert.equal(d.status, 200);
    await d.arrayBuffer();
    for (const p of ['/org/model/resolve/main/missing.gguf', `/cdn/${'0'.repeat(64)}`]) {
      const m = await fetch(u(p), { redirect: 'manual' });
      assert.equal(m.status, 404, p);
      assertCors(m, '404');
      await m.arrayBuffer();
    }
  });

  it('CORS: OPTIONS preflight 204 with the allowed headers and methods', async () => {
    for (const p of [P.small, P.plain, '/anything']) {
      const r = await fetch(u(p), {
        method: 'OPTIONS',
        headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range, if-range' },
      });
      assert.equal(r.status, 204, p);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      const allowH = (r.headers.get('access-control-allow-headers') ?? '').split(',').map((s) => s.trim().toLowerCase());
      for (const h of ['range', 'if-range', 'if-none-match', 'content-type']) assert.ok(allowH.includes(h), `allows ${h}`);
      const allowM = (r.headers.get('access-control-allow-methods') ?? '').split(',').map((s) => s.trim());
      assert.deepEqual(allowM.sort(), ['GET', 'HEAD', 'OPTIONS']);
      assert.equal(r.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.equal((await r.arrayBuffer()).byteLength, 0);
      assert.equal(last().method, 'OPTIONS');
      assert.equal(last().origin, 'http://example.test');
    }
    const r = await fetch(u(P.plain), { method: 'POST', body: 'x' });
    assert.equal(r.status, 405);
    await r.arrayBuffer();
  });

  it('dropAt: the client sees fewer bytes than Content-Length and an error; entries are consumed in order', async () => {
    const n = plain.byteLength;
    host.setBehavior(P.plain, { dropAt: [20_000, 30_000, 1_000, 60_000] });
    // 1: full GET, cut at 20000.
    let r = await fetch(u(P.plain));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String(n));
    let { data, error } = await readBody(r);
    assert.ok(error, 'reading a dropped body fails');
    assert.ok(data.byteLength <= 20_000, `got ${data.byteLength} ≤ 20000`);
    assert.deepEqual(data, plain.subarray(0, data.byteLength), 'what arrived is a correct prefix');
    assert.equal(last().bytes, 20_000, 'server sent exactly up to dropAt');
    // 2: a range from 10000: the cut is relative to the file, so 20000 bytes of body.
    r = await fetch(u(P.plain), { headers: { Range: 'bytes=10000-' } });
    assert.equal(r.status, 206);
    ({ data, error } = await readBody(r));
    assert.ok(error);
    assert.ok(data.byteLength <= 20_000);
    assert.deepEqual(data, plain.subarray(10_000, 10_000 + data.byteLength));
    assert.equal(last().bytes, 20_000);
    // 3: dropAt before the range's start: headers, then nothing.
    r = await fetch(u(P.plain), { headers: { Range: 'bytes=5000-5999' } });
    assert.equal(r.status, 206);
    ({ data, error } = await readBody(r));
    assert.ok(error);
    assert.equal(data.byteLength, 0);
    assert.equal(last().bytes, 0);
    // 4: dropAt beyond the range's end: served normally (the entry is consumed).
    r = await fetch(u(P.plain), { headers: { Range: 'bytes=0-99' } });
    ({ data, error } = await readBody(r));
    assert.equal(error, null);
    assert.deepEqual(data, plain.subarray(0, 100));
    // HEAD does not consume an entry; the list is empty now: normal service.
    await (await fetch(u(P.plain), { method: 'HEAD' })).arrayBuffer();
    r = await fetch(u(P.plain));
    ({ data, error } = await readBody(r));
    assert.equal(error, null);
    assert.equal(sha(data), sha(plain));
    host.setBehavior(P.plain, null);
  });

  it('dropAt through the redirect, chunked, and resuming with Range + If-Range', async () => {
    // Set on the /resolve/ path: applies on the CDN, which serves the bytes.
    host.setBehavior(P.small, { dropAt: [33_333, 70_000] });
    const got: Uint8Array[] = [];
    let offset = 0;
    let etag: string | null = null;
    for (let attempt = 0; attempt < 5 && offset < small.byteLength; attempt++) {
      const headers: Record<string, string> = offset ? { Range: `bytes=${offset}-`, 'If-Range': etag! } : {};
      const r = await fetch(u(P.small), { headers });
      assert.equal(r.status, offset ? 206 : 200);
      etag ??= r.headers.get('etag');
      const { data } = await readBody(r);
      got.push(data);
      offset += data.byteLength;
    }
    assert.equal(offset, small.byteLength);
    const all = new Uint8Array(offset);
    let o = 0;
    for (const c of got) all.set(c, (o += c.byteLength) - c.byteLength);
    assert.equal(sha(all), sha(small), 'resumed download is intact');
    const cdnLog = host.requests.filter((q) => q.path.startsWith('/cdn/')).slice(-3);
    assert.equal(got.length, 3, 'two drops, two resumes');
    const [d1 = 0, d2 = 0] = got.map((g) => g.byteLength);
    // The server cuts at file offsets 33333 and 70000, whatever the client managed to read.
    assert.deepEqual(cdnLog.map((q) => [q.status, q.bytes]), [
      [200, 33_333],
      [206, 70_000 - d1],
      [206, small.byteLength - d1 - d2],
    ]);
    host.setBehavior(P.small, null);

    // Chunked + drop: no Content-Length, the chunked body is cut.
    host.setBehavior(P.plain, { dropAt: [12_345], noContentLength: true });
    const r = await fetch(u(P.plain));
    assert.equal(r.headers.get('content-length'), null);
    const { data, error } = await readBody(r);
    assert.ok(error, 'an unterminated chunked body is an error');
    assert.ok(data.byteLength <= 12_345);
    assert.equal(last().bytes, 12_345);
    host.setBehavior(P.plain, null);

    // Drop on the 64 MB disk file.
    host.setBehavior(P.big, { dropAt: [BIG_SIZE / 2 + 7] });
    const b = await readBody(await fetch(u(P.big)));
    assert.ok(b.error);
    assert.ok(b.data.byteLength <= BIG_SIZE / 2 + 7);
    assert.equal(sha(b.data), sha(big.subarray(0, b.data.byteLength)));
    assert.equal(last().bytes, BIG_SIZE / 2 + 7);
    host.setBehavior(P.big, null);
  });

  it('stallAt: the client times out (AbortSignal.timeout) and stop() ends promptly with stalled connections', async () => {
    const data = randomBytes(200_000, SEED + 9);
    const h = await startModelHost({ files: { '/m/resolve/x.gguf': data, '/y.gguf': data }, redirectPrefix: '/resolve/' });
    try {
      h.setBehavior('/m/resolve/x.gguf', { stallAt: 50_000 });
      let t0 = Date.now();
      const r = await fetch(h.url + '/m/resolve/x.gguf', { signal: AbortSignal.timeout(STALL_MS) });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-length'), String(data.byteLength));
      const { data: got, error } = await readBody(r);
      assert.ok(error instanceof Error && error.name === 'TimeoutError', `timed out: ${String(error)}`);
      assert.ok(got.byteLength <= 50_000);
      assert.ok(Date.now() - t0 >= STALL_MS - 50);
      assert.equal(h.requests.at(-1)!.bytes, 50_000);
      // A range starting past stallAt stalls at once (after the headers).
      const r2 = await fetch(h.url + '/y.gguf', { headers: { Range: 'bytes=0-9' } });
      await r2.arrayBuffer();
      h.setBehavior('/y.gguf', { stallAt: 0 });
      const r3 = await fetch(h.url + '/y.gguf', { headers: { Range: 'bytes=100-' }, signal: AbortSignal.timeout(STALL_MS) });
      assert.equal(r3.status, 206);
      const s3 = await readBody(r3);
      assert.equal(s3.data.byteLength, 0);
      assert.equal((s3.error as Error).name, 'TimeoutError');
      // Two stalled connections with no client timeout: stop() must not wait for them.
      const pending = [fetch(h.url + '/m/resolve/x.gguf'), fetch(h.url + '/y.gguf')];
      const bodies = (await Promise.all(pending)).map((x) => readBody(x));
      await sleep(100);
      t0 = Date.now();
      await h.stop();
      const took = Date.now() - t0;
      assert.ok(took < STOP_MS, `stop() took ${took} ms`);
      for (const b of await Promise.all(bodies)) assert.ok(b.error, 'the stalled client sees the connection end as an error');
    } finally {
      await h.stop();
    }
  });

  it('status 404/500 and html error pages, also on the redirect path; unknown paths 404', async () => {
    for (const status of [404, 500, 503]) {
      host.setBehavior(P.plain, { status });
      const r = await fetch(u(P.plain));
      assert.equal(r.status, status);
      assertCors(r, String(status));
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await r.text(), new RegExp(`^${status} `));
      const h = await fetch(u(P.plain), { method: 'HEAD' });
      assert.equal(h.status, status);
      await h.arrayBuffer();
    }
    host.setBehavior(P.plain, null);
    host.setBehavior(P.small, { status: 500 });
    let r = await fetch(u(P.small), { redirect: 'manual' });
    assert.equal(r.status, 500, 'status replaces the redirect');
    await r.arrayBuffer();
    host.setBehavior(P.small, { html: true });
    for (const p of [P.small, P.plain]) {
      if (p === P.plain) host.setBehavior(P.plain, { html: true });
      r = await fetch(u(p));
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
      assertCors(r, 'html');
      assert.match(await r.text(), /^<!doctype html>/i);
    }
    host.setBehavior(P.small, null);
    host.setBehavior(P.plain, null);
    r = await fetch(u('/nope.gguf'));
    assert.equal(r.status, 404);
    assertCors(r, '404');
    await r.arrayBuffer();
    r = await fetch(u(P.plain));
    assert.equal(r.status, 200, 'null clears the behavior');
    await r.arrayBuffer();
  });

  it('putFile changes content, ETag and Last-Modified (direct and via the CDN)', async () => {
    for (const p of [P.plain, P.small, P.diskSmall]) {
      const before = await fetch(u(p), { method: 'HEAD' });
      const etag = before.headers.get('etag')!;
      const lm = before.headers.get('last-modified')!;
      const next = randomBytes(7777, rnd());
      host.putFile(p, next);
      const r = await fetch(u(p));
      assert.equal(r.status, 200);
      assert.notEqual(r.headers.get('etag'), etag, `${p}: ETag changed`);
      assert.equal(r.headers.get('etag'), `"${sha(next).slice(0, 16)}"`);
      assert.ok(Date.parse(r.headers.get('last-modified')!) > Date.parse(lm), `${p}: Last-Modified moved forward`);
      assert.deepEqual(new Uint8Array(await r.arrayBuffer()), next);
      const inm = await fetch(u(p), { headers: { 'If-None-Match': etag } });
      assert.equal(inm.status, 200, 'old ETag no longer matches');
      await inm.arrayBuffer();
      const ir = await fetch(u(p), { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
      assert.equal(ir.status, 200, 'stale If-Range → full body');
      assert.equal((await ir.arrayBuffer()).byteLength, next.byteLength);
      const again = randomBytes(100, rnd());
      host.putFile(p, again);
      const r2 = await fetch(u(p), { method: 'HEAD' });
      assert.ok(Date.parse(r2.headers.get('last-modified')!) > Date.parse(r.headers.get('last-modified')!), 'moves on every putFile');
      await r2.arrayBuffer();
    }
    host.putFile(P.plain, plain);
    host.putFile(P.small, small);
    // New paths can be added.
    host.putFile('/org/model/resolve/main/new.gguf', new Uint8Array([1, 2, 3]));
    const r = await fetch(u('/org/model/resolve/main/new.gguf'));
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), new Uint8Array([1, 2, 3]));
  });

  it('disk files: ETag and Last-Modified follow the file (size+mtime)', async () => {
    const p = join(dir, 'touched.gguf');
    writeFileSync(p, randomBytes(5000, SEED + 5));
    const h = await startModelHost({ files: { '/t.gguf': p } });
    try {
      const a = await fetch(h.url + '/t.gguf', { method: 'HEAD' });
      const a2 = await fetch(h.url + '/t.gguf', { method: 'HEAD' });
      assert.equal(a.headers.get('etag'), a2.headers.get('etag'), 'stable');
      utimesSync(p, new Date(), new Date(Date.now() - 3_600_000));
      const b = await fetch(h.url + '/t.gguf', { method: 'HEAD' });
      assert.notEqual(b.headers.get('etag'), a.headers.get('etag'));
      assert.notEqual(b.headers.get('last-modified'), a.headers.get('last-modified'));
    } finally {
      await h.stop();
    }
    await assert.rejects(startModelHost({ files: { '/x.gguf': join(dir, 'missing.gguf') } }), /ENOENT/);
  });

  it('noRange: Range is ignored (200, whole file, no Accept-Ranges)', async () => {
    host.setBehavior(P.small, { noRange: true });
    const r = await fetch(u(P.small), { headers: { Range: 'bytes=10-19' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('accept-ranges'), null);
    assert.equal(r.headers.get('content-range'), null);
    assert.equal(r.headers.get('content-length'), String(small.byteLength));
    assert.equal(sha(new Uint8Array(await r.arrayBuffer())), sha(small));
    const beyond = await fetch(u(P.small), { headers: { Range: 'bytes=999999999-' } });
    assert.equal(beyond.status, 200, 'no 416 either');
    await beyond.arrayBuffer();
    host.setBehavior(P.small, null);
  });

  it('noContentLength: chunked without Content-Length (200 and 206)', async () => {
    host.setBehavior(P.plain, { noContentLength: true });
    let r = await fetch(u(P.plain));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), null);
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
    assert.equal(sha(new Uint8Array(await r.arrayBuffer())), sha(plain));
    r = await fetch(u(P.plain), { headers: { Range: 'bytes=100-' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-length'), null);
    assert.equal(r.headers.get('content-range'), `bytes 100-${plain.byteLength - 1}/${plain.byteLength}`);
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), plain.subarray(100));
    r = await fetch(u(P.plain), { method: 'HEAD' });
    assert.equal(r.headers.get('content-length'), null);
    await r.arrayBuffer();
    host.setBehavior(P.plain, null);
  });

  it('bytesPerSecond throttles and delayMs delays (they complete; lower bounds only)', async () => {
    host.setBehavior(P.plain, { bytesPerSecond: 100_000 });
    let t0 = Date.now();
    let r = await fetch(u(P.plain));
    assert.equal(sha(new Uint8Array(await r.arrayBuffer())), sha(plain));
    const took = Date.now() - t0;
    assert.ok(took >= 250, `50 kB at 100 kB/s took ${took} ms (≥ 250)`);
    // Slow enough to observe progress: the log's byte count grows while the body streams.
    host.setBehavior(P.plain, { bytesPerSecond: 50_000 });
    r = await fetch(u(P.plain), { headers: { Range: 'bytes=0-19999' } });
    const reader = r.body!.getReader();
    await reader.read();
    const mid = last().bytes;
    let n = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.byteLength;
    }
    assert.ok(mid < 20_000, `partial progress in the log (${mid})`);
    assert.equal(last().bytes, 20_000);
    host.setBehavior(P.plain, { delayMs: 300 });
    t0 = Date.now();
    r = await fetch(u(P.plain), { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 >= 250, 'delayed');
    await r.arrayBuffer();
    // On the redirect path, the delay is applied once (on the CDN), not on the 302.
    host.setBehavior(P.small, { delayMs: 300 });
    t0 = Date.now();
    r = await fetch(u(P.small), { redirect: 'manual' });
    assert.equal(r.status, 302);
    await r.arrayBuffer();
    r = await fetch(r.headers.get('location')!);
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 >= 250);
    await r.arrayBuffer();
    host.setBehavior(P.small, null);
    host.setBehavior(P.plain, null);
  });

  it('request log: every request in order, with method, path, range, If-Range, status, bytes, origin', async () => {
    host.requests.length = 0;
    const o = 'http://app.example.test';
    await (await fetch(u(P.plain) + '?download=true', { headers: { Origin: o } })).arrayBuffer();
    await (await fetch(u(P.plain), { method: 'HEAD' })).arrayBuffer();
    await (await fetch(u(P.plain), { headers: { Range: 'bytes=1-2', 'If-Range': '"x"', Origin: o } })).arrayBuffer();
    await (await fetch(u(P.small), { headers: { Range: 'bytes=3-4' } })).arrayBuffer();
    await (await fetch(u('/missing'))).arrayBuffer();
    const cdnPath = `/cdn/${createHash('sha256').update(P.small).digest('hex')}`;
    assert.deepEqual(host.requests, [
      { method: 'GET', path: P.plain, range: null, ifRange: null, status: 200, bytes: plain.byteLength, origin: o },
      { method: 'HEAD', path: P.plain, range: null, ifRange: null, status: 200, bytes: 0, origin: null },
      { method: 'GET', path: P.plain, range: 'bytes=1-2', ifRange: '"x"', status: 200, bytes: plain.byteLength, origin: o },
      { method: 'GET', path: P.small, range: 'bytes=3-4', ifRange: null, status: 302, bytes: host.requests[3]!.bytes, origin: null },
      { method: 'GET', path: cdnPath, range: 'bytes=3-4', ifRange: null, status: 206, bytes: 2, origin: null },
      { method: 'GET', path: '/missing', range: null, ifRange: null, status: 404, bytes: host.requests[5]!.bytes, origin: null },
    ]);
  });

  it('setBehavior validates and copies its input', async () => {
    assert.throws(() => host.setBehavior(P.plain, { dropAt: [-1] }));
    assert.throws(() => host.setBehavior(P.plain, { status: 99 }));
    assert.throws(() => host.setBehavior(P.plain, { bytesPerSecond: 0 }));
    const drops = [10];
    host.setBehavior(P.plain, { dropAt: drops });
    await readBody(await fetch(u(P.plain)));
    assert.deepEqual(drops, [10], "the caller's array is not consumed");
    host.setBehavior(P.plain, null);
  });
});
