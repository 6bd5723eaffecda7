// Installs what the build and the tests need and is missing:
//   npm dependencies (npm ci / npm install), and Debian packages: emscripten (emcc 3.1.6),
//   cmake, ninja-build, chromium, git. As root (CI, fresh machines) apt-get runs by itself;
//   otherwise a clear message says which packages to install.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, capture, log, run } from './lib.mjs';

const TOOLS = [
  { bin: 'emcc', pkg: 'emscripten', why: 'compiles the C core to WebAssembly' },
  { bin: 'cmake', pkg: 'cmake', why: 'configures llama.cpp and the core' },
  { bin: 'ninja', pkg: 'ninja-build', why: 'runs the builds' },
  { bin: 'wat2wasm', pkg: 'wabt', why: 'assembles the relaxed-SIMD instructions clang 14 cannot emit' },
  { bin: 'git', pkg: 'git', why: 'unpacks the pinned llama.cpp source' },
  { bin: 'cc', pkg: 'gcc', why: 'builds the native C tests' },
  { bin: 'chromium', pkg: 'chromium', why: 'runs the browser tests headless' },
];

function have(bin) {
  return capture('sh', ['-c', `command -v ${bin}`]) !== null;
}

export function ensureApt(tools = TOOLS) {
  const missing = tools.filter((t) => !have(t.bin));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => t.pkg))];
  const isRoot = process.getuid && process.getuid() === 0;
  if (!isRoot) {
    const lines = missing.map((t) => `  ${t.bin.padEnd(9)} (Debian package ${t.pkg}): ${t.why}`).join('\n');
    throw new Error(
      `Missing tools:\n${lines}\nInstall them with:\n  sudo apt-get update && sudo apt-get install -y ${pkgs.join(' ')}`,
    );
  }
  log(`installing Debian packages: ${pkgs.join(' ')} (about a minute)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env });
  const still = missing.filter((t) => !have(t.bin));
  if (still.length) throw new Error(`apt-get did not provide: ${still.map((t) => t.bin).join(', ')}`);
}

export function ensureNpm() {
  const marker = join(ROOT, 'node_modules/.package-lock.json');
  if (existsSync(marker) && existsSync(join(ROOT, 'node_modules/.bin/tsx'))) return;
  log('installing npm dependencies');
  const lock = existsSync(join(ROOT, 'package-lock.json'));
  run('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: ROOT });
}

export function setup() {
  ensureApt();
  ensureNpm();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    setup();
  } catch (e) {
    console.error(`[neuronos] ${e.message}`);
    process.exit(1);
  }
}
