/**
 * The `files` tools: the agent's private folder in the origin private file system (OPFS),
 * `neuronos/files/<agent>/`. The agent can list, read and write text files there and can never
 * reach anything outside it.
 *
 * Paths are checked against an allow-list, never a deny-list (checkPath below):
 *  - relative, `/`-separated, at most MAX_FOLDERS folders above the file, at most MAX_PATH_CHARS;
 *  - every name 1–MAX_NAME_CHARS of ASCII letters, digits, space, `.`, `_`, `-`; not made only of
 *    dots (so never `.` or `..`); no leading or trailing space.
 * Everything else is refused — absolute paths, backslashes, `~`, `:` (so `file:` and `C:`), `%`
 * (so no percent-encoding), control characters, and every non-ASCII character (so no look-alikes
 * of `/` or `.` such as U+2215, U+FF0F, U+2024, U+FF0E). A refused path never touches storage.
 *
 * Limits: a file is at most MAX_FILE_BYTES (UTF-8 bytes) to write or read; the folder holds at most
 * MAX_TOTAL_BYTES and MAX_FILES files. A write replaces the file atomically: the bytes go to
 * `createWritable()`'s swap file and replace the old content only on `close()`; on an error the
 * stream is aborted, the old file is left as it was (and a file the write created is removed).
 *
 * Only the asynchronous OPFS API is used (getDirectoryHandle, getFileHandle, createWritable,
 * getFile, removeEntry, entries), so this runs in a worker and on a page alike. The operations of
 * one AgentFiles run one after another (a queue); two instances on the same agent share the
 * folder but not the queue. Every failure is a ToolError whose message is for the model.
 */
import { ToolError, quote } from './errors.js';

export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_TOTAL_BYTES = 16 * 1024 * 1024;
export const MAX_FILES = 1000;
export const MAX_FOLDERS = 4;
export const MAX_NAME_CHARS = 64;
export const MAX_PATH_CHARS = 200;

const AGENT_RE = /^[A-Za-z0-9_-]{1,64}$/;
const NAME_RE = /^[A-Za-z0-9._ -]+$/;
const NAME_CHAR_RE = /[A-Za-z0-9._ -]/;

/** Checks an agent name ([A-Za-z0-9_-]{1,64}); returns it or throws a ToolError. */
export function checkAgentName(agent: unknown): string {
  if (typeof agent !== 'string' || !AGENT_RE.test(agent))
    throw new ToolError(`agent name must be 1-64 letters, digits, '_' or '-': ${quote(String(agent))}`);
  return agent;
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) ? hex : `'${ch}' (${hex})`;
}

/** Checks a path against the allow-list; returns its names (folders, then the file) or throws a
 *  ToolError that says what is wrong. */
export function checkPath(path: unknown): string[] {
  if (typeof path !== 'string') throw new ToolError(`path must be a string, got ${path === null ? 'null' : typeof path}`);
  if (path.length === 0) throw new ToolError('path is empty');
  const q = quote(path);
  // specific messages first, for the common mistakes; the allow-list below decides in the end
  if (path.startsWith('/')) throw new ToolError(`path must be relative: ${q}`);
  if (path.includes('\\')) throw new ToolError(`path may not contain a backslash (use '/' between folders): ${q}`);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) throw new ToolError(`path must be a plain relative path, not a URL or drive: ${q}`);
  if (path.includes('%')) throw new ToolError(`path may not contain '%' (no percent-encoding): ${q}`);
  if (path.includes('~')) throw new ToolError(`path may not contain '~' (paths are relative to your folder): ${q}`);
  if (path.length > MAX_PATH_CHARS) throw new ToolError(`path is longer than ${MAX_PATH_CHARS} characters: ${q}`);
  const names = path.split('/');
  for (const name of names) {
    if (name === '') throw new ToolError(`path has an empty name (a '/' at the start or end, or '//'): ${q}`);
    if (/^\.+$/.test(name)) throw new ToolError(`path may not contain '.' or '..' (or a name of only dots): ${q}`);
    if (!NAME_RE.test(name)) {
      const bad = [...name].find((ch) => !NAME_CHAR_RE.test(ch)) ?? '';
      throw new ToolError(
        `path contains ${describeChar(bad)}, which is not allowed; use letters, digits, space, '.', '_', '-' (and '/' between folders): ${q}`,
      );
    }
    if (name.length > MAX_NAME_CHARS) throw new ToolError(`a name in the path is longer than ${MAX_NAME_CHARS} characters: ${q}`);
    if (name.startsWith(' ') || name.endsWith(' ')) throw new ToolError(`a name may not begin or end with a space: ${q}`);
  }
  if (names.length > MAX_FOLDERS + 1) throw new ToolError(`path is more than ${MAX_FOLDERS} folders deep: ${q}`);
  return names;
}

export interface FileEntry {
  /** relative to the agent's folder, '/'-separated */
  path: string;
  /** bytes */
  size: number;
}

const errName = (e: unknown): string => (e && typeof e === 'object' && 'name' in e ? String((e as { name: unknown }).name) : '');
const errMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A storage failure as a ToolError; a ToolError passes through. */
function storageError(e: unknown, doing: string, path: string): ToolError {
  if (e instanceof ToolError) return e;
  const name = errName(e);
  if (name === 'QuotaExceededError')
    return new ToolError(`the browser's storage quota is full, so ${quote(path)} could not be ${doing}`, 'quota_exceeded');
  if (name === 'NotFoundError') return new ToolError(`no such file: ${quote(path)}`, 'not_found');
  return new ToolError(`${quote(path)} could not be ${doing}: ${errMessage(e) || name || 'storage error'}`, 'failed');
}

type DirWithEntries = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };

export class AgentFiles {
  readonly agent: string;
  private rootHandle: Promise<FileSystemDirectoryHandle> | null;
  private queue: Promise<unknown> = Promise.resolve();

  /** `root` is the OPFS root to work in (tests pass a subfolder); default
   *  navigator.storage.getDirectory(). Throws a ToolError for a bad agent name. */
  constructor(agent = 'default', root?: FileSystemDirectoryHandle) {
    this.agent = checkAgentName(agent);
    this.rootHandle = root ? Promise.resolve(root) : null;
  }

  /** Every file in the folder, sorted by path. */
  list(): Promise<FileEntry[]> {
    return this.serial(async () => {
      const dir = await this.folder(false);
      if (!dir) return [];
      const out: FileEntry[] = [];
      await walk(dir, '', 0, out);
      return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    });
  }

  /** The file's text (UTF-8, at most MAX_FILE_BYTES). */
  async read(path: string): Promise<string> {
    const names = checkPath(path);
    return this.serial(async () => {
      try {
        const dir = await this.folder(false);
        if (!dir) throw new ToolError(`no such file: ${quote(path)}`, 'not_found');
        const handle = await fileHandle(dir, names, path, false);
        if (!handle) throw new ToolError(`no such file: ${quote(path)}`, 'not_found');
        const file = await handle.getFile();
        if (file.size > MAX_FILE_BYTES)
          throw new ToolError(`${quote(path)} is ${file.size} bytes, more than the ${MAX_FILE_BYTES}-byte (1 MiB) read limit`, 'too_large');
        try {
          return new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
        } catch (e) {
          if (e instanceof TypeError) throw new ToolError(`${quote(path)} is not UTF-8 text`, 'failed');
          throw e;
        }
      } catch (e) {
        throw storageError(e, 'read', path);
      }
    });
  }

  /** Creates or replaces the file (and its folders) with `content`, atomically. */
  async write(path: string, content: string): Promise<{ path: string; bytes: number }> {
    const names = checkPath(path);
    if (typeof content !== 'string') throw new ToolError(`content must be a string, got ${content === null ? 'null' : typeof content}`);
    const bytes = new TextEncoder().encode(content);
    if (bytes.length > MAX_FILE_BYTES)
      throw new ToolError(`content is ${bytes.length} bytes (UTF-8), more than the ${MAX_FILE_BYTES}-byte (1 MiB) file limit`, 'too_large');
    return this.serial(async () => {
      try {
        const dir = await this.folder(true);
        if (!dir) throw new ToolError('the agent folder could not be created', 'failed');
        // limits before anything is created
        const files: FileEntry[] = [];
        await walk(dir, '', 0, files);
        const old = await fileHandle(dir, names, path, false);
        const oldSize = old ? (await old.getFile()).size : 0;
        const used = files.reduce((n, f) => n + f.size, 0);
        if (used - oldSize + bytes.length > MAX_TOTAL_BYTES)
          throw new ToolError(
            `writing ${bytes.length} bytes to ${quote(path)} would put the folder over its ${MAX_TOTAL_BYTES}-byte (16 MiB) limit (${used} bytes used)`,
            'too_large',
          );
        if (!old && files.length >= MAX_FILES) throw new ToolError(`the folder already holds ${MAX_FILES} files, the most it can`, 'too_large');

        const handle = old ?? (await fileHandle(dir, names, path, true));
        if (!handle) throw new ToolError(`${quote(path)} could not be created`, 'failed');
        let writable: FileSystemWritableFileStream | null = null;
        try {
          writable = await handle.createWritable();
          await writable.write(bytes);
          await writable.close();
        } catch (e) {
          if (writable) await writable.abort().catch(() => undefined); // the old content stays
          if (!old) await removeFile(dir, names).catch(() => undefined); // no empty file left behind
          throw e;
        }
        return { path, bytes: bytes.length };
      } catch (e) {
        throw storageError(e, 'written', path);
      }
    });
  }

  /** Deletes the agent's folder and everything in it (other agents' folders stay). */
  clear(): Promise<void> {
    return this.serial(async () => {
      const files = await this.filesDir(false);
      if (!files) return;
      try {
        await files.removeEntry(this.agent, { recursive: true });
      } catch (e) {
        if (errName(e) !== 'NotFoundError') throw storageError(e, 'deleted', `${this.agent}/`);
      }
    });
  }

  // ----------------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async root(): Promise<FileSystemDirectoryHandle> {
    if (!this.rootHandle) {
      if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory)
        throw new ToolError('this browser offers no private file storage (OPFS)', 'failed');
      this.rootHandle = navigator.storage.getDirectory();
      this.rootHandle.catch(() => (this.rootHandle = null)); // try again next time
    }
    return this.rootHandle;
  }

  /** neuronos/files/, or null when it does not exist and `create` is false. */
  private async filesDir(create: boolean): Promise<FileSystemDirectoryHandle | null> {
    try {
      const top = await (await this.root()).getDirectoryHandle('neuronos', { create });
      return await top.getDirectoryHandle('files', { create });
    } catch (e) {
      if (!create && errName(e) === 'NotFoundError') return null;
      throw e;
    }
  }

  /** neuronos/files/<agent>/, or null when it does not exist and `create` is false. */
  private async folder(create: boolean): Promise<FileSystemDirectoryHandle | null> {
    const files = await this.filesDir(create);
    if (!files) return null;
    try {
      return await files.getDirectoryHandle(this.agent, { create });
    } catch (e) {
      if (!create && errName(e) === 'NotFoundError') return null;
      throw e;
    }
  }
}

/** The handle of `names` under `dir`: with `create`, makes the folders and the file; without,
 *  null when any part is missing. A file where a folder should be (or the reverse) is a ToolError. */
async function fileHandle(dir: FileSystemDirectoryHandle, names: string[], path: string, create: boolean): Promise<FileSystemFileHandle | null> {
  let d = dir;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const sofar = names.slice(0, i + 1).join('/');
    const last = i === names.length - 1;
    try {
      if (last) return await d.getFileHandle(name, { create });
      d = await d.getDirectoryHandle(name, { create });
    } catch (e) {
      const n = errName(e);
      if (n === 'NotFoundError' && !create) return null;
      if (n === 'TypeMismatchError')
        throw new ToolError(last ? `${quote(sofar)} is a folder, not a file` : `${quote(sofar)} is a file, not a folder (in ${quote(path)})`);
      throw e;
    }
  }
  return null;
}

async function removeFile(dir: FileSystemDirectoryHandle, names: string[]): Promise<void> {
  let d = dir;
  for (const name of names.slice(0, -1)) d = await d.getDirectoryHandle(name);
  await d.removeEntry(names[names.length - 1] as string);
}

/** Collects the files under `dir` (depth-limited, so a foreign deep tree cannot run away). */
async function walk(dir: FileSystemDirectoryHandle, prefix: string, depth: number, out: FileEntry[]): Promise<void> {
  for await (const [name, handle] of (dir as DirWithEntries).entries()) {
    const path = prefix ? `${prefix}/${name}` : name;
    if (handle.kind === 'file') out.push({ path, size: (await (handle as FileSystemFileHandle).getFile()).size });
    else if (depth < MAX_FOLDERS) await walk(handle as FileSystemDirectoryHandle, path, depth + 1, out);
  }
}
