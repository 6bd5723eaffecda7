// llama.cpp's BPE tokenizer (with patch 0004: merge ranks looked up by token ids) against our own
// TypeScript Qwen2 BPE (test/fixtures/bpe.ts, written independently from the GGUF's tokens and
// merges) on a mixed, seeded corpus: the token ids must be the same, in both WASM builds.
//   NEURONOS_TEST_SEED=N changes the random part of the corpus (printed on failure).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bpeFromGGUF } from '../fixtures/bpe.ts';
import { readGGUF } from '../fixtures/gguf.ts';
import { FIXTURES, TIMEOUT_MS, runChild } from './helpers.js';

const SEED = Number(process.env.NEURONOS_TEST_SEED || 20261126);

function corpus(seed: number): string[] {
  let r = seed >>> 0;
  const next = () => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0), r);
  const fixed = [
    'Hello, world! How are you doing today?',
    "I'm sure they've said it's fine, isn't it? We'll see; you'd know.",
    'The quick brown fox jumps over the lazy dog 1234567890 times.',
    '    indented   code\twith\ttabs\r\nand CRLF\n\n\n   trailing   ',
    'function add(a, b) { return a + b; } // JS\nconst x = [1, 2, 3].map((v) => v * 2);',
    'def f(x):\n    return {"k": x ** 2, "ok": True}  # Python',
    '你好，世界！今天天气很好。日本語のテキストも。한국어 문장도 있습니다.',
    'Emoji: 😀🎉👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️‍🔥',
    'Café naïve résumé — “quotes” ‘single’ … ½ ∑ ∞ ≠ → ✓',
    'https://example.com/path?q=a+b&x=1#frag user@example.org',
    '{"thought": "use the calculator", "action": "calculator", "args": {"expression": "2^10 % 7"}}',
    'Numbers 3.14159, 2,718,281 and 1e-9 and 0x1F and 007.',
    'A\u00a0non-breaking\u200bzero-width\ufeffBOM',
    'ALL CAPS SHOUTING AND MiXeD cAsE wOrDs',
    '\n',
    ' ',
    '',
  ];
  const pool = Array.from('abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,;:!?\'"()[]{}<>-_=+*/\\|@#$%^&~`\n\t  éüßçñ中文字日本語한글😀🎉€£¥');
  const random: string[] = [];
  for (let i = 0; i < 60; i++) {
    const n = 1 + (next() % 80);
    let t = '';
    for (let k = 0; k < n; k++) t += pool[next() % pool.length];
    random.push(t);
  }
  return [...fixed, ...random];
}

const g = readGGUF(new Uint8Array(readFileSync(join(FIXTURES, 'scripted.gguf'))));
const bpe = bpeFromGGUF(g.kv);
const texts = corpus(SEED);

for (const variant of ['st', 'mt'] as const) {
  test(`llama.cpp (wasm ${variant}) tokenizes a mixed corpus exactly as our TypeScript BPE (seed ${SEED})`, { timeout: TIMEOUT_MS }, async () => {
    const r = await runChild(variant, 'tokenize', { texts, ctx: 256 });
    assert.equal(r.ids.length, texts.length);
    const bad: string[] = [];
    texts.forEach((t, i) => {
      const want = bpe.encode(t);
      if (JSON.stringify(r.ids[i]) !== JSON.stringify(want)) bad.push(`${JSON.stringify(t)}\n    llama.cpp ${JSON.stringify(r.ids[i])}\n    ours      ${JSON.stringify(want)}`);
    });
    assert.equal(bad.length, 0, `seed ${SEED} (NEURONOS_TEST_SEED): ${bad.length}/${texts.length} texts differ:\n${bad.slice(0, 5).join('\n')}`);
    assert.ok(r.ids.flat().length > 1500, 'a corpus of some size');
  });
}
