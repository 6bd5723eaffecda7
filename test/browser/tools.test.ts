/**
 * The worker's built-in tools (src/worker/tools/) in headless Chromium: the agent's private files
 * in the real OPFS, and getTime against fixed instants.
 *
 * Most tests work under a scratch folder of the OPFS root (`tools-test/`, removed after each test)
 * so they cannot disturb anything else; the persistence test uses the default root, as the agent
 * will, under a unique agent name that it clears.
 */
import { expect } from '@open-wc/testing';
import { AgentFiles, checkPath, MAX_FILE_BYTES, MAX_TOTAL_BYTES } from '../../src/worker/tools/files.js';
import { ToolError } from '../../src/worker/tools/errors.js';
import { getTime } from '../../src/worker/tools/time.js';

declare function describe(name: string, fn: () => void): void;
declare function it(name: string, fn: () => void | Promise<void>): void;
declare function beforeEach(fn: () => void | Promise<void>): void;
declare function afterEach(fn: () => void | Promise<void>): void;

const SCRATCH = 'tools-test';
let opfs: FileSystemDirectoryHandle;
let root: FileSystemDirectoryHandle;

beforeEach(async () => {
  opfs = await navigator.storage.getDirectory();
  await opfs.removeEntry(SCRATCH, { recursive: true }).catch(() => undefined);
  root = await opfs.getDirectoryHandle(SCRATCH, { create: true });
});

afterEach(async () => {
  await opfs.removeEntry(SCRATCH, { recursive: true }).catch(() => undefined);
});

/** The rejection of `p` (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<ToolError> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(ToolError);
    return e as ToolError;
  }
  throw new Error('expected a rejection, got a result');
}

/** Names (files and folders, recursively, '/'-separated) under a directory, sorted. */
async function tree(dir: FileSystemDirectoryHandle, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const [name, h] of (dir as FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
    const p = prefix + name;
    out.push(h.kind === 'directory' ? `${p}/` : p);
    if (h.kind === 'directory') out.push(...(await tree(h as FileSystemDirectoryHandle, `${p}/`)));
  }
  return out.sort();
}

/** Writes bytes straight into the agent's folder, past the tool (files the tool would refuse). */
async function plant(agent: string, name: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  const files = await (await root.getDirectoryHandle('neuronos', { create: true })).getDirectoryHandle('files', { create: true });
  const dir = await files.getDirectoryHandle(agent, { create: true });
  const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
  await w.write(bytes);
  await w.close();
}

// ------------------------------------------------------------------------------- paths

/** [path, a substring of the message]. Every one must be refused, for write and for read. */
const REFUSED: Array<[unknown, string]> = [
  ['/etc/passwd', 'must be relative'],
  ['/', 'must be relative'],
  ['../secret.txt', "'.' or '..'"],
  ['..', "'.' or '..'"],
  ['.', "'.' or '..'"],
  ['...', "'.' or '..'"],
  ['./notes.txt', "'.' or '..'"],
  ['a/../../neuronos/models/x', "'.' or '..'"],
  ['a/./b.txt', "'.' or '..'"],
  ['a/..', "'.' or '..'"],
  ['..\\..\\x', 'backslash'],
  ['a\\b.txt', 'backslash'],
  ['C:\\Windows\\x', 'backslash'],
  ['C:/x', 'not a URL or drive'],
  ['file:///etc/passwd', 'not a URL or drive'],
  ['file:notes.txt', 'not a URL or drive'],
  ['http://example.com/x', 'not a URL or drive'],
  ['~/notes.txt', "'~'"],
  ['~', "'~'"],
  ['a~b', "'~'"],
  ['%2e%2e/secret', "'%'"],
  ['%2F', "'%'"],
  ['a%00b', "'%'"],
  ['a\u0000b', 'U+0000'],
  ['a\nb', 'U+000A'],
  ['a\tb', 'U+0009'],
  ['a\u007fb', 'U+007F'],
  ['a\u0085b', 'U+0085'],
  ['', 'empty'],
  ['a//b', 'empty name'],
  ['a/', 'empty name'],
  [' notes.txt', 'space'],
  ['notes.txt ', 'space'],
  ['a/ b/c', 'space'],
  ['x'.repeat(65), 'longer than 64'],
  [`${'d'.repeat(64)}/${'d'.repeat(64)}/${'d'.repeat(64)}/${'f'.repeat(9)}`, 'longer than 200'], // 201
  ['a/b/c/d/e/f.txt', '4 folders deep'],
  ['\u2215etc\u2215passwd', 'U+2215'], // division slash
  ['..\u2044x', 'U+2044'], // fraction slash
  ['\uFF0Fetc', 'U+FF0F'], // fullwidth solidus
  ['\u2024\u2024/x', 'U+2024'], // one dot leader
  ['\uFF0E\uFF0E/x', 'U+FF0E'], // fullwidth full stop
  ['\u3002\u3002/x', 'U+3002'], // ideographic full stop
  ['\u0430.txt', 'U+0430'], // Cyrillic а
  ['e\u0301.txt', 'U+0301'], // combining acute
  ['a\u200bb.txt', 'U+200B'], // zero-width space
  ['\u202etxt.exe', 'U+202E'], // right-to-left override
  ['a\u00a0b', 'U+00A0'], // no-break space
  ['a:b', 'not a URL or drive'],
  ['_:x', 'not allowed'],
  ['1:x', 'not allowed'],
  ['a?b', 'not allowed'],
  ['a*b', 'not allowed'],
  ['a"b', 'not allowed'],
  ['a<b>', 'not allowed'],
  ['a|b', 'not allowed'],
  ['a;rm', 'not allowed'],
  ['\ud83d\ude00.txt', 'U+1F600'],
  [123, 'must be a string'],
  [null, 'must be a string'],
  [undefined, 'must be a string'],
  [['a'], 'must be a string'],
];

const ACCEPTED = [
  'notes.txt',
  'a b.txt',
  '.hidden',
  'file.tar.gz',
  '-dash_under',
  'UPPER_lower-09',
  'x'.repeat(64),
  'dir/sub/file.md',
  'a/b/c/d/e.txt',
  `${'d'.repeat(64)}/${'d'.repeat(64)}/${'d'.repeat(64)}/abcde.txt`.slice(0, 200), // exactly 200
];

describe('files: paths', () => {
  it(`refuses every one of ${REFUSED.length} escape and invalid paths, for write and read, touching nothing`, async () => {
    expect(REFUSED.length).to.be.at.least(15);
    const files = new AgentFiles('paths', root);
    await files.write('keep.txt', 'ok');
    // a file outside the agent's folder that an escape would reach
    await (await root.getDirectoryHandle('neuronos')).getFileHandle('secret.txt', { create: true });
    const before = await tree(root);
    for (const [path, why] of REFUSED) {
      const w = await rejection(files.write(path as string, 'pwned'));
      expect(w.message, `write ${JSON.stringify(path)}`).to.include(why);
      expect(w.code).to.equal('invalid_argument');
      const r = await rejection(files.read(path as string));
      expect(r.message, `read ${JSON.stringify(path)}`).to.include(why);
    }
    expect(await tree(root)).to.deep.equal(before);
    expect(await files.list()).to.deep.equal([{ path: 'keep.txt', size: 2 }]);
  });

  it('names the bad path in the message, escaped', async () => {
    const e = await rejection(new AgentFiles('m', root).read('/etc/passwd'));
    expect(e.message).to.equal('path must be relative: "/etc/passwd"');
    expect((await rejection(new AgentFiles('m', root).read('a\u0000b'))).message).to.include('"a\\u0000b"');
  });

  it('accepts ordinary names, subfolders up to 4 deep, 64-char names and 200-char paths', async () => {
    const files = new AgentFiles('ok', root);
    for (const p of ACCEPTED) {
      expect(checkPath(p).join('/')).to.equal(p);
      expect(await files.write(p, p)).to.deep.equal({ path: p, bytes: p.length });
      expect(await files.read(p)).to.equal(p);
    }
    expect((await files.list()).map((f) => f.path)).to.deep.equal([...ACCEPTED].sort());
  });

  it('refuses bad agent names', () => {
    for (const name of ['', '../x', 'a/b', 'a b', 'x'.repeat(65), '\u00e9', '.', 'a.b']) {
      expect(() => new AgentFiles(name, root), name).to.throw(ToolError, 'agent name');
    }
    expect(new AgentFiles(undefined, root).agent).to.equal('default');
    expect(new AgentFiles('Agent_007-x', root).agent).to.equal('Agent_007-x');
  });
});

// ------------------------------------------------------------------------------- files

describe('files: read, write, list', () => {
  it('round-trips text and lists the UTF-8 size, under neuronos/files/<agent>/', async () => {
    const files = new AgentFiles('rt', root);
    expect(await files.list()).to.deep.equal([]);
    const text = 'héllo € 😀\nline 2\u0000end';
    const bytes = new TextEncoder().encode(text).length;
    expect(await files.write('notes.txt', text)).to.deep.equal({ path: 'notes.txt', bytes });
    expect(await files.read('notes.txt')).to.equal(text);
    expect(await files.list()).to.deep.equal([{ path: 'notes.txt', size: bytes }]);
    expect(await tree(root)).to.deep.equal(['neuronos/', 'neuronos/files/', 'neuronos/files/rt/', 'neuronos/files/rt/notes.txt']);
    await files.write('empty.txt', '');
    expect(await files.read('empty.txt')).to.equal('');
    expect(await files.list()).to.deep.equal([
      { path: 'empty.txt', size: 0 },
      { path: 'notes.txt', size: bytes },
    ]);
  });

  it('overwrites: a shorter text leaves nothing of the longer one', async () => {
    const files = new AgentFiles('ow', root);
    await files.write('f.txt', 'a long first version');
    await files.write('f.txt', 'v2');
    expect(await files.read('f.txt')).to.equal('v2');
    expect(await files.list()).to.deep.equal([{ path: 'f.txt', size: 2 }]);
  });

  it('makes subfolders and lists nested paths; a file and a folder cannot swap roles', async () => {
    const files = new AgentFiles('sub', root);
    await files.write('a/b/c.txt', 'deep');
    await files.write('a/top.txt', 'top');
    expect(await files.read('a/b/c.txt')).to.equal('deep');
    expect(await files.list()).to.deep.equal([
      { path: 'a/b/c.txt', size: 4 },
      { path: 'a/top.txt', size: 3 },
    ]);
    expect((await rejection(files.write('a', 'x'))).message).to.include('"a" is a folder, not a file');
    expect((await rejection(files.read('a/b'))).message).to.include('is a folder');
    expect((await rejection(files.write('a/top.txt/x.txt', 'x'))).message).to.include('"a/top.txt" is a file, not a folder');
    expect((await files.list()).length).to.equal(2);
  });

  it('reports a missing file as not_found', async () => {
    const files = new AgentFiles('nf', root);
    let e = await rejection(files.read('nope.txt')); // the folder does not exist yet
    expect(e.code).to.equal('not_found');
    expect(e.message).to.equal('no such file: "nope.txt"');
    await files.write('x/y.txt', '1');
    e = await rejection(files.read('x/z.txt'));
    expect(e.code).to.equal('not_found');
    e = await rejection(files.read('q/z.txt'));
    expect(e.code).to.equal('not_found');
  });

  it('limits a file to 1 MiB of UTF-8 bytes, for writing and reading', async () => {
    const files = new AgentFiles('big', root);
    expect((await files.write('max.txt', 'a'.repeat(MAX_FILE_BYTES))).bytes).to.equal(MAX_FILE_BYTES);
    expect((await files.read('max.txt')).length).to.equal(MAX_FILE_BYTES);
    let e = await rejection(files.write('over.txt', 'a'.repeat(MAX_FILE_BYTES + 1)));
    expect(e.code).to.equal('too_large');
    expect(e.message).to.include('1 MiB');
    // 524,289 characters, 1,048,578 bytes: the limit counts bytes, not characters
    e = await rejection(files.write('utf8.txt', '\u00e9'.repeat(MAX_FILE_BYTES / 2 + 1)));
    expect(e.code).to.equal('too_large');
    // a bigger file put there by someone else is not read
    await plant('big', 'huge.bin', new Uint8Array(MAX_FILE_BYTES + 1).fill(97));
    e = await rejection(files.read('huge.bin'));
    expect(e.code).to.equal('too_large');
    expect(e.message).to.include(`${MAX_FILE_BYTES + 1} bytes`);
    expect((await files.list()).map((f) => f.path)).to.deep.equal(['huge.bin', 'max.txt']);
  });

  it('refuses to read bytes that are not UTF-8 text', async () => {
    const files = new AgentFiles('bin', root);
    await plant('bin', 'blob.bin', new Uint8Array([0x68, 0x69, 0xff, 0xfe]));
    expect((await rejection(files.read('blob.bin'))).message).to.include('not UTF-8');
  });

  it('refuses content that is not a string', async () => {
    const files = new AgentFiles('typ', root);
    for (const c of [null, undefined, 42, { a: 1 }]) {
      expect((await rejection(files.write('x.txt', c as unknown as string))).message).to.include('content must be a string');
    }
    expect(await files.list()).to.deep.equal([]);
  });

  it('limits the folder to 16 MiB in total; replacing a file counts only the difference', async () => {
    const files = new AgentFiles('total', root);
    const mib = 'z'.repeat(MAX_FILE_BYTES);
    for (let i = 0; i < 16; i++) await files.write(`f${i}.txt`, mib);
    const used = (await files.list()).reduce((n, f) => n + f.size, 0);
    expect(used).to.equal(MAX_TOTAL_BYTES);
    const e = await rejection(files.write('one-more.txt', 'x'));
    expect(e.code).to.equal('too_large');
    expect(e.message).to.include('16 MiB');
    expect(e.message).to.include(`${MAX_TOTAL_BYTES} bytes used`);
    // replacing a 1 MiB file by another 1 MiB fits; growing it does not (it is already at 1 MiB)
    await files.write('f3.txt', 'y'.repeat(MAX_FILE_BYTES));
    await files.write('f4.txt', 'small');
    await files.write('new.txt', 'x'.repeat(MAX_FILE_BYTES - 5)); // exactly back at 16 MiB
    expect(await rejection(files.write('new2.txt', '1'))).to.have.property('code', 'too_large');
    expect((await files.list()).length).to.equal(17);
    expect(await files.read('f3.txt')).to.have.length(MAX_FILE_BYTES);
  });

  it('keeps two agents apart', async () => {
    const alice = new AgentFiles('alice', root);
    const bob = new AgentFiles('bob', root);
    await alice.write('secret.txt', "alice's");
    expect(await bob.list()).to.deep.equal([]);
    expect((await rejection(bob.read('secret.txt'))).code).to.equal('not_found');
    await bob.write('secret.txt', "bob's");
    expect(await alice.read('secret.txt')).to.equal("alice's");
    expect(await bob.read('secret.txt')).to.equal("bob's");
    await alice.clear();
    expect(await alice.list()).to.deep.equal([]);
    expect(await bob.read('secret.txt')).to.equal("bob's");
    expect(await tree(root)).to.deep.equal(['neuronos/', 'neuronos/files/', 'neuronos/files/bob/', 'neuronos/files/bob/secret.txt']);
    await alice.clear(); // clearing twice is fine
    await alice.write('again.txt', 'back'); // and the folder comes back
    expect(await alice.read('again.txt')).to.equal('back');
  });

  it('persists in the real OPFS root: a second instance on the same agent sees the files', async () => {
    const agent = `persist_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    const first = new AgentFiles(agent); // default root: navigator.storage.getDirectory()
    try {
      await first.write('memo/today.md', '# remember');
      const second = new AgentFiles(agent);
      expect(await second.list()).to.deep.equal([{ path: 'memo/today.md', size: 10 }]);
      expect(await second.read('memo/today.md')).to.equal('# remember');
      // where it lives: neuronos/files/<agent>/memo/today.md
      const dir = await (await (await opfs.getDirectoryHandle('neuronos')).getDirectoryHandle('files')).getDirectoryHandle(agent);
      const text = await (await (await (await dir.getDirectoryHandle('memo')).getFileHandle('today.md')).getFile()).text();
      expect(text).to.equal('# remember');
      await second.clear();
      expect(await first.list()).to.deep.equal([]);
    } finally {
      await first.clear();
    }
  });

  it('runs one instance’s operations in order', async () => {
    const files = new AgentFiles('order', root);
    const ops = [files.write('n.txt', '1'), files.write('n.txt', '22'), files.read('n.txt'), files.write('n.txt', '333'), files.list()];
    const results = await Promise.all(ops);
    expect(results[2]).to.equal('22');
    expect(results[4]).to.deep.equal([{ path: 'n.txt', size: 3 }]);
  });
});

// ---------------------------------------------------------------- atomic writes and quota

/** A directory handle over a real one whose files' writable streams fail after writing once,
 *  with `error` (the OPFS API as AgentFiles uses it, no more). */
function failingRoot(real: FileSystemDirectoryHandle, error: () => Error): FileSystemDirectoryHandle {
  const wrapFile = (f: FileSystemFileHandle) =>
    ({
      kind: 'file',
      name: f.name,
      getFile: () => f.getFile(),
      createWritable: async () => {
        const w = await f.createWritable();
        let writes = 0;
        return {
          write: async (data: BufferSource) => {
            if (writes++ === 0) await w.write(data); // the bytes reach the swap file…
            throw error(); // …and then the storage fails
          },
          close: () => w.close(),
          abort: () => w.abort(),
        };
      },
    }) as unknown as FileSystemFileHandle;
  const wrapDir = (d: FileSystemDirectoryHandle): FileSystemDirectoryHandle =>
    ({
      kind: 'directory',
      name: d.name,
      getDirectoryHandle: async (n: string, o?: FileSystemGetDirectoryOptions) => wrapDir(await d.getDirectoryHandle(n, o)),
      getFileHandle: async (n: string, o?: FileSystemGetFileOptions) => wrapFile(await d.getFileHandle(n, o)),
      removeEntry: (n: string, o?: FileSystemRemoveOptions) => d.removeEntry(n, o),
      entries: async function* () {
        for await (const [n, h] of (d as FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries())
          yield [n, h.kind === 'file' ? wrapFile(h as FileSystemFileHandle) : wrapDir(h as FileSystemDirectoryHandle)];
      },
    }) as unknown as FileSystemDirectoryHandle;
  return wrapDir(real);
}

describe('files: atomic writes', () => {
  it('a write that fails midway leaves the old content, and creates no file', async () => {
    await new AgentFiles('atomic', root).write('doc.txt', 'the old content');
    const broken = new AgentFiles('atomic', failingRoot(root, () => new DOMException('disk on fire', 'InvalidStateError')));
    const e = await rejection(broken.write('doc.txt', 'NEW CONTENT THAT MUST NOT LAND'));
    expect(e.code).to.equal('failed');
    expect(e.message).to.include('disk on fire');
    const files = new AgentFiles('atomic', root);
    expect(await files.read('doc.txt')).to.equal('the old content');
    await rejection(broken.write('fresh.txt', 'never'));
    expect(await files.list()).to.deep.equal([{ path: 'doc.txt', size: 15 }]);
  });

  it('reports a quota error as quota_exceeded', async () => {
    await new AgentFiles('quota', root).write('doc.txt', 'kept');
    const full = new AgentFiles('quota', failingRoot(root, () => new DOMException('quota', 'QuotaExceededError')));
    const e = await rejection(full.write('doc.txt', 'more'));
    expect(e.code).to.equal('quota_exceeded');
    expect(e.message).to.include('storage quota is full');
    expect(await new AgentFiles('quota', root).read('doc.txt')).to.equal('kept');
  });
});

// ------------------------------------------------------------------------------- time

describe('getTime', () => {
  const at = new Date('2024-03-10T12:34:56.789Z'); // a Sunday

  it('gives UTC exactly', () => {
    expect(getTime(at, 'UTC')).to.deep.include({
      iso: '2024-03-10T12:34:56+00:00',
      date: '2024-03-10',
      time: '12:34:56',
      weekday: 'Sunday',
      timezone: 'UTC',
      utcOffsetMinutes: 0,
    });
  });

  it("names the zone as asked, with the canonical case", () => {
    expect(getTime(at, 'utc').timezone).to.equal('UTC');
    expect(getTime(at, 'europe/berlin')).to.deep.include({ timezone: 'Europe/Berlin', utcOffsetMinutes: 60 });
  });

  const ZONES: Array<[string, Date, string, string, number]> = [
    // zone, instant, local ISO, weekday, offset
    ['Asia/Kolkata', at, '2024-03-10T18:04:56+05:30', 'Sunday', 330],
    ['Asia/Kathmandu', at, '2024-03-10T18:19:56+05:45', 'Sunday', 345],
    ['America/St_Johns', at, '2024-03-10T10:04:56-02:30', 'Sunday', -150],
    ['Pacific/Kiritimati', at, '2024-03-11T02:34:56+14:00', 'Monday', 840],
    ['Pacific/Pago_Pago', at, '2024-03-10T01:34:56-11:00', 'Sunday', -660],
    // the US switch to daylight time on that day, on both sides of 2 a.m.
    ['America/New_York', new Date('2024-03-10T06:59:59Z'), '2024-03-10T01:59:59-05:00', 'Sunday', -300],
    ['America/New_York', new Date('2024-03-10T07:00:00Z'), '2024-03-10T03:00:00-04:00', 'Sunday', -240],
    ['Europe/Berlin', new Date('2023-12-31T23:30:00Z'), '2024-01-01T00:30:00+01:00', 'Monday', 60],
  ];
  for (const [zone, when, iso, weekday, offset] of ZONES) {
    it(`${zone} at ${when.toISOString()}`, () => {
      const t = getTime(when, zone);
      expect(t.iso).to.equal(iso);
      expect(t.date).to.equal(iso.slice(0, 10));
      expect(t.time).to.equal(iso.slice(11, 19));
      expect(t.weekday).to.equal(weekday);
      expect(t.utcOffsetMinutes).to.equal(offset);
      expect(t.timezone).to.equal(zone);
      expect(Date.parse(t.iso)).to.equal(Math.floor(when.getTime() / 1000) * 1000);
      expect(t.local).to.be.a('string').and.not.empty;
    });
  }

  it("defaults to the visitor's zone, consistent with the Date's own local fields", () => {
    const t = getTime(at);
    const p = (n: number) => String(n).padStart(2, '0');
    expect(t.timezone).to.equal(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(t.date).to.equal(`${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())}`);
    expect(t.time).to.equal(`${p(at.getHours())}:${p(at.getMinutes())}:${p(at.getSeconds())}`);
    expect(t.utcOffsetMinutes).to.equal(-at.getTimezoneOffset());
    expect(t.weekday).to.equal(['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][at.getDay()]);
    expect(Date.parse(t.iso)).to.equal(Date.parse('2024-03-10T12:34:56Z'));
    expect(t.local).to.include('2024');
    expect(t.local).to.equal(at.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'long' }));
    const now = getTime();
    expect(Math.abs(Date.parse(now.iso) - Date.now())).to.be.below(5000);
  });

  it('refuses an unknown time zone and an invalid date with a ToolError', () => {
    expect(() => getTime(at, 'Mars/Olympus_Mons')).to.throw(ToolError, 'unknown time zone');
    expect(() => getTime(new Date(Number.NaN))).to.throw(ToolError, 'invalid date');
  });
});
