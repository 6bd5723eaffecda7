// Fetches the pinned third-party sources from the npm registry (never committed to the repo),
// verifies them against build/deps.lock.json, and extracts them into .cache/src/.
//   llama.cpp: the git bundle inside node-llama-cpp's tarball, plus our patches (core-c/patches/)
//   SQLite:    the amalgamation inside better-sqlite3's tarball
// Re-running with nothing changed does nothing (stamp files keyed on the lock entry + patches).
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, LLAMA_DIR, ROOT, SQLITE_DIR, SRC_CACHE, capture, hashTree, log, readJSON, run } from './lib.mjs';

const LOCK = readJSON(join(ROOT, 'build/deps.lock.json'));
const TARBALLS = join(CACHE, 'deps');
const PATCHES = join(ROOT, 'core-c/patches');

function integrityOf(file) {
  return 'sha512-' + createHash('sha512').update(readFileSync(file)).digest('base64');
}

/** npm pack the pinned spec into .cache/deps (once) and check the registry's integrity hash. */
function fetchTarball(entry) {
  mkdirSync(TARBALLS, { recursive: true });
  const file = join(TARBALLS, entry.tarball);
  if (!existsSync(file) || integrityOf(file) !== entry.integrity) {
    log(`fetching ${entry.npm} from the npm registry`);
    run('npm', ['pack', entry.npm, '--pack-destination', TARBALLS, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const got = integrityOf(file);
  if (got !== entry.integrity) {
    rmSync(file, { force: true });
    throw new Error(`${entry.npm}: integrity mismatch\n  expected ${entry.integrity}\n  got      ${got}`);
  }
  return file;
}

function stampOk(dir, key) {
  const f = join(dir, '.neuronos-stamp');
  return existsSync(f) && readFileSync(f, 'utf8') === key;
}

function llamaPatches() {
  return existsSync(PATCHES) ? readdirSync(PATCHES).filter((f) => f.endsWith('.patch')).sort() : [];
}

function applyPatches(patches) {
  for (const p of patches) {
    log(`applying core-c/patches/${p}`);
    run('git', ['-C', LLAMA_DIR, 'apply', '--whitespace=nowarn', join(PATCHES, p)]);
  }
}

function llama() {
  const entry = LOCK['llama.cpp'];
  const key = JSON.stringify({ integrity: entry.integrity, patches: hashTree([PATCHES]) });
  if (stampOk(LLAMA_DIR, key)) return;
  const patches = llamaPatches();
  const stampFile = join(LLAMA_DIR, '.neuronos-stamp');
  const old = existsSync(stampFile) ? readFileSync(stampFile, 'utf8') : '';
  if (old && JSON.parse(old).integrity === entry.integrity && existsSync(join(LLAMA_DIR, '.git'))) {
    // same source, other patches: undo ours and apply the new set. Only the files the patches
    // touch change, so the build trees recompile just those.
    log('llama.cpp patches changed: re-applying');
    // files whose content ends up the same keep their time stamp, so the build trees recompile
    // only what a patch really changed (ggml.h alone would rebuild everything)
    // (files that a patch created are untracked: listed too, removed, and created again)
    const ours = ['neuronos-version.json', '.neuronos-stamp'];
    const created = (capture('git', ['-C', LLAMA_DIR, 'ls-files', '--others', '--exclude-standard']) ?? '').split('\n').filter((f) => f && !ours.includes(f));
    const touched = [...(capture('git', ['-C', LLAMA_DIR, 'diff', '--name-only']) ?? '').split('\n').filter(Boolean), ...created];
    const before = new Map(touched.map((f) => {
      const abs = join(LLAMA_DIR, f);
      return [abs, { data: readFileSync(abs), st: statSync(abs) }];
    }));
    run('git', ['-C', LLAMA_DIR, 'checkout', '--quiet', '--', '.']);
    for (const f of created) rmSync(join(LLAMA_DIR, f));
    applyPatches(patches);
    for (const [abs, { data, st }] of before) {
      if (existsSync(abs) && readFileSync(abs).equals(data)) utimesSync(abs, st.atime, st.mtime);
    }
    const info = readJSON(join(LLAMA_DIR, 'neuronos-version.json'));
    writeFileSync(join(LLAMA_DIR, 'neuronos-version.json'), JSON.stringify({ ...info, patches }, null, 2));
    writeFileSync(stampFile, key);
    return;
  }
  const tgz = fetchTarball(entry);
  const tmp = join(CACHE, 'tmp-llama');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  run('tar', ['xzf', tgz, '-C', tmp, entry.bundle, entry.info]);
  rmSync(LLAMA_DIR, { recursive: true, force: true });
  mkdirSync(SRC_CACHE, { recursive: true });
  run('git', ['clone', '--quiet', '-c', 'advice.detachedHead=false', join(tmp, entry.bundle), LLAMA_DIR]);
  const info = readJSON(join(tmp, entry.info));
  applyPatches(patches);
  writeFileSync(join(LLAMA_DIR, 'neuronos-version.json'), JSON.stringify({ npm: entry.npm, ...info, patches }, null, 2));
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(stampFile, key);
  log(`llama.cpp ${info.tag} ready in .cache/src/llama.cpp (${patches.length} patches)`);
}

function sqlite() {
  const entry = LOCK.sqlite;
  const key = JSON.stringify({ integrity: entry.integrity });
  if (stampOk(SQLITE_DIR, key)) return;
  const tgz = fetchTarball(entry);
  rmSync(SQLITE_DIR, { recursive: true, force: true });
  mkdirSync(SQLITE_DIR, { recursive: true });
  const files = ['sqlite3.c', 'sqlite3.h'].map((f) => `${entry.dir}/${f}`);
  run('tar', ['xzf', tgz, '-C', SQLITE_DIR, '--strip-components=3', ...files]);
  const version = /#define SQLITE_VERSION\s+"([^"]+)"/.exec(readFileSync(join(SQLITE_DIR, 'sqlite3.h'), 'utf8'))[1];
  writeFileSync(join(SQLITE_DIR, 'neuronos-version.json'), JSON.stringify({ npm: entry.npm, version }, null, 2));
  writeFileSync(join(SQLITE_DIR, '.neuronos-stamp'), key);
  log(`SQLite ${version} ready in .cache/src/sqlite`);
}

/** Licence files that ship with dist/. */
export function copyLicences(destDir) {
  mkdirSync(destDir, { recursive: true });
  copyFileSync(join(LLAMA_DIR, 'LICENSE'), join(destDir, 'llama.cpp-LICENSE.txt'));
  const v = readJSON(join(SQLITE_DIR, 'neuronos-version.json'));
  writeFileSync(
    join(destDir, 'sqlite-LICENSE.txt'),
    `SQLite ${v.version} (amalgamation taken from ${v.npm}).\n` +
      'The SQLite source code is in the public domain: https://sqlite.org/copyright.html\n',
  );
}

export function fetchDeps() {
  llama();
  sqlite();
}

if (import.meta.url === `file://${process.argv[1]}`) fetchDeps();
