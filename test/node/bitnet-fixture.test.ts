// BitNet b1.58 fixtures (test/fixtures/bitnet.ts) and the reference forward pass
// (test/fixtures/bitnet-ref.ts), without WASM:
// - our I2_S writer gives the same bytes as a separate transcription of Microsoft's quantize_i2_s
//   (x86 packing loop, src/ggml-bitnet-mad.cpp), and a hand-made pattern;
// - the reference's I2_S decoder inverts the writer (tails, extremes, code 3, short buffers);
// - TQ2_0 bytes decoded with a transcription of ggml's dequantize_row_tq2_0 give the I2_S weights;
// - the reference forward pass on a tiny model whose logits follow from closed-form formulas;
// - the fixtures in the manifest: bitnet-scripted's greedy output and margins (>= 32),
//   bitnet-random's stored reference logits, the bad-i2s-* defects.
// Random inputs use NEURONOS_TEST_SEED (printed on failure; random when unset).
//   node --import tsx --test test/node/bitnet-fixture.test.ts
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  I2S_TO_TQ2,
  llama3BPE,
  type RandomSource,
  encodeI2S,
  encodeTQ2_0,
  i2sRandomProducer,
  quantizeI2S,
  randomTernary,
  tq2RandomProducer,
} from '../fixtures/bitnet.ts';
import { decodeI2S, forwardAll, greedy, loadReferenceModel, referenceLogits } from '../fixtures/bitnet-ref.ts';
import { type GGUFKV, GGMLType, buildGGUF, f32, fp16ToFp32, fp32ToFp16, readGGUF, str, tensorBytes, toF16Bytes, toF32Bytes, u32 } from '../fixtures/gguf.ts';

const FIXTURES = process.env.NEURONOS_FIXTURES_DIR || fileURLToPath(new URL('../../.cache/fixtures', import.meta.url));
const SEED = process.env.NEURONOS_TEST_SEED || randomBytes(4).toString('hex');

/** Runs a test body; on failure the message names the seed. */
function seeded(fn: (rng: TestRng) => void | Promise<void>) {
  return async () => {
    try {
      await fn(new TestRng(SEED));
    } catch (e) {
      if (e instanceof Error) e.message += `\n(seed ${SEED}: rerun with NEURONOS_TEST_SEED=${SEED})`;
      throw e;
    }
  };
}

/** splitmix32-seeded xorshift128 (independent of the generator's PRNG). */
class TestRng implements RandomSource {
  private s = new Uint32Array(4);
  constructor(seed: string) {
    let h = 0x9e3779b9;
    for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 0x85ebca6b) >>> 0;
    for (let i = 0; i < 4; i++) {
      h = (h + 0x9e3779b9) >>> 0;
      let z = h;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      this.s[i] = (z ^ (z >>> 15)) >>> 0 || 1;
    }
  }
  u32(): number {
    const s = this.s;
    let t = s[3]!;
    const x = s[0]!;
    s[3] = s[2]!;
    s[2] = s[1]!;
    s[1] = x;
    t ^= t << 11;
    t ^= t >>> 8;
    s[0] = (t ^ x ^ (x >>> 19)) >>> 0;
    return s[0]!;
  }
  uniform(): number {
    return (this.u32() >>> 8) / 16777216;
  }
  normal(): number {
    return (this.uniform() + this.uniform() + this.uniform() + this.uniform() - 2) * 1.7320508075688772;
  }
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

// ---------------------------------------------------------------------------------------------
// Transcriptions (written from the C sources, kept deliberately literal)

/**
 * microsoft/BitNet src/ggml-bitnet-mad.cpp quantize_i2_s, x86 (QK_I2 = 128): max of |src| in
 * double; q8 = 1 when |src| < 1e-6, else 2 when src·max > 0, else 0; dst (n/4 bytes) zeroed; for
 * block i and j in 0..127: group_idx = j/32, group_pos = j%32,
 * dst[i·32 + group_pos] |= q8[i·128 + j] << (6 − 2·group_idx); then the float scale at dst + n/4.
 * It returns nrow·row_size/4 + 32 bytes; the 28 bytes after the scale are not written by it (our
 * files hold zeros there, so the transcription's buffer starts zeroed).
 */
function quantizeI2sTranscribed(src: Float32Array, nrow: number, nPerRow: number): Uint8Array {
  const QK_I2 = 128;
  const n = nrow * nPerRow;
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(src[i]!));
  const i2Scale = max;
  const q8 = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (Math.abs(src[i]!) < 1e-6) {
      q8[i] = 1;
      continue;
    }
    q8[i] = src[i]! * i2Scale > 0 ? 2 : 0;
  }
  const dst = new Uint8Array(n / 4 + 32);
  for (let i = 0; i < n / QK_I2; i++) {
    for (let j = 0; j < QK_I2; j++) {
      const groupIdx = Math.floor(j / 32);
      const groupPos = j % 32;
      const temp = (q8[i * QK_I2 + j]! << (6 - 2 * groupIdx)) & 0xff;
      dst[i * 32 + groupPos] = dst[i * 32 + groupPos]! | temp;
    }
  }
  new DataView(dst.buffer).setFloat32(n / 4, i2Scale, true);
  return dst;
}

/** ggml/src/ggml-quants.c dequantize_row_tq2_0: per block, d = fp16 at byte 64; for j in {0, 32},
 * l in 0..3, m in 0..31: q = (qs[j + m] >> (l·2)) & 3; *y++ = (q − 1)·d. */
function dequantizeTq2_0Transcribed(x: Uint8Array, k: number): Float32Array {
  const QK_K = 256;
  const nb = k / QK_K;
  const y = new Float32Array(k);
  let yi = 0;
  for (let i = 0; i < nb; i++) {
    const blk = x.subarray(i * 66, i * 66 + 66);
    const d = fp16ToFp32(blk[64]! | (blk[65]! << 8));
    for (let j = 0; j < 64; j += 32) {
      for (let l = 0; l < 4; l++) {
        for (let m = 0; m < 32; m++) {
          const q = (blk[j + m]! >> (l * 2)) & 3;
          y[yi++] = (q - 1) * d;
        }
      }
    }
  }
  return y;
}

const bytesEqual = (a: Uint8Array, b: Uint8Array, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.fail(`${what}: byte ${i} differs (${a[i]} vs ${b[i]})`);
};

// ---------------------------------------------------------------------------------------------
// Writer vs quantize_i2_s

test('I2_S writer: a hand-made block', () => {
  // weight g (group 0) +1, g+32 (group 1) −1, g+64 (group 2) 0, g+96 (group 3) +1
  const t = new Int8Array(128);
  for (let g = 0; g < 32; g++) {
    t[g] = 1;
    t[g + 32] = -1;
    t[g + 64] = 0;
    t[g + 96] = 1;
  }
  t[5] = 0; // byte 5: 01 00 01 10
  const b = encodeI2S(t, 0.5);
  assert.equal(b.length, 32 + 32);
  assert.equal(b[0], 0b10_00_01_10);
  assert.equal(b[31], 0b10_00_01_10);
  assert.equal(b[5], 0b01_00_01_10);
  assert.deepEqual([...b.subarray(32, 36)], [0, 0, 0, 0x3f]); // 0.5f little endian
  assert.ok(b.subarray(36).every((x) => x === 0));
});

test(
  'I2_S writer = transcribed quantize_i2_s (x86 packing)',
  seeded((rng) => {
    const shapes: [number, number][] = [
      [1, 128],
      [3, 256],
      [4, 384],
      [5, 128 * 7],
      [2, 2560],
    ];
    for (const [nrow, nPerRow] of shapes) {
      const n = nrow * nPerRow;
      // floats with signs, exact zeros, -0, values under the 1e-6 zero threshold and around it
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const k = rng.int(10);
        x[i] = k === 0 ? 0 : k === 1 ? -0 : k === 2 ? (rng.uniform() - 0.5) * 1.9e-6 : k === 3 ? (rng.uniform() < 0.5 ? -1 : 1) * 1.0000001e-6 : rng.normal() * 3;
      }
      bytesEqual(quantizeI2S(x), quantizeI2sTranscribed(x, nrow, nPerRow), `floats ${nrow}x${nPerRow}`);
      // exact ternary × scale: the writer's own input form
      const t = randomTernary(rng, n);
      t[rng.int(n)] = 1; // make sure max |w| = scale
      for (const scale of [0.125, 1.7, Math.fround(0.0123), 3]) {
        const w = Float32Array.from(t, (v) => v * scale);
        bytesEqual(encodeI2S(t, scale), quantizeI2sTranscribed(w, nrow, nPerRow), `ternary x ${scale} ${nrow}x${nPerRow}`);
      }
    }
  }),
);

// ---------------------------------------------------------------------------------------------
// Decoder

test(
  'I2_S: the reference decoder inverts the writer (tails, extremes) and refuses bad data',
  seeded((rng) => {
    const cases: { t: Int8Array; label: string }[] = [];
    for (const blocks of [1, 2, 3, 20]) cases.push({ t: randomTernary(rng, 128 * blocks), label: `random ${blocks} blocks` });
    const tail = randomTernary(rng, 384);
    tail.fill(1, 384 - 32); // the last group of the last block: the lowest bits of the last 32 bytes
    cases.push({ t: tail, label: 'tail +1' });
    const head = randomTernary(rng, 256);
    head.fill(-1, 0, 128);
    cases.push({ t: head, label: 'first block -1' });
    cases.push({ t: new Int8Array(128), label: 'all zero' });
    cases.push({ t: new Int8Array(256).fill(1), label: 'all +1' });
    cases.push({ t: new Int8Array(256).fill(-1), label: 'all -1' });
    const scales = [1, 0.5, 1e-30, 3.4e38, 2 ** -149, 0, Math.fround(Math.PI)];
    for (const { t, label } of cases) {
      for (const scale of scales) {
        const b = encodeI2S(t, scale);
        assert.equal(b.length, t.length / 4 + 32);
        assert.ok(b.subarray(t.length / 4 + 4).every((x) => x === 0), `${label}: trailer padding is zero`);
        const d = decodeI2S(b, t.length);
        assert.equal(d.scale, Math.fround(scale), `${label}: scale ${scale}`);
        assert.deepEqual(d.ternary, t, `${label}: weights`);
        // the decoder also accepts exactly n/4 + 4 bytes, not fewer
        assert.deepEqual(decodeI2S(b.subarray(0, t.length / 4 + 4), t.length).ternary, t);
        assert.throws(() => decodeI2S(b.subarray(0, t.length / 4 + 3), t.length), /need/);
      }
    }
    // code 3 anywhere is refused, with its index
    const t = randomTernary(rng, 512);
    const b = encodeI2S(t, 1);
    for (let k = 0; k < 20; k++) {
      const w = rng.int(512);
      const bad = b.slice();
      const byte = (w >>> 7) * 32 + (w & 31);
      bad[byte] = bad[byte]! | (3 << (6 - 2 * ((w & 127) >>> 5)));
      assert.throws(() => decodeI2S(bad, 512), new RegExp(`code 3 at weight ${w} `));
    }
    assert.throws(() => encodeI2S(Int8Array.from({ length: 128 }, (_, i) => (i === 7 ? 2 : 0)), 1), /not ternary/);
    assert.throws(() => encodeI2S(new Int8Array(64), 1), /multiple of 128/);
    assert.throws(() => decodeI2S(new Uint8Array(100), 96), /multiple of 128/);
  }),
);

// ---------------------------------------------------------------------------------------------
// TQ2_0

test(
  'TQ2_0: transcribed dequantize_row_tq2_0 gives the I2_S weights',
  seeded((rng) => {
    for (const n of [256, 512, 2560 * 4]) {
      const t = randomTernary(rng, n);
      const d = fp16ToFp32(fp32ToFp16(0.01 + rng.uniform()));
      const fromTq2 = dequantizeTq2_0Transcribed(encodeTQ2_0(t, d), n);
      const i2s = decodeI2S(encodeI2S(t, d), n);
      for (let i = 0; i < n; i++) assert.equal(fromTq2[i], i2s.ternary[i]! * i2s.scale, `n=${n} weight ${i}`);
    }
    assert.throws(() => encodeTQ2_0(new Int8Array(256), 0.1), /not exact in fp16/);
    // byte view: TQ2_0 qs = I2_S bytes with the 2-bit fields reversed
    const t = randomTernary(rng, 512);
    const a = encodeI2S(t, 1);
    const q = encodeTQ2_0(t, 1);
    for (let blk = 0; blk < 2; blk++) for (let i = 0; i < 64; i++) assert.equal(q[blk * 66 + i], I2S_TO_TQ2[a[blk * 64 + i]!]);

    // the streaming producers of the speed fixtures: same PRNG stream -> same weights
    const seed = `${SEED}/producers`;
    const n = 2560 * 640;
    const scale = fp16ToFp32(fp32ToFp16(0.0271));
    const i2sBytes = new Uint8Array(tensorBytes(GGMLType.I2_S, [2560, 640]));
    const tq2Bytes = new Uint8Array(tensorBytes(GGMLType.TQ2_0, [2560, 640]));
    const pi = i2sRandomProducer(new TestRng(seed), n, scale);
    const pt = tq2RandomProducer(new TestRng(seed), scale);
    for (let o = 0; o < i2sBytes.length; o += 32 * 1001) pi(i2sBytes.subarray(o, Math.min(i2sBytes.length, o + 32 * 1001)), o);
    for (let o = 0; o < tq2Bytes.length; o += 66 * 333) pt(tq2Bytes.subarray(o, Math.min(tq2Bytes.length, o + 66 * 333)), o);
    const di = decodeI2S(i2sBytes, n);
    assert.equal(di.scale, scale);
    const dt = dequantizeTq2_0Transcribed(tq2Bytes, n);
    const count = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      if (dt[i] !== di.ternary[i]! * scale) assert.fail(`producers: weight ${i}: TQ2_0 ${dt[i]} vs I2_S ${di.ternary[i]! * scale}`);
      count[di.ternary[i]! + 1]!++;
    }
    assert.ok(count.every((c) => c > n / 5), `all three values present: ${count}`);
  }),
);

/** Reads [start, start + len) of a file. */
function readRange(path: string, start: number, len: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(len);
    let o = 0;
    while (o < len) {
      const r = readSync(fd, b, o, len - o, start + o);
      if (r <= 0) throw new Error(`${path}: short read at ${start + o}`);
      o += r;
    }
    return b;
  } finally {
    closeSync(fd);
  }
}

function readHeader(path: string) {
  // the header (with the tokenizer) is well under 16 MiB
  const size = Math.min(16 << 20, statSync(path).size);
  return readGGUF(readRange(path, 0, size));
}

test('speed fixtures: bitnet-2b4t-tq2_0 holds the weights of bitnet-2b4t-i2_s', (t) => {
  const pi = join(FIXTURES, 'bitnet-2b4t-i2_s.gguf');
  const pt = join(FIXTURES, 'bitnet-2b4t-tq2_0.gguf');
  if (!existsSync(pi) || !existsSync(pt)) {
    t.skip('speed fixtures not generated (npm run fixtures -- --bitnet-bench)');
    return;
  }
  const gi = readHeader(pi);
  const gt = readHeader(pt);
  assert.equal(gi.tensors.length, gt.tensors.length);
  let checked = 0;
  gi.tensors.forEach((ti, idx) => {
    const tt = gt.tensors[idx]!;
    assert.equal(tt.name, ti.name);
    assert.deepEqual(tt.ne, ti.ne);
    const n = ti.ne.reduce((a, b) => a * b, 1);
    if (ti.type !== GGMLType.I2_S) {
      assert.equal(tt.type, ti.type, ti.name);
      return;
    }
    assert.equal(tt.type, GGMLType.TQ2_0, ti.name);
    // the scale, the first and the last 256 weights of every tensor; all of blk.0.attn_k
    const whole = ti.name === 'blk.0.attn_k.weight';
    const scale = new DataView(readRange(pi, gi.dataOffset + ti.offset + n / 4, 4).buffer).getFloat32(0, true);
    const ranges = whole ? [[0, n]] : [[0, 256], [n - 256, 256]];
    for (const [w0, len] of ranges as [number, number][]) {
      const ib = readRange(pi, gi.dataOffset + ti.offset + w0 / 4, len / 4);
      const withScale = new Uint8Array(len / 4 + 4);
      withScale.set(ib);
      new DataView(withScale.buffer).setFloat32(len / 4, scale, true);
      const di = decodeI2S(withScale, len);
      const dt = dequantizeTq2_0Transcribed(readRange(pt, gt.dataOffset + tt.offset + (w0 / 256) * 66, (len / 256) * 66), len);
      for (let i = 0; i < len; i++) if (dt[i] !== di.ternary[i]! * scale) assert.fail(`${ti.name} weight ${w0 + i}: ${dt[i]} vs ${di.ternary[i]! * scale}`);
      checked += len;
    }
  });
  t.diagnostic(`compared ${checked} weights`);
});

// ---------------------------------------------------------------------------------------------
// The reference forward pass on a model small enough to follow by hand

test('reference forward pass: a tiny model with closed-form logits', () => {
  // 128 wide, 4 query heads of 32 sharing 2 KV heads (GQA), RoPE on all 32 dims, 128 FFN units;
  // token t embeds as 2·e_t, 12 tokens. Nonzero weights are listed below; the expected logits are
  // worked out on the few nonzero coordinates.
  const E = 128;
  const HD = 32;
  const nV = 12;
  const eps = 1e-5;
  const base = 10000;
  const s = { q: 0.125, k: 0.25, v: 2, o: 1.5, g: 0.75, u: 1.25, d: 3 };
  const A = 'bitnet-b1.58';
  const kv: GGUFKV = new Map([
    ['general.architecture', str(A)],
    [`${A}.embedding_length`, u32(E)],
    [`${A}.block_count`, u32(1)],
    [`${A}.feed_forward_length`, u32(128)],
    [`${A}.attention.head_count`, u32(4)],
    [`${A}.attention.head_count_kv`, u32(2)],
    [`${A}.rope.dimension_count`, u32(HD)],
    [`${A}.rope.freq_base`, f32(base)],
    [`${A}.attention.layer_norm_rms_epsilon`, f32(eps)],
  ]);
  // matrices as {output row: {input: ternary}}
  const mat = (nIn: number, nOut: number, rows: Record<number, Record<number, number>>) => {
    const t = new Int8Array(nIn * nOut);
    for (const [o, cols] of Object.entries(rows)) for (const [i, v] of Object.entries(cols)) t[Number(o) * nIn + Number(i)] = v;
    return t;
  };
  // q: head 0 (rows 0..31) reads h0, h1 on dims 0, 1 and 16 (16 = the partner of 0 in NEOX);
  //    head 1 (32..63) h0 − h1 on its dim 0; head 2 (64..95) h1 on its dim 0; head 3 nothing
  const Wq = mat(E, E, { 0: { 0: 1, 1: 1 }, 1: { 1: 1 }, 16: { 1: 1 }, 32: { 0: 1, 1: -1 }, 64: { 1: 1 } });
  // k: kv head 0 (rows 0..31): dims 0, 1; kv head 1 (32..63): dim 0
  const Wk = mat(E, 64, { 0: { 0: 1, 1: 1 }, 1: { 0: 1 }, 32: { 0: 1, 1: -1 } });
  const Wv = mat(E, 64, { 0: { 0: 1 }, 1: { 1: 1 }, 32: { 1: 1 }, 33: { 0: -1 } });
  const Wo = mat(E, E, { 2: { 0: 1 }, 3: { 1: 1 }, 4: { 32: 1 }, 5: { 33: -1 }, 8: { 64: 1 }, 9: { 97: 1 } });
  // unit 2 has a negative gate and a nonzero up: relu must cancel it
  const Wg = mat(E, 128, { 0: { 2: 1 }, 1: { 3: 1, 5: -1 }, 2: { 2: -1 } });
  const Wu = mat(E, 128, { 0: { 4: 1 }, 1: { 4: 1, 0: 1 }, 2: { 4: 1 } });
  const Wd = mat(128, E, { 6: { 0: 1 }, 7: { 1: 1 }, 0: { 1: -1 }, 10: { 2: 1 } });
  const emb = new Float32Array(E * nV);
  for (let t = 0; t < nV; t++) emb[t * E + t] = 2;
  const fill = (n: number, v: number, at: Record<number, number> = {}) => {
    const f = new Float32Array(n).fill(v);
    for (const [i, x] of Object.entries(at)) f[Number(i)] = x;
    return f;
  };
  const I2 = GGMLType.I2_S;
  const F = GGMLType.F32;
  const bytes = buildGGUF(kv, [
    { name: 'token_embd.weight', ne: [E, nV], type: GGMLType.F16, data: toF16Bytes(emb) },
    { name: 'output_norm.weight', ne: [E], type: F, data: toF32Bytes(fill(E, 1, { 7: 3 })) },
    { name: 'blk.0.attn_norm.weight', ne: [E], type: F, data: toF32Bytes(fill(E, 1.5)) },
    { name: 'blk.0.attn_q.weight', ne: [E, E], type: I2, data: encodeI2S(Wq, s.q) },
    { name: 'blk.0.attn_k.weight', ne: [E, 64], type: I2, data: encodeI2S(Wk, s.k) },
    { name: 'blk.0.attn_v.weight', ne: [E, 64], type: I2, data: encodeI2S(Wv, s.v) },
    { name: 'blk.0.attn_output.weight', ne: [E, E], type: I2, data: encodeI2S(Wo, s.o) },
    { name: 'blk.0.attn_sub_norm.weight', ne: [E], type: F, data: toF32Bytes(fill(E, 1, { 33: 0.5 })) },
    { name: 'blk.0.ffn_norm.weight', ne: [E], type: F, data: toF32Bytes(fill(E, 0.5)) },
    { name: 'blk.0.ffn_gate.weight', ne: [E, 128], type: I2, data: encodeI2S(Wg, s.g) },
    { name: 'blk.0.ffn_up.weight', ne: [E, 128], type: I2, data: encodeI2S(Wu, s.u) },
    { name: 'blk.0.ffn_sub_norm.weight', ne: [128], type: F, data: toF32Bytes(fill(128, 1, { 1: 2 })) },
    { name: 'blk.0.ffn_down.weight', ne: [128, E], type: I2, data: encodeI2S(Wd, s.d) },
  ]);

  // closed form, on sparse vectors {dim: value} of length 128
  type V = Record<number, number>;
  const rms = (v: V) => Math.sqrt(Object.values(v).reduce((a, x) => a + x * x, 0) / E + eps);
  const scaleV = (v: V, k: number): V => Object.fromEntries(Object.entries(v).map(([i, x]) => [i, x * k]));
  const g0 = (v: V, i: number) => v[i] ?? 0;
  const theta = (i: number) => Math.pow(base, (-2 * i) / HD);
  const keys: V[][] = []; // [position][kv head], head-relative dims
  const vals: V[][] = [];
  const expected: number[][] = [];
  const tokens = [0, 1, 1];
  tokens.forEach((tok, p) => {
    const x: V = { [tok]: 2 };
    const h = scaleV(x, 1.5 / rms(x));
    const h0 = g0(h, 0);
    const h1 = g0(h, 1);
    const q: V[] = [{ 0: s.q * (h0 + h1), 1: s.q * h1, 16: s.q * h1 }, { 0: s.q * (h0 - h1) }, { 0: s.q * h1 }, {}];
    keys.push([{ 0: s.k * (h0 + h1), 1: s.k * h0 }, { 0: s.k * (h0 - h1) }]);
    vals.push([{ 0: s.v * h0, 1: s.v * h1 }, { 0: s.v * h1, 1: -s.v * h0 }]);
    // NEOX: pairs (i, i+16) rotated by p·θ_i; q'·k' = Σ_i (qa ka + qb kb) cos Δθ_i + (qa kb − qb ka) sin Δθ_i
    const attn: V = {};
    q.forEach((qj, j) => {
      const kvh = j < 2 ? 0 : 1; // 4 query heads on 2 kv heads
      const sc = keys.map((kt, t) => {
        const k = kt[kvh]!;
        let dot = 0;
        for (let i = 0; i < HD / 2; i++) {
          const a = (p - t) * theta(i);
          const qa = g0(qj, i), qb = g0(qj, i + 16), ka = g0(k, i), kb = g0(k, i + 16);
          dot += (qa * ka + qb * kb) * Math.cos(a) + (qa * kb - qb * ka) * Math.sin(a);
        }
        return dot / Math.sqrt(HD);
      });
      const mx = Math.max(...sc);
      const w = sc.map((z) => Math.exp(z - mx));
      const sum = w.reduce((a, b) => a + b, 0);
      for (const d of [0, 1]) attn[j * HD + d] = vals.reduce((acc, v, t) => acc + (w[t]! / sum) * g0(v[kvh]!, d), 0);
    });
    const a = scaleV(attn, 1 / rms(attn));
    a[33] = g0(a, 33) * 0.5; // attn_sub_norm
    x[2] = g0(x, 2) + s.o * g0(a, 0);
    x[3] = g0(x, 3) + s.o * g0(a, 1);
    x[4] = g0(x, 4) + s.o * g0(a, 32);
    x[5] = g0(x, 5) - s.o * g0(a, 33);
    x[8] = g0(x, 8) + s.o * g0(a, 64);
    x[9] = g0(x, 9) + s.o * g0(a, 97);
    const h2 = scaleV(x, 0.5 / rms(x));
    const gate = [s.g * g0(h2, 2), s.g * (g0(h2, 3) - g0(h2, 5)), -s.g * g0(h2, 2)];
    const up = [s.u * g0(h2, 4), s.u * (g0(h2, 4) + g0(h2, 0)), s.u * g0(h2, 4)];
    assert.ok(gate[2]! < 0 && up[2] !== 0, 'unit 2 tests relu');
    const f: V = Object.fromEntries(gate.map((gi, i) => [i, Math.max(gi, 0) ** 2 * up[i]!]));
    const rf = rms(f);
    const fn = [g0(f, 0) / rf, (g0(f, 1) / rf) * 2, g0(f, 2) / rf];
    x[6] = g0(x, 6) + s.d * fn[0]!;
    x[7] = g0(x, 7) + s.d * fn[1]!;
    x[0] = g0(x, 0) - s.d * fn[1]!;
    x[10] = g0(x, 10) + s.d * fn[2]!;
    const r = scaleV(x, 1 / rms(x));
    r[7] = g0(r, 7) * 3;
    expected.push(Array.from({ length: nV }, (_, t) => 2 * g0(r, t)));
  });

  const m = loadReferenceModel(bytes);
  assert.equal(m.scales['blk.0.ffn_down.weight'], 3);
  const got = forwardAll(m, tokens);
  got.forEach((l, p) => {
    for (let t = 0; t < nV; t++) {
      const e = expected[p]![t]!;
      assert.ok(Math.abs(l[t]! - e) <= 1e-9 * Math.max(1, Math.abs(e)), `position ${p} token ${t}: reference ${l[t]} vs closed form ${e}`);
    }
  });
  // not degenerate: attention (all heads) and the FFN move the logits
  for (const t of [2, 3, 4, 5, 6, 7, 8, 9]) assert.ok(Math.abs(expected[2]![t]!) > 0.01, `closed form, token ${t}: ${expected[2]}`);
});

// ---------------------------------------------------------------------------------------------
// The generated fixtures

interface Entry {
  name: string;
  file: string;
  [k: string]: unknown;
}
function manifestEntry(name: string): Entry | undefined {
  const p = join(FIXTURES, 'manifest.json');
  if (!existsSync(p)) return undefined;
  const m = JSON.parse(readFileSync(p, 'utf8')) as { fixtures: Entry[] };
  const e = m.fixtures.find((x) => x.name === name);
  return e && existsSync(join(FIXTURES, e.file)) ? e : undefined;
}
function need(t: { skip(msg: string): void }, name: string): Entry | undefined {
  const e = manifestEntry(name);
  if (!e) t.skip(`${name} not generated (npm run fixtures)`);
  return e;
}

test('bitnet-scripted: greedy reference output is the script, margins >= 32', (t) => {
  const e = need(t, 'bitnet-scripted');
  if (!e) return;
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, e.file)));
  const g = readGGUF(bytes);
  assert.equal(g.kv.get('general.architecture')?.value, 'bitnet-b1.58');
  const types = new Set(g.tensors.map((x) => x.type));
  assert.ok(types.has(GGMLType.I2_S) && types.has(GGMLType.F16) && !g.tensors.some((x) => x.name === 'output.weight'));
  const tokens = Array.from(g.kv.get('tokenizer.ggml.tokens')!.value as ArrayLike<string>);
  const bpe = llama3BPE(tokens, Array.from(g.kv.get('tokenizer.ggml.merges')!.value as ArrayLike<string>));
  const script = e.script as string;
  const ids = e.script_token_ids as number[];
  const stop = e.stop_token_id as number;
  assert.deepEqual(bpe.encode(script), ids);
  assert.equal(bpe.decode(ids), script);
  assert.deepEqual(bpe.encode(e.raw_prompt as string), e.raw_prompt_token_ids);

  const m = loadReferenceModel(bytes);
  // Q/K/V/O are random ternary with all three codes
  for (const L of m.layers) for (const w of [L.wq, L.wk, L.wv, L.wo]) for (const c of [-1, 0, 1]) assert.ok((w.w as Int8Array).includes(c));
  const eog = e.eog_ids as number[];
  let min = Infinity;
  const prompts: [string, number[]][] = [
    ['raw', e.raw_prompt_token_ids_with_bos as number[]],
    ['gguf chat template', (e.margins as { gguf_chat_template: { prompt_token_ids: number[] } }).gguf_chat_template.prompt_token_ids],
    ['BitNet chat format', [g.kv.get('tokenizer.ggml.bos_token_id')!.value as number, ...bpe.encode('User: Hello'), 128009, ...bpe.encode('Assistant: ')]],
  ];
  for (const [label, prompt] of prompts) {
    const r = greedy(m, prompt, ids.length + 3, eog);
    assert.deepEqual(r.tokens, [...ids, stop], `${label}: greedy output`);
    for (const [i, mg] of r.margins.entries()) assert.ok(mg >= 32, `${label}: margin ${mg} at step ${i}`);
    min = Math.min(min, ...r.margins);
  }
  const unknown = greedy(m, [128000, ...bpe.encode('Once upon a time')], 1, eog);
  assert.equal(unknown.tokens[0], stop);
  assert.ok(unknown.margins[0]! >= 32);
  assert.ok(Math.abs(min - (e.min_margin as number)) < 1e-3, `manifest min_margin ${e.min_margin} vs ${min}`);
  t.diagnostic(`min margin ${min.toFixed(3)}`);
});

test('bitnet-random: the stored reference logits are the reference of the file', (t) => {
  const e = need(t, 'bitnet-random');
  if (!e) return;
  const ref = e.reference as { file: string; token_ids: number[]; n_pos: number; n_vocab: number; argmax: number[] };
  const stored = readFileSync(join(FIXTURES, ref.file));
  assert.equal(stored.length, ref.n_pos * ref.n_vocab * 4);
  const flat = new Float32Array(stored.buffer.slice(stored.byteOffset, stored.byteOffset + stored.length));
  const logits = referenceLogits(join(FIXTURES, e.file), ref.token_ids);
  assert.equal(logits.length, ref.n_pos);
  logits.forEach((l, p) => {
    assert.equal(l.length, ref.n_vocab);
    for (let i = 0; i < l.length; i++) if (l[i] !== flat[p * ref.n_vocab + i]) assert.fail(`position ${p} token ${i}: ${l[i]} vs stored ${flat[p * ref.n_vocab + i]}`);
    let best = 0;
    for (let i = 1; i < l.length; i++) if (l[i]! > l[best]!) best = i;
    assert.equal(best, ref.argmax[p]);
  });
  // distinct, non-unit scales per tensor
  const m = loadReferenceModel(new Uint8Array(readFileSync(join(FIXTURES, e.file))));
  const scales = Object.values(m.scales);
  assert.equal(new Set(scales).size, scales.length);
  assert.ok(!scales.includes(1));
});

test('bad-i2s-*: each defect is where the manifest says, and the reference refuses it', (t) => {
  const noScale = need(t, 'bad-i2s-no-scale');
  const code3 = manifestEntry('bad-i2s-code3');
  const trunc = manifestEntry('bad-i2s-truncated');
  if (!noScale || !code3 || !trunc) return;
  const load = (e: Entry) => new Uint8Array(readFileSync(join(FIXTURES, e.file)));
  assert.throws(() => loadReferenceModel(load(noScale)), /has offset \d+, expected \d+/);
  assert.throws(() => loadReferenceModel(load(code3)), new RegExp(`code 3 at weight ${code3.defect_weight_index} `));
  assert.throws(() => loadReferenceModel(load(trunc)), /after the end of the file/);
  // each is otherwise sound: the same bytes with the defect repaired load
  const c3 = load(code3);
  const at = code3.defect_byte_in_file as number;
  const [hi, lo] = (code3.defect_bits as string).split('-').map(Number) as [number, number];
  assert.equal((c3[at]! >>> lo) & 3, 3);
  assert.equal(hi, lo + 1);
  c3[at] = c3[at]! & ~(3 << lo);
  loadReferenceModel(c3);
  const tr = load(trunc);
  assert.equal(tr.length, trunc.file_bytes);
  const fixed = new Uint8Array(trunc.complete_bytes as number);
  fixed.set(tr);
  loadReferenceModel(fixed);
});
