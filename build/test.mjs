// `npm test`: everything, from whatever state the checkout is in.
//   1. installs what is missing (apt as root, npm), 2. builds both WASM variants + the native
//   test binary + the JS bundles, 3. generates the fixtures, 4. runs the C tests natively
//   (ASan+UBSan), the node tests (both WASM variants), and the browser tests (headless Chromium).
// Prints one line per suite and a final "total: N passed, N failed"; exits non-zero on any failure.
//   NEURONOS_TEST_ONLY=types,c,node,e2e,browser   run only these suites (the build still runs)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from './build.mjs';
import { FIXTURES, ROOT, log, run } from './lib.mjs';
import { setup } from './setup.mjs';

const only = (process.env.NEURONOS_TEST_ONLY || 'types,c,node,e2e,browser').split(',');
const results = [];
const t0 = Date.now();

function stage(name, fn) {
  const t = Date.now();
  log(`— ${name}`);
  fn();
  log(`  ${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

/** Runs a suite, streaming its output, and reads its pass/fail counts with `parse`. */
function suite(name, cmd, args, parse, env = {}) {
  const t = Date.now();
  log(`— suite ${name}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, env: { ...process.env, NEURONOS_FIXTURES_DIR: FIXTURES, ...env }, encoding: 'utf8', maxBuffer: 256 << 20 });
  process.stdout.write(r.stdout || '');
  process.stderr.write(r.stderr || '');
  let { passed, failed } = parse(`${r.stdout}\n${r.stderr}`);
  if (r.status !== 0 && failed === 0) failed = 1; // a crash counts as a failure
  if (passed === 0 && failed === 0) failed = 1; // a suite that ran nothing failed
  results.push({ name, passed, failed, seconds: (Date.now() - t) / 1000, status: r.status });
}

const plainCounts = (out) => {
  const m = [...out.matchAll(/(\d+) passed, (\d+) failed/g)].pop();
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : { passed: 0, failed: 0 };
};
const nodeCounts = (out) => ({
  passed: Number(/^# pass (\d+)/m.exec(out)?.[1] ?? 0),
  failed: Number(/^# fail (\d+)/m.exec(out)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(out)?.[1] ?? 0),
});

try {
  stage('setup (apt, npm)', setup);
  stage('build (deps, wasm st + mt + relaxed, native tests, bundles)', () => build({ native: only.includes('c') }));
  stage('fixtures', () => run(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'test/fixtures/make-fixtures.ts')], { cwd: ROOT }));
} catch (e) {
  console.error(`[neuronos] ${e.message}`);
  console.log('total: 0 passed, 1 failed');
  process.exit(1);
}

if (only.includes('types')) {
  suite('types (tsc --noEmit, strict)', join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.test.json'], (out) => {
    const errors = (out.match(/error TS\d+/g) || []).length;
    return { passed: errors ? 0 : 1, failed: errors };
  });
}
if (only.includes('c')) {
  suite('c (native, ASan+UBSan)', join(ROOT, '.cache/build/native-asan/neuronos_tests'), [], plainCounts, {
    ASAN_OPTIONS: 'detect_leaks=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  });
}
if (only.includes('node')) {
  const files = readdirSync(join(ROOT, 'test/node')).filter((f) => /\.test\.(ts|mjs)$/.test(f)).map((f) => join('test/node', f));
  suite('node (wasm st + mt + relaxed, fixtures)', process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...files], nodeCounts);
}
if (only.includes('e2e')) {
  const files = readdirSync(join(ROOT, 'test/e2e')).filter((f) => /\.test\.ts$/.test(f)).map((f) => join('test/e2e', f));
  suite('e2e (worker + element in Chromium)', process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...files], nodeCounts);
}
if (only.includes('browser')) {
  suite('browser (element units, wtr)', join(ROOT, 'node_modules/.bin/wtr'), ['--config', 'web-test-runner.config.mjs'], plainCounts);
}

let passed = 0;
let failed = 0;
console.log('\nsuite                                   passed  failed  seconds');
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  console.log(`${r.name.padEnd(40)}${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${r.seconds.toFixed(1).padStart(7)}`);
}
console.log(`(whole run ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
console.log(`total: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
