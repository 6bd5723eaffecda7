// Shared helpers for the build scripts (plain Node ESM: these run before anything is compiled).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE = join(ROOT, '.cache');
export const DIST = join(ROOT, 'dist');
export const SRC_CACHE = join(CACHE, 'src');
export const LLAMA_DIR = join(SRC_CACHE, 'llama.cpp');
export const SQLITE_DIR = join(SRC_CACHE, 'sqlite');
export const FIXTURES = join(CACHE, 'fixtures');

export function log(...args) {
  console.log('[neuronos]', ...args);
}

/** Runs a command, inheriting stdio; throws with the command line on failure. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw new Error(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  return r;
}

/** Runs a command and returns its stdout (trimmed); null when it cannot run or fails. */
export function capture(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}

export function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** Hash of every file below the given paths (sorted, path + content), for cache keys. */
export function hashTree(paths) {
  const h = createHash('sha256');
  const walk = (p) => {
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e));
    } else {
      h.update(p.slice(ROOT.length));
      h.update(readFileSync(p));
    }
  };
  for (const p of paths) walk(p);
  return h.digest('hex');
}

export function readJSON(p, fallback = undefined) {
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    if (fallback !== undefined) return fallback;
    throw e;
  }
}
