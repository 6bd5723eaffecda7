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
import { relaxedSimdFlags } from './helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const JS = process.env.NEURONOS_KERNEL_TESTS_JS || join(ROOT, '.cache/build/wasm-st/neuronos_kernel_tests.js');
// the same program built in the relaxed-SIMD tree (patch 0007's Q4_0 kernels)
const RELAXED_JS = join(ROOT, '.cache/build/wasm-relaxed/neuronos_kernel_tests.js');

/** "nrc=1 print 1a2b3c4d" of each case (a hash of the bits of every 1x1 result, for one seed) and
 *  "results print ..." of the repacked Q4_0 line (every gemv, gemm and mul_mat result) */
const prints = (stdout: string) => new Map([...stdout.matchAll(/^ok\s+(.+?)\s{2}.*(?:nrc=1|results) print ([0-9a-f]{8})/gm)].map((m) => [m[1]!, m[2]!]));

const runProgram = (js: string, flags: string[] = []) =>
  spawnSync(process.execPath, ['--no-experimental-fetch', ...flags, js], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: Number(process.env.NEURONOS_TEST_TIMEOUT_MS || 120_000),
  });
/** The SIMD128 program's run, once for both suites. */
let simd128Run: ReturnType<typeof runProgram> | undefined;
const simd128 = () => (simd128Run ??= runProgram(JS));

/** "ok   q4_0 x q8_0  nrows=2 ..." -> "q4_0 x q8_0" (the name ends at the first double space) */
const caseName = (line: string) => /^(?:ok|FAIL)\s+(.+?)(?:\s{2}|$)/.exec(line)?.[1] ?? line;

describe('wasm kernels (neuronos_kernel_tests)', () => {
  if (!existsSync(JS)) {
    test('the kernel test program is built', () => {
      assert.fail(`${JS} is missing: cmake --build .cache/build/wasm-st --target neuronos_kernel_tests`);
    });
    return;
  }
  const r = simd128();
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

  test('the repacked Q4_0 kernels (4x4 layout, in-place repack; patch 0008) are checked', () => {
    const line = lines.find((l) => caseName(l) === 'repack q4_0x4');
    assert.ok(line, `no line for repack q4_0x4:\n${out}`);
    assert.match(line, /results print [0-9a-f]{8}/, line);
  });

  for (const line of lines) {
    test(`case ${caseName(line)}`, () => {
      assert.ok(line.startsWith('ok '), line);
    });
  }
});

describe('wasm kernels, relaxed-SIMD build', () => {
  test('every case passes, and each 1x1 result is bit-identical to the SIMD128 build (same seed)', () => {
    assert.ok(existsSync(RELAXED_JS), `${RELAXED_JS} is missing: node build/build.mjs --wasm-only --variant relaxed`);
    const relaxed = runProgram(RELAXED_JS, relaxedSimdFlags());
    const out = `${relaxed.stdout ?? ''}${relaxed.stderr ?? ''}`;
    assert.equal(relaxed.status, 0, out);
    assert.match(relaxed.stdout, /^kernels: [1-9]\d* passed, 0 failed/m, out);
    const base = simd128();
    assert.equal(base.status, 0, `${base.stdout}${base.stderr}`);
    const a = prints(relaxed.stdout);
    const b = prints(base.stdout);
    assert.ok(a.has('q4_0 x q8_0') && a.has('repack q4_0x4'), out);
    assert.deepEqual([...a.entries()], [...b.entries()], 'nrc=1 prints of the relaxed and SIMD128 programs');
  });
});
