// `npm run build`: third-party sources, the WASM variants, then the JS bundles.
//   node build/build.mjs [--wasm-only] [--native] [--variant st|mt|relaxed]
// Incremental: CMake/Ninja rebuild only what changed; a no-op build takes seconds.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { copyLicences, fetchDeps } from './deps.mjs';
import { CACHE, DIST, LLAMA_DIR, ROOT, SQLITE_DIR, hashTree, log, run } from './lib.mjs';
import { ensureApt } from './setup.mjs';

const EMCC_ENV = { ...process.env, NODE_PATH: '/usr/share/nodejs', EMCC_SKIP_SANITY_CHECK: '1' };
const JOBS = String(process.env.NEURONOS_JOBS || 2);

/** The WASM variants. See README "Build" for why the threaded ones use JS exceptions. */
export const VARIANTS = {
  st: {
    name: 'neuronos-worker-st',
    threads: false,
    flags: '-msimd128 -fwasm-exceptions',
    link: '-fwasm-exceptions',
  },
  mt: {
    name: 'neuronos-worker',
    threads: true,
    // -fwasm-exceptions with -pthread is broken in emcc 3.1.6 / clang 14 (every throw escapes);
    // Emscripten's JS-based exception catching works with threads.
    flags: '-msimd128 -pthread -fexceptions',
    link: '-pthread -fexceptions',
  },
  // the threaded variant with relaxed-SIMD kernels (core-c/wasm/relaxed-simd.wat, patch 0007):
  // the worker picks it when the browser validates relaxed SIMD; otherwise `mt`
  relaxed: {
    name: 'neuronos-worker-relaxed',
    threads: true,
    relaxed: true,
    flags: '-msimd128 -pthread -fexceptions',
    link: '-pthread -fexceptions',
  },
};
export const ALL_VARIANTS = Object.keys(VARIANTS);

/** Where node tests load the module from: a CommonJS scope (Emscripten 3.1.6 output is CJS). */
export const wasmOutDir = (v) => join(CACHE, 'wasm', v);

function configure(dir, args, env) {
  if (existsSync(join(dir, 'build.ninja'))) return; // cmake re-runs itself when CMakeLists change
  mkdirSync(dir, { recursive: true });
  run('cmake', ['-S', join(ROOT, 'core-c'), '-B', dir, '-G', 'Ninja', ...args], { env });
}

export function buildWasm(variant) {
  const v = VARIANTS[variant];
  const dir = join(CACHE, 'build', `wasm-${variant}`);
  const t0 = Date.now();
  configure(
    dir,
    [
      '-DCMAKE_TOOLCHAIN_FILE=/usr/share/emscripten/cmake/Modules/Platform/Emscripten.cmake',
      '-DCMAKE_BUILD_TYPE=Release',
      '-DGGML_CCACHE=OFF',
      '-DEMSCRIPTEN_SYSTEM_PROCESSOR=wasm32', // Debian's toolchain file says x86: no SIMD kernels
      `-DCMAKE_C_FLAGS=${v.flags}`,
      `-DCMAKE_CXX_FLAGS=${v.flags}`,
      `-DCMAKE_EXE_LINKER_FLAGS=${v.link}`,
      `-DNEURONOS_WASM_THREADS=${v.threads ? 'ON' : 'OFF'}`,
      `-DNEURONOS_WASM_RELAXED=${v.relaxed ? 'ON' : 'OFF'}`,
      `-DNEURONOS_OUTPUT_NAME=${v.name}`,
      `-DNEURONOS_LLAMA_DIR=${LLAMA_DIR}`,
      `-DNEURONOS_SQLITE_DIR=${SQLITE_DIR}`,
    ],
    EMCC_ENV,
  );
  run('cmake', ['--build', dir, '--target', 'neuronos_wasm', '-j', JOBS], { env: EMCC_ENV });
  // the kernel tests (core-c/test/kernels): a node program, in the single-thread and relaxed trees
  if (!v.threads || v.relaxed) {
    run('cmake', ['--build', dir, '--target', 'neuronos_kernel_tests', '-j', JOBS], { env: EMCC_ENV });
    writeFileSync(join(dir, 'package.json'), '{"type": "commonjs"}\n'); // the glue is CommonJS; the repo is "type": "module"
  }
  const out = wasmOutDir(variant);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), '{"type": "commonjs"}\n');
  mkdirSync(DIST, { recursive: true });
  const files = [`${v.name}.js`, `${v.name}.wasm`, ...(v.threads ? [`${v.name}.worker.js`] : [])];
  for (const f of files) {
    const src = join(dir, f);
    for (const d of [out, DIST]) {
      const dst = join(d, f);
      if (!existsSync(dst) || statSync(dst).mtimeMs < statSync(src).mtimeMs) copyFileSync(src, dst);
    }
  }
  log(`wasm ${variant}: ${files.join(', ')} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

/** Native core + C unit tests with AddressSanitizer (test/c via ctest). */
export function buildNative() {
  const dir = join(CACHE, 'build', 'native-asan');
  configure(dir, [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DGGML_CCACHE=OFF',
    '-DNEURONOS_SANITIZE=ON',
    `-DNEURONOS_LLAMA_DIR=${LLAMA_DIR}`,
    `-DNEURONOS_SQLITE_DIR=${SQLITE_DIR}`,
  ]);
  run('cmake', ['--build', dir, '--target', 'neuronos_tests', '-j', JOBS]);
  return dir;
}

export function build({ variants = ALL_VARIANTS, native = false, js = true } = {}) {
  ensureApt();
  fetchDeps();
  for (const v of variants) buildWasm(v);
  copyLicences(join(DIST, 'licenses'));
  if (native) buildNative();
  if (js) buildJs();
}

/** The bundles, type declarations and custom-elements.json (skipped when nothing changed). */
export function buildJs() {
  const bin = (n) => join(ROOT, 'node_modules/.bin', n);
  const key = hashTree(['src', 'components', 'rollup.config.mjs', 'tsconfig.json', 'package-lock.json'].map((p) => join(ROOT, p)));
  const stamp = join(DIST, '.js-stamp');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key && existsSync(join(DIST, 'neuronos-chat.js'))) return;
  const t0 = Date.now();
  run(bin('rollup'), ['-c', '--silent'], { cwd: ROOT });
  run(bin('tsc'), ['-p', 'tsconfig.json', '--emitDeclarationOnly'], { cwd: ROOT });
  run(bin('cem'), ['analyze', '--litelement', '--globs', 'components/**/*.ts', '--outdir', 'dist', '--quiet'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(stamp, key);
  log(`bundles, types, custom-elements.json (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const vi = args.indexOf('--variant');
  try {
    build({
      variants: vi >= 0 ? [args[vi + 1]] : ALL_VARIANTS,
      native: args.includes('--native'),
      js: !args.includes('--wasm-only'),
    });
  } catch (e) {
    console.error(`[neuronos] build failed: ${e.message}`);
    process.exit(1);
  }
}
