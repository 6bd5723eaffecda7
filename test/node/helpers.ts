// Shared helpers for the node tests: fixtures, the WASM modules, child processes.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Core, type ModuleFactory } from '../../src/worker/core.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = process.env.NEURONOS_FIXTURES_DIR || join(ROOT, '.cache/fixtures');
export const TIMEOUT_MS = Number(process.env.NEURONOS_TEST_TIMEOUT_MS || 120_000);

export type Variant = 'st' | 'mt' | 'relaxed';
const NAMES: Record<Variant, string> = { st: 'neuronos-worker-st', mt: 'neuronos-worker', relaxed: 'neuronos-worker-relaxed' };

let relaxedFlags: string[] | undefined;
/**
 * Node flags for a module with relaxed-SIMD instructions: node 20 (V8 11.3) validates them only
 * with --experimental-wasm-relaxed-simd; a node that ships relaxed SIMD may have dropped the flag.
 */
export function relaxedSimdFlags(): string[] {
  // asked once, and only by a process that starts a relaxed module (not by every importer)
  relaxedFlags ??= spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '-e', '0'], { stdio: 'ignore' }).status === 0
    ? ['--experimental-wasm-relaxed-simd']
    : [];
  return relaxedFlags;
}

interface ManifestEntry {
  name: string;
  file?: string;
  script?: string;
  raw_prompt?: string;
  [k: string]: unknown;
}

export function manifest(name: string): ManifestEntry {
  const p = join(FIXTURES, 'manifest.json');
  if (!existsSync(p)) throw new Error(`no ${p}: run npm run fixtures`);
  const m = JSON.parse(readFileSync(p, 'utf8')) as unknown;
  const list: unknown = Array.isArray(m) ? m : (m as { fixtures?: unknown }).fixtures ?? m;
  const entries = Array.isArray(list)
    ? (list as ManifestEntry[])
    : Object.entries(list as Record<string, ManifestEntry>).map(([k, v]) => ({ ...v, name: v.name ?? k }));
  const e = entries.find((x) => x.name === name);
  if (!e) throw new Error(`fixture ${name} is not in the manifest`);
  return e;
}

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, `${name}.gguf`)));
}

/** Loads one WASM variant under node (Emscripten 3.1.6 emits CommonJS). */
export async function loadCore(variant: Variant, threads = 1): Promise<Core> {
  const dir = join(ROOT, '.cache/wasm', variant);
  const require = createRequire(join(dir, 'index.js'));
  const factory = require(join(dir, `${NAMES[variant]}.js`)) as ModuleFactory;
  const err = (s: string) => process.stderr.write(s + '\n');
  return Core.create(factory, { print: err, printErr: err, pthreadPoolSize: Math.max(threads, 1) });
}

/** Runs test/node/wasm-child.ts in its own node process (threaded modules keep node alive). */
export function runChild(variant: Variant, scenario: string, args: Record<string, unknown> = {}): Promise<any> {
  return new Promise((resolveP, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--no-experimental-fetch',
        ...(variant === 'relaxed' ? relaxedSimdFlags() : []),
        '--import',
        'tsx',
        join(ROOT, 'test/node/wasm-child.ts'),
        variant,
        scenario,
        JSON.stringify(args),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${variant}/${scenario} timed out after ${TIMEOUT_MS} ms (NEURONOS_TEST_TIMEOUT_MS)\n${err}`));
    }, TIMEOUT_MS);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(line);
        if (r.error) reject(new Error(`${variant}/${scenario}: ${r.error}\n${err.slice(-4000)}`));
        else resolveP(r);
      } catch {
        reject(new Error(`${variant}/${scenario} exited ${code} without a result\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-4000)}`));
      }
    });
  });
}
