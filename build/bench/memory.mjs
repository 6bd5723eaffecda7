// The memory store's speed (core-c/bench/memory_bench.c): archival insert throughput and search
// latency over N facts, recall add/search, native, on a file database in a temporary directory.
// Built in Release without sanitizers into .cache/build/native-bench (separate from the ASan
// test build), under the shared native build lock.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE, LLAMA_DIR, ROOT, SQLITE_DIR } from '../lib.mjs';

export const MEMORY_BENCH_DIR = process.env.NEURONOS_MEMORY_BENCH_DIR || join(CACHE, 'build', 'native-bench');
export const MEMORY_BENCH = join(MEMORY_BENCH_DIR, 'neuronos_memory_bench');
const LOCK = '/tmp/neuronos-native.lock';
const JOBS = String(process.env.NEURONOS_JOBS || 2);

/** The CMake switches of the bench build (recorded in the results). */
export function memoryBenchCmakeArgs() {
  return [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DGGML_CCACHE=OFF',
    '-DNEURONOS_SANITIZE=OFF',
    `-DNEURONOS_LLAMA_DIR=${LLAMA_DIR}`,
    `-DNEURONOS_SQLITE_DIR=${SQLITE_DIR}`,
  ];
}

/**
 * Configures (once) and builds (incrementally: memory.c changes are picked up; a no-op build
 * takes a second) the memory bench. Returns its path, or null with the reason in `notes`.
 */
export function ensureMemoryBench(notes, log) {
  for (const [dir, what] of [
    [LLAMA_DIR, 'the llama.cpp source'],
    [SQLITE_DIR, 'the SQLite amalgamation'],
  ]) {
    if (!existsSync(dir)) {
      notes.push(`memory bench skipped: ${what} is missing (${dir}); run \`npm run setup\` (or \`npm start\`) first`);
      return null;
    }
  }
  for (const tool of ['cmake', 'cc', 'ninja']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
      notes.push(`memory bench skipped: \`${tool}\` is not installed (apt-get install -y cmake gcc g++ ninja-build)`);
      return null;
    }
  }
  // flock serialises native builds with the other native build (the ASan tests); without it, build anyway
  const haveFlock = spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
  const logFile = `${MEMORY_BENCH_DIR}-build.log`;
  const out = [];
  const step = (args) => {
    const cmd = haveFlock ? 'flock' : 'cmake';
    const full = haveFlock ? [LOCK, 'cmake', ...args] : args;
    const r = spawnSync(cmd, full, { encoding: 'utf8', maxBuffer: 64 << 20 });
    out.push(`$ ${cmd} ${full.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
    return r.status === 0;
  };
  const fresh = !existsSync(join(MEMORY_BENCH_DIR, 'build.ninja'));
  if (fresh) log(`building the native memory bench (once; a few minutes on 2 cores: llama.cpp's libraries are linked in; log: ${logFile}) ...`);
  mkdirSync(MEMORY_BENCH_DIR, { recursive: true });
  const ok =
    (!fresh || step(['-S', join(ROOT, 'core-c'), '-B', MEMORY_BENCH_DIR, '-G', 'Ninja', ...memoryBenchCmakeArgs()])) &&
    step(['--build', MEMORY_BENCH_DIR, '--target', 'neuronos_memory_bench', '-j', JOBS]);
  writeFileSync(logFile, out.join('\n'));
  if (!ok || !existsSync(MEMORY_BENCH)) {
    notes.push(`memory bench skipped: building it failed (see ${logFile})`);
    return null;
  }
  return MEMORY_BENCH;
}

/** The filesystem type of `dir` (e.g. "ext4", "tmpfs", "overlay"), or null. */
function fsType(dir) {
  const r = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '--target', dir], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim().split('\n')[0];
  const s = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }); // "ext2/ext3" for ext4 too
  return s.status === 0 ? s.stdout.trim() : null;
}

/**
 * One run of the memory bench. Returns its JSON (see memory_bench.c) plus the filesystem the
 * database was on and the wall time; throws on failure or timeout.
 */
export async function runMemoryBench(bin, { facts, queries, recall, dir = tmpdir(), inMemory = true, timeoutMs, log }) {
  const args = ['--n', String(facts), '--queries', String(queries), '--recall', String(recall), '--dir', dir];
  if (!inMemory) args.push('--no-in-memory');
  const t0 = performance.now();
  const { code, stdout, stderr } = await new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let so = '';
    let se = '';
    p.stdout.on('data', (d) => (so += d));
    p.stderr.on('data', (d) => {
      se += d;
      if (log) for (const line of String(d).split('\n')) if (line.trim()) log(`  ${line.trim()}`);
    });
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`the memory bench timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout: so, stderr: se });
    });
  });
  if (code !== 0) throw new Error(`the memory bench exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const res = JSON.parse(stdout);
  res.db.dir = dir;
  res.db.filesystem = fsType(dir);
  res.wall_s = (performance.now() - t0) / 1000;
  res.build = { dir: MEMORY_BENCH_DIR, cmake: memoryBenchCmakeArgs().filter((a) => !a.includes('_DIR=')) };
  return res;
}
