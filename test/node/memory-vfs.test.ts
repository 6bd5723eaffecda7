// The memory store's OPFS VFS (core-c/src/opfs_vfs.c) and its JavaScript bridge
// (src/worker/memory-fs.ts, OpfsFiles) under node, in the single-thread WASM build, over
// ordinary files standing in for OPFS access handles (same read/write/truncate/getSize/flush
// contract). Deterministic and exhaustive where the browser test is random: a store is stopped
// at EVERY one of its I/O operations (from there on every file operation fails, and the module is
// abandoned as a killed worker's would be: the files keep exactly the operations done before the
// stop) and a fresh module must
// find the database intact, with either the old or the new content. Also: persistence across
// module instances, the journal's "delete" (emptied in place), and a write refused by a quota.
import assert from 'node:assert/strict';
import { closeSync, constants, copyFileSync, fstatSync, fsyncSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { NeuronOSError } from '../../src/errors.js';
import { createRequire } from 'node:module';
import { Core, type ModuleFactory, type ModuleOptions } from '../../src/worker/core.js';
import { OpfsFiles, guardStorage, memoryDbPath, type SyncHandle } from '../../src/worker/memory-fs.js';
import { ROOT } from './helpers.js';

const WASM_DIR = join(ROOT, '.cache/wasm/st');
const factory = createRequire(join(WASM_DIR, 'index.js'))(join(WASM_DIR, 'neuronos-worker-st.js')) as ModuleFactory;
const wasmBinary = readFileSync(join(WASM_DIR, 'neuronos-worker-st.wasm'));

const dir = mkdtempSync(join(tmpdir(), 'neuronos-vfs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file with the FileSystemSyncAccessHandle calls the bridge makes. */
class FileHandle implements SyncHandle {
  private fd: number;
  constructor(path: string) {
    this.fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  }
  read(buf: Uint8Array, o: { at: number }): number {
    return readSync(this.fd, buf, 0, buf.length, o.at);
  }
  write(buf: Uint8Array, o: { at: number }): number {
    return writeSync(this.fd, buf, 0, buf.length, o.at);
  }
  truncate(size: number): void {
    ftruncateSync(this.fd, size);
  }
  getSize(): number {
    return fstatSync(this.fd).size;
  }
  flush(): void {
    fsyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Counts the operations that change the file (write, truncate, flush) on both files and, from
 *  operation `killAt` on, throws as if the worker had been stopped there (nothing more reaches the
 *  files). `shortWriteAt`: that write stores half its bytes and returns the count, as Chromium
 *  does over the quota. */
class Faults {
  ops = 0;
  killAt = Infinity;
  shortWriteAt = Infinity;
  log: string[] = [];
  wrap(h: SyncHandle, name: string): SyncHandle {
    const step = (what: string) => {
      this.ops++;
      this.log.push(`${name}.${what}`);
      if (this.ops >= this.killAt) throw new Error(`simulated stop at operation ${this.ops}`);
    };
    return {
      read: (b, o) => {
        if (this.ops >= this.killAt) throw new Error('stopped');
        return h.read(b, o);
      },
      write: (b, o) => {
        step(`write(${b.length}@${o.at})`);
        if (this.ops === this.shortWriteAt) return h.write(b.subarray(0, b.length >> 1), o);
        return h.write(b, o);
      },
      truncate: (n) => {
        step(`truncate(${n})`);
        h.truncate(n);
      },
      getSize: () => h.getSize(),
      flush: () => {
        step('flush');
        h.flush();
      },
      close: () => h.close(),
    };
  }
}

interface Opened {
  core: Core;
  files: OpfsFiles;
  handles: SyncHandle[];
}

/** A module instance; the process listeners Emscripten's node glue adds are taken off again, so
 *  the abandoned instances can be collected. */
async function freshCore(): Promise<Core> {
  const events = ['uncaughtException', 'unhandledRejection'];
  const listeners = (e: string) => process.listeners(e as 'uncaughtException') as unknown[];
  const before = new Set(events.flatMap(listeners));
  // the bytes are handed over (Emscripten 3.1.6 would otherwise fetch() a file path under node 20)
  const core = await Core.create(factory, { wasmBinary, print: () => undefined, printErr: (s: string) => process.stderr.write(`${s}\n`) } as ModuleOptions);
  for (const e of events) for (const l of listeners(e)) if (!before.has(l)) process.removeListener(e, l as never);
  return core;
}

/** A fresh module with the bridge over `base`.db and its journal (as the worker's MemoryFs does). */
async function openStore(base: string, faults?: Faults): Promise<Opened & { hot: boolean }> {
  const core = await freshCore();
  const files = new OpfsFiles(() => core.module.HEAPU8);
  core.module.neuronosOpfs = files;
  const db = new FileHandle(`${base}.db`);
  const journal = new FileHandle(`${base}.db-journal`);
  const hot = journal.getSize() > 0;
  files.attach(memoryDbPath('t'), faults ? faults.wrap(db, 'db') : db);
  files.attach(`${memoryDbPath('t')}-journal`, faults ? faults.wrap(journal, 'journal') : journal);
  core.memoryOpen('t', true);
  return { core, files, handles: [db, journal], hot };
}

function closeStore(s: Opened): void {
  s.core.memoryClose();
  s.files.detachAll();
}

/** Ends a module the way a stopped worker ends: nothing is closed or flushed by SQLite. */
function abandon(s: Opened): void {
  for (const h of s.handles) h.close();
}

const texts = (core: Core) => (core.memoryList(2, 0, 1000) as { text: string }[]).map((e) => e.text).sort();

describe('memory VFS over files (st WASM, node)', () => {
  const base = join(dir, 'base');
  const BIG = `the new fact ${'lorem ipsum dolor sit amet '.repeat(800)}`;

  test('a store survives closing and a new module instance; the journal is left empty', async () => {
    const a = await openStore(base);
    assert.equal(a.core.memoryPath(), '/neuronos/memory/t.db');
    for (let i = 0; i < 3; i++) a.core.memoryArchivalInsert(`old fact ${i} ${'x'.repeat(3000)}`, JSON.stringify([`t${i}`]));
    a.core.memoryCoreSet('human', 'Name: Ada');
    closeStore(a);
    assert.equal(statSync(`${base}.db-journal`).size, 0, 'TRUNCATE mode: the journal is emptied after each commit');
    assert.ok(statSync(`${base}.db`).size > 4096);
    const b = await openStore(base);
    assert.equal(b.hot, false);
    b.core.memoryCheck();
    assert.equal(texts(b.core).length, 3);
    assert.equal((b.core.memoryList(0) as { label: string; text: string }[]).find((x) => x.label === 'human')?.text, 'Name: Ada');
    closeStore(b);
  });

  test('a store stopped at each of its I/O operations leaves the old or the new database, intact', async () => {
    const first = await openStore(base);
    const before = texts(first.core);
    closeStore(first);
    // how many operations one store makes
    copyFileSync(`${base}.db`, `${base}-count.db`);
    copyFileSync(`${base}.db-journal`, `${base}-count.db-journal`);
    const counting = new Faults();
    const c = await openStore(`${base}-count`, counting);
    counting.ops = 0;
    counting.log = [];
    c.core.memoryArchivalInsert(BIG, '["new"]');
    const n = counting.ops;
    const sequence = counting.log.join(' ');
    closeStore(c);
    assert.ok(n >= 6, `a store makes several operations: ${sequence}`);
    assert.match(sequence, /journal\.flush.*db\.write.*db\.flush.*journal\.truncate\(0\)/, 'journal synced before the database is written, emptied last');

    let hot = 0;
    const outcomes: string[] = [];
    for (let k = 1; k <= n; k++) {
      const run = join(dir, `kill-${k}`);
      copyFileSync(`${base}.db`, `${run}.db`);
      copyFileSync(`${base}.db-journal`, `${run}.db-journal`);
      const faults = new Faults();
      const s = await openStore(run, faults);
      faults.ops = 0;
      faults.killAt = k;
      // the bridge turns the throw into an I/O error for SQLite, and every later operation fails
      // too: the files keep exactly the operations before the stop, as after a killed worker
      assert.throws(() => s.core.memoryArchivalInsert(BIG, '["new"]'), NeuronOSError, `stop at operation ${k}`);
      abandon(s);
      const t = await openStore(run);
      if (t.hot) hot++;
      t.core.memoryCheck();
      const now = texts(t.core);
      const isOld = JSON.stringify(now) === JSON.stringify(before);
      const isNew = JSON.stringify(now) === JSON.stringify([...before, BIG].sort());
      assert.ok(isOld || isNew, `stopped at operation ${k} (${faults.log.at(-1)}): neither the old nor the new content (${now.length} entries)`);
      outcomes.push(isNew ? 'new' : 'old');
      // and it takes the next store normally
      t.core.memoryArchivalInsert('after the crash', null);
      t.core.memoryCheck();
      closeStore(t);
    }
    // the commit point is the journal being emptied: before it, old; from it on, new
    const firstNew = outcomes.indexOf('new');
    assert.ok(firstNew > 0, outcomes.join(','));
    assert.ok(outcomes.slice(firstNew).every((o) => o === 'new') && outcomes.slice(0, firstNew).every((o) => o === 'old'), outcomes.join(','));
    assert.ok(hot >= 3, `several stops left a hot journal that was rolled back (${hot})`);
    console.log(`# a store makes ${n} file operations; stopped after each: ${firstNew} left the old content (${hot} with a hot journal, rolled back on opening), ${n - firstNew} the new`);
  });

  test('a write refused over the quota is quota_exceeded; nothing changes; the next store works', async () => {
    const run = join(dir, 'quota');
    copyFileSync(`${base}.db`, `${run}.db`);
    copyFileSync(`${base}.db-journal`, `${run}.db-journal`);
    const faults = new Faults();
    const s = await openStore(run, faults);
    const before = texts(s.core);
    faults.ops = 0;
    faults.log = [];
    // the first write to the database itself comes after the journal: refuse that one
    const probe = new Faults();
    copyFileSync(`${base}.db`, `${run}-probe.db`);
    copyFileSync(`${base}.db-journal`, `${run}-probe.db-journal`);
    const p = await openStore(`${run}-probe`, probe);
    probe.ops = 0;
    probe.log = [];
    p.core.memoryArchivalInsert(BIG, null);
    closeStore(p);
    faults.shortWriteAt = probe.log.findIndex((l) => l.startsWith('db.write')) + 1;
    let err: unknown;
    try {
      guardStorage(s.files, 'memoryStore', () => s.core.memoryArchivalInsert(BIG, null));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof NeuronOSError, String(err));
    assert.equal(err.code, 'quota_exceeded', err.message);
    assert.match(err.message, /quota/);
    s.core.memoryCheck();
    assert.deepEqual(texts(s.core), before, 'the refused store changed nothing');
    faults.shortWriteAt = Infinity;
    s.core.memoryArchivalInsert('fits now', null);
    assert.equal(texts(s.core).length, before.length + 1);
    closeStore(s);
  });

  test('files that were not pre-opened cannot be opened (persistent open fails cleanly)', async () => {
    const core = await freshCore();
    core.module.neuronosOpfs = new OpfsFiles(() => core.module.HEAPU8);
    assert.throws(() => core.memoryOpen('t', true), (e: NeuronOSError) => e.code === 'internal' && /open/.test(e.message));
    assert.equal(core.memoryPath(), '');
    core.memoryOpen('t', false);
    assert.equal(core.memoryPath(), ':memory:');
  });
});
