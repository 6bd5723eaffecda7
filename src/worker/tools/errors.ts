/**
 * ToolError — a failure of a built-in tool that the agent hands back to the model as an
 * observation (it is not a crash). `message` is written for the model to read and act on, e.g.
 * `path must be relative: "/etc/passwd"`; `code` lets code branch without parsing the text.
 */
export type ToolErrorCode =
  | 'invalid_argument' // a bad path, agent name, content type, time zone, …
  | 'not_found' // no such file
  | 'too_large' // a file over the read/write limit, or the folder over its total
  | 'quota_exceeded' // the browser's storage quota refused the write
  | 'failed'; // anything else the storage reported

export class ToolError extends Error {
  readonly code: ToolErrorCode;

  constructor(message: string, code: ToolErrorCode = 'invalid_argument') {
    super(message);
    this.name = 'ToolError';
    this.code = code;
  }

  /** Plain data for postMessage (structured clone drops the fields of Error objects). */
  toJSON(): { code: ToolErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** A value quoted for a message: JSON-escaped (control characters visible), cut at `max` chars. */
export function quote(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}
