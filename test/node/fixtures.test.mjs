// Fixture generator determinism (cheap: regenerates only `scripted` and `tiny-random`).
// Run: node --test test/node/fixtures.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN_DIR = path.resolve(process.env.NEURONOS_FIXTURES_DIR ?? path.join(ROOT, '.cache/fixtures'));
const NAMES = ['scripted', 'tiny-random'];

function generate(dir) {
  const tsx = path.join(ROOT, 'node_modules/.bin/tsx');
  const r = spawnSync(tsx, ['test/fixtures/make-fixtures.ts', ...NAMES], {
    cwd: ROOT,
    env: { ...process.env, NEURONOS_FIXTURES_DIR: dir },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `make-fixtures failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
}

const entry = (m, name) => m.fixtures.find((e) => e.name === name);
const sha256File = (p) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');

test('scripted and tiny-random regenerate byte-identically', { timeout: 120_000 }, (t) => {
  const tmpA = fs.mkdtempSync(path.join(os.tmpdir(), 'neuronos-fixtures-'));
  t.after(() => fs.rmSync(tmpA, { recursive: true, force: true }));
  const a = generate(tmpA);
  for (const name of NAMES) {
    const e = entry(a, name);
    assert.ok(e, `${name} missing from the temp manifest`);
    // the streamed hash recorded by the writer is the hash of the file on disk
    assert.equal(sha256File(path.join(tmpA, e.file)), e.sha256, `${name}: recorded sha256 != file`);
  }

  // compare with the main manifest when it was made by the same generator version;
  // otherwise (stale or absent) with a second fresh generation
  const mainManifest = path.join(MAIN_DIR, 'manifest.json');
  const main = fs.existsSync(mainManifest) ? JSON.parse(fs.readFileSync(mainManifest, 'utf8')) : null;
  let reference = main;
  let label = mainManifest;
  if (!main || NAMES.some((n) => entry(main, n)?.generator_hash !== entry(a, n).generator_hash)) {
    const tmpB = fs.mkdtempSync(path.join(os.tmpdir(), 'neuronos-fixtures-'));
    t.after(() => fs.rmSync(tmpB, { recursive: true, force: true }));
    reference = generate(tmpB);
    label = 'a second generation';
  }
  for (const name of NAMES) {
    assert.equal(entry(a, name).sha256, entry(reference, name).sha256, `${name}: sha256 differs from ${label}`);
    assert.equal(entry(a, name).bytes, entry(reference, name).bytes);
  }
});

test('manifest: scripted entry has a usable script', () => {
  const mainManifest = path.join(MAIN_DIR, 'manifest.json');
  let m;
  if (fs.existsSync(mainManifest)) m = JSON.parse(fs.readFileSync(mainManifest, 'utf8'));
  else {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'neuronos-fixtures-'));
    try {
      m = generate(tmp);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const s = entry(m, 'scripted');
  assert.ok(s, 'scripted missing');
  assert.equal(typeof s.script, 'string');
  assert.ok(s.script.length > 0, 'empty script');
  const ids = s.script_token_ids;
  assert.ok(Array.isArray(ids) && ids.length >= 12, 'script too short');
  assert.equal(new Set(ids).size, ids.length, 'script repeats a token id');
  assert.equal(s.script_pieces.join(''), s.script, 'pieces do not concatenate to the script');
  assert.ok(!ids.includes(s.stop_token_id), 'stop token inside the script');
  assert.equal(s.stop_token_id, s.eot_id);
  for (const id of Object.values(s.entry_token_ids)) assert.ok(!ids.includes(id), `entry token ${id} inside the script`);
  assert.equal(s.raw_prompt_token_ids.at(-1), s.entry_token_ids.raw);
  assert.ok(s.raw_prompt.length > 0);
});
