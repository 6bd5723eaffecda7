// ggml's quantized dot-product kernels compiled to WASM SIMD128 (core-c/test/kernels/test_kernels.c,
// CMake target neuronos_kernel_tests in the single-thread build): the 2x2 tiles and the 1x1 kernels
// against ggml's scalar reference, and ggml_mul_mat against a float64 product. The program prints
// one line per case ("ok   <case> ..." or "FAIL <case> ...") and exits non-zero on any failure;
// each line becomes a test here. NEURONOS_KERNEL_TESTS_JS overrides where the program is,
// NEURONOS_KERNEL_SEED the seed of its random blocks (it prints the seed on failure).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const JS = process.env.NEURONOS_KERNEL_TESTS_JS || join(ROOT, '.cache/build/wasm-st/neuronos_kernel_tests.js');

/** "ok   q4_0 x q8_0  nrows=2 ..." -> "q4_0 x q8_0" (the name ends at the first double space) */
const caseName = (line: string) => /^(?:ok|FAIL)\s+(.+?)(?:\s{2}|$)/.exec(line)?.[1] ?? line;

describe('wasm kernels (neuronos_kernel_tests)', () => {
  if (!existsSync(JS)) {
    test('the kernel test program is built', () => {
      assert.fail(`${JS} is missing: cmake --build .cache/build/wasm-st --target neuronos_kernel_tests`);
    });
    return;
  }
  const r = spawnSync(process.execPath, ['--no-experimental-fetch', JS], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: Number(process.env.NEURONOS_TEST_TIMEOUT_MS || 120_000),
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const lines = (r.stdout ?? '').split('\n').filter((l) => /^(ok|FAIL) /.test(l));

  test('the program exits with status 0 and reports no failed case', () => {
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.status, 0, out);
    assert.match(r.stdout, /^kernels: [1-9]\d* passed, 0 failed/m, out);
  });

  test('the cases include the 2x2 tiles of q4_0, q8_0 and q4_K (type traits nrows = 2)', () => {
    for (const name of ['q4_0 x q8_0', 'q8_0 x q8_0', 'q4_K x q8_K']) {
      const line = lines.find((l) => caseName(l) === name);
      assert.ok(line, `no line for ${name}:\n${out}`);
      assert.match(line, /nrows=2/, line);
    }
  });

  for (const line of lines) {
    test(`case ${caseName(line)}`, () => {
      assert.ok(line.startsWith('ok '), line);
    });
  }
});
