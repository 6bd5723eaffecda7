// The C core compiled to WASM, all three variants, under node: exact scripted output, identical
// tokens across variants and thread counts, bad input, abort. Each scenario runs in a child
// process (helpers.runChild) because a threaded module keeps node alive.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runChild, type Variant } from './helpers.js';

const VARIANTS: { variant: Variant; threads: number }[] = [
  { variant: 'st', threads: 1 },
  { variant: 'mt', threads: 2 },
  { variant: 'relaxed', threads: 2 }, // the threaded build with relaxed-SIMD Q4_0 kernels (patch 0007)
];

for (const { variant, threads } of VARIANTS) {
  describe(`wasm ${variant} (${threads} thread${threads > 1 ? 's' : ''})`, () => {
    test('scripted model: greedy output is exactly the script (raw, chat, one-shot)', async () => {
      const r = await runChild(variant, 'scripted', { threads });
      assert.ok(r.expected && r.expected.length > 10, 'manifest has the script');
      assert.equal(r.raw.text, r.expected);
      assert.equal(r.raw.finish, 'eos');
      assert.equal(r.chat.text, r.expected);
      assert.equal(r.chat2.text, r.expected);
      assert.ok(r.chat2.nReused > 0, `second chat reuses the KV prefix (${r.chat2.nReused})`);
      assert.equal(r.once, r.expected);
      assert.equal(r.info.architecture, 'llama');
      assert.equal(r.info.n_threads, threads);
      assert.match(r.systemInfo, /WASM_SIMD = 1/);
    });

    test("the seed's one-shot agent call: the calculator trace of the agent-scripted fixture, exact", async () => {
      const r = await runChild(variant, 'agentOnce', { threads, ctx: 2048 });
      assert.equal(r.text, r.want);
    });

    test('BitNet b1.58 (I2_S): scripted text, bad files refused, logits match the independent reference', async () => {
      const r = await runChild(variant, 'bitnet', { threads, ctx: 256 });
      assert.equal(r.info.architecture, 'bitnet-b1.58');
      assert.match(r.systemInfo, /WASM_SIMD = 1/);
      assert.equal(r.raw.text, r.script);
      assert.equal(r.raw.finish, 'eos');
      assert.equal(r.chat.text, r.script, "BitNet's chat format ends in the entry token");
      for (const [name, e] of Object.entries(r.bad as Record<string, { code: string; message: string } | null>)) {
        assert.ok(e, `${name} is refused`);
        assert.equal(e!.code, 'model_invalid', `${name}: ${e!.message}`);
      }
      assert.match(r.bad['bad-i2s-no-scale'].message, /without its per-tensor scale/);
      assert.match(r.bad['bad-i2s-code3'].message, /code 3/);
      assert.match(r.bad['bad-i2s-truncated'].message, /truncated/);
      // Q8_0 rounding of the matmul inputs: rms <= 5% and max <= 25% of the logit spread (as natively);
      // measured here: rms 2.1-2.9%, max 9-14%
      assert.equal(r.refLength, r.nTokens * r.batch[0].nVocab);
      for (const [mode, rows] of [['batch', r.batch], ['one-by-one', r.oneByOne]] as const) {
        rows.forEach((x: { sd: number; rms: number; max: number }, p: number) => {
          assert.ok(x.rms <= 0.05 * x.sd && x.max <= 0.25 * x.sd, `${mode} position ${p}: rms ${x.rms.toFixed(4)} max ${x.max.toFixed(4)} spread ${x.sd.toFixed(4)}`);
        });
      }
    });

    test('bad input gives a status and a message, and the module stays usable', async () => {
      const r = await runChild(variant, 'errors', { threads, ctx: 256 });
      const want: Record<string, string> = {
        noModel: 'no_model',
        empty: 'model_invalid',
        truncated: 'model_invalid',
        wrongMagic: 'model_invalid',
        html: 'model_invalid',
        unknownType: 'model_invalid',
        tooLarge: 'model_too_large',
        badTruncated: 'model_invalid',
        negative: 'invalid_argument',
        nanTemperature: 'invalid_argument',
        contextFull: 'context_full',
        badMessages: 'invalid_argument',
        stepWithout: 'invalid_argument',
        agent: 'context_full', // the agent's system message (step format, tools) does not fit 256 tokens
      };
      for (const [k, code] of Object.entries(want)) {
        assert.ok(r[k], `${k} threw`);
        assert.equal(r[k].code, code, `${k}: ${r[k].message}`);
        assert.ok(r[k].message.length > 5, `${k} has a readable message`);
      }
      assert.equal(r.memoryInit, null, 'memory_init opens a store in RAM');
      assert.equal(r.memorySeed.id, 1);
      assert.equal(r.memorySeed.path, ':memory:');
      assert.deepEqual(r.memorySeed.hits.map((h: any) => [h.tier, h.text, h.tags]), [['archival', 'Ada has a cat called Turing.', ['pets', 'cats']]]);
      // persistent memory needs the worker's OPFS files: refused (not a crash), and then none is open
      assert.equal(r.memorySeed.persistentWithoutFiles.code, 'internal');
      assert.match(r.memorySeed.persistentWithoutFiles.message, /open/);
      assert.equal(r.memorySeed.after.code, 'not_initialized');
      assert.match(r.html.message, /HTML/);
      assert.match(r.unknownType.message, /type/);
      assert.equal(r.zero.text, '', 'n_predict 0 generates nothing');
      assert.equal(r.zero.finish, 'length');
      assert.equal(r.after.text, r.expected, 'usable after all of that');
    });

    test('abort stops generation within one token, and the next generation works', async () => {
      const r = await runChild(variant, 'abort', { threads, after: 5 });
      assert.equal(r.finish, 'aborted');
      assert.ok(r.generated >= 5 && r.generated <= 6, `stopped after ${r.generated} tokens`);
      assert.equal(r.after.finish, 'length');
      assert.ok(r.after.text.length > 0);
    });
  });
}

test('threaded build with 2 threads produces exactly the tokens of the single-thread build', async () => {
  const [st, mt] = await Promise.all([runChild('st', 'tokens', { threads: 1 }), runChild('mt', 'tokens', { threads: 2 })]);
  assert.ok(st.greedy.text.length > 20, 'a real amount of text');
  assert.equal(mt.greedy.text, st.greedy.text, 'greedy text');
  assert.deepEqual(mt.tokens, st.tokens, 'token ids');
  assert.equal(mt.sampled.text, st.sampled.text, 'seeded sampling');
  assert.notEqual(st.sampled.text, st.greedy.text, 'sampling differs from greedy (the seed matters)');
});

test('relaxed-SIMD build: exactly the tokens of the SIMD128 threaded build on a Q4_0 model (its kernels give bit-identical logits)', async () => {
  const args = { threads: 2, model: 'tiny-random-q4_0', n: 48 };
  const [mt, relaxed] = await Promise.all([runChild('mt', 'tokens', args), runChild('relaxed', 'tokens', args)]);
  assert.ok(mt.greedy.text.length > 10, 'a real amount of text');
  assert.equal(relaxed.greedy.text, mt.greedy.text, 'greedy text');
  assert.deepEqual(relaxed.tokens, mt.tokens, 'token ids');
  assert.equal(relaxed.sampled.text, mt.sampled.text, 'seeded sampling');
});

// Patch 0008: Q4_0 weights repacked in place into the 4x4 layout when the model is mapped (the
// worker's way of loading), compared with the same model in the file layout (repack: false).
for (const variant of ['st', 'relaxed'] as const) {
  test(`${variant}: a mapped Q4_0 model is repacked in place (no second copy) and gives the logits of the file layout`, async () => {
    const r = await runChild(variant, 'repack', { threads: variant === 'st' ? 1 : 2 });
    assert.equal(r.plain.repacked, 0, 'repack: false repacks nothing');
    // every Q4_0 matrix of the layers (q, k, v, o, gate, up, down), not the token embedding
    // (get_rows reads it, and the output is tied to it); llama.cpp logs MiB with 2 decimals
    const { n_layer, n_embd, n_ff, n_head, n_head_kv } = r.repacked.shape;
    const kv = (n_embd / n_head) * n_head_kv;
    const expected = (n_layer * n_embd * (2 * n_embd + 2 * kv + 3 * n_ff) * 18) / 32;
    assert.ok(Math.abs(r.repacked.repacked - expected) <= 0.005 * 2 ** 20, `repacked ${r.repacked.repacked} bytes, expected ${expected}`);
    // in place: what malloc holds with the model loaded is the same (a few buffer objects more),
    // where a second, repacked copy would hold all the repacked bytes again
    const more = r.repacked.inUse - r.plain.inUse;
    assert.ok(more < 0.1 * expected, `malloc holds ${more} bytes more with the repack (${expected} repacked)`);
    // a copy load (no mapping) repacks too, into llama.cpp's own buffer
    assert.ok(r.copied.repacked >= r.repacked.repacked, 'copy load repacks as much');
    // Same model, other summation order: logits within a tolerance. Not tighter: every matmul
    // quantizes its input to Q8_0, and a float difference in the last bit moves a value across a
    // quantization step now and then (ggml's WASM quantize_row_q8_0 truncates; the 4-column
    // gemm path's ggml_quantize_mat_q8_0_4x4 rounds): on this random 2-layer model the logits
    // move by up to ~3 % of their range (measured 0.067 of 2.3). A wrong kernel or layout
    // scrambles them (correlation near 0).
    for (const { diff } of [r.repacked, r.copied]) {
      assert.ok(diff.rows >= 8 && diff.scale > 0, JSON.stringify(diff));
      assert.ok(diff.worst <= 0.1 * diff.scale, `max |logit difference| ${diff.worst} for logits up to ${diff.scale}`);
      assert.ok(diff.corr >= 0.995, `lowest correlation of a row of logits ${diff.corr}`);
    }
    assert.ok(r.repacked.text.length > 10, 'generates text');
  });
}
