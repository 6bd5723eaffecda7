// Native llama.cpp (llama-bench) from the same pinned source tree as the WASM build: the ceiling a
// browser can approach. Built once into .cache/build/native-tools and reused.
//
// GGML_NATIVE=ON crashes on these VMs (the CPU reports AMX, the VM does not grant the tile state),
// so the instruction sets are named explicitly (AVX2/FMA/F16C when the CPU has them).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE, LLAMA_DIR } from '../lib.mjs';

export const NATIVE_DIR = process.env.NEURONOS_NATIVE_TOOLS_DIR || join(CACHE, 'build', 'native-tools');
export const LLAMA_BENCH = join(NATIVE_DIR, 'bin', 'llama-bench');

function cpuFlags() {
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return new Set(m ? m[1].split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/** The CMake switches we build with (and record in the results). */
export function nativeCmakeArgs() {
  const f = cpuFlags();
  const on = (flag) => (f.has(flag) ? 'ON' : 'OFF');
  return [
    '-DCMAKE_BUILD_TYPE=Release',
    '-DBUILD_SHARED_LIBS=OFF',
    '-DGGML_NATIVE=OFF',
    '-DGGML_OPENMP=OFF',
    `-DGGML_AVX=${on('avx')}`,
    `-DGGML_AVX2=${on('avx2')}`,
    `-DGGML_FMA=${on('fma')}`,
    `-DGGML_F16C=${on('f16c')}`,
    `-DGGML_BMI2=${on('bmi2')}`,
    '-DGGML_AVX512=OFF',
    '-DGGML_AMX_TILE=OFF',
    '-DGGML_AMX_INT8=OFF',
    '-DGGML_AMX_BF16=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_SERVER=OFF',
    '-DLLAMA_OPENSSL=OFF',
  ];
}

/** What the cached build was configured with (from its CMakeCache.txt). */
export function nativeBuildInfo() {
  const file = join(NATIVE_DIR, 'CMakeCache.txt');
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const pick = (k) => new RegExp(`^${k}:[A-Z]+=(.*)$`, 'm').exec(text)?.[1] ?? null;
  const isa = ['GGML_AVX', 'GGML_AVX2', 'GGML_FMA', 'GGML_F16C', 'GGML_BMI2', 'GGML_AVX512', 'GGML_AVX512_VNNI', 'GGML_AVX_VNNI']
    .filter((k) => pick(k) === 'ON')
    .map((k) => k.slice(5));
  return { build_type: pick('CMAKE_BUILD_TYPE'), native: pick('GGML_NATIVE'), openmp: pick('GGML_OPENMP'), isa };
}

/**
 * Returns the path of llama-bench, building it when missing; null (with the reason in
 * `notes`) when it cannot be built.
 */
export function ensureNative(notes, log) {
  if (existsSync(LLAMA_BENCH)) return LLAMA_BENCH;
  if (!existsSync(join(LLAMA_DIR, 'CMakeLists.txt'))) {
    notes.push(`native skipped: the llama.cpp source is missing (${LLAMA_DIR}); run \`npm run setup\` (or \`npm start\`) first`);
    return null;
  }
  for (const tool of ['cmake', 'c++']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
      notes.push(`native skipped: \`${tool}\` is not installed (apt-get install -y cmake g++ ninja-build)`);
      return null;
    }
  }
  const ninja = spawnSync('ninja', ['--version'], { stdio: 'ignore' }).status === 0;
  const logFile = `${NATIVE_DIR}-build.log`;
  log(`building native llama-bench (once; 3–15 min on 2 cores; log: ${logFile}) ...`);
  const out = [];
  const step = (args) => {
    const r = spawnSync('cmake', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    out.push(`$ cmake ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
    return r.status === 0;
  };
  const ok =
    step(['-S', LLAMA_DIR, '-B', NATIVE_DIR, ...(ninja ? ['-G', 'Ninja'] : []), ...nativeCmakeArgs()]) &&
    step(['--build', NATIVE_DIR, '--target', 'llama-bench', '-j', String(Math.max(1, cpus().length))]);
  writeFileSync(logFile, out.join('\n'));
  if (!ok || !existsSync(LLAMA_BENCH)) {
    notes.push(`native skipped: building llama-bench failed (see ${logFile})`);
    return null;
  }
  return LLAMA_BENCH;
}

/**
 * One llama-bench run (-r reps, with its own warm-up): pp on a 128-token prompt, tg of 64 tokens.
 * Peak memory from GNU time's maximum resident set size when /usr/bin/time exists.
 */
export async function runLlamaBench(bin, { model, threads, nPrompt, nGen, reps, timeoutMs }) {
  const args = ['-m', model, '-p', String(nPrompt), '-n', String(nGen), '-t', String(threads), '-r', String(reps), '-o', 'json'];
  const haveTime = existsSync('/usr/bin/time');
  const dir = mkdtempSync(join(tmpdir(), 'neuronos-native-'));
  const timeFile = join(dir, 'time.txt');
  const cmd = haveTime ? '/usr/bin/time' : bin;
  const full = haveTime ? ['-f', '%M', '-o', timeFile, bin, ...args] : args;
  const t0 = performance.now();
  try {
    const { code, stdout, stderr } = await new Promise((resolve, reject) => {
      const p = spawn(cmd, full, { stdio: ['ignore', 'pipe', 'pipe'] });
      let so = '';
      let se = '';
      p.stdout.on('data', (d) => (so += d));
      p.stderr.on('data', (d) => (se += d));
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`llama-bench timed out after ${timeoutMs} ms`));
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
    if (code !== 0) throw new Error(`llama-bench exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const rows = JSON.parse(stdout);
    const pp = rows.find((r) => r.n_prompt === nPrompt && r.n_gen === 0);
    const tg = rows.find((r) => r.n_prompt === 0 && r.n_gen === nGen);
    let peakMb = null;
    if (haveTime && existsSync(timeFile)) {
      const kb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
      if (Number.isFinite(kb) && kb > 0) peakMb = kb / 1024;
    }
    return {
      pp_tps: pp ? pp.samples_ts : [],
      tg_tps: tg ? tg.samples_ts : [],
      peak_mb: peakMb,
      wall_ms: performance.now() - t0,
      build_commit: rows[0]?.build_commit ?? null,
      n_batch: rows[0]?.n_batch ?? null,
      n_ubatch: rows[0]?.n_ubatch ?? null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
