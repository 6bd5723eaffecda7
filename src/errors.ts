/**
 * Typed errors of the NeuronOS runtime.
 *
 * Every failure that reaches a page is a `NeuronOSError` with a `code` from the closed union
 * below and a readable `message`. The C core's status codes map one to one onto the first group
 * (see `neuronos_status_code` in core-c/src/status.c); the rest come from the JavaScript layers.
 * Aborts have `name === 'AbortError'`.
 */
export type NeuronOSErrorCode =
  // from the C core (core-c/include/neuronos.h)
  | 'invalid_argument'
  | 'model_invalid'
  | 'model_too_large'
  | 'out_of_memory'
  | 'no_model'
  | 'context_full'
  | 'aborted'
  | 'busy'
  | 'template_failed'
  | 'not_implemented'
  | 'not_initialized'
  | 'internal'
  // from the runtime
  | 'network'
  | 'not_found'
  | 'http_error'
  | 'download_stalled'
  | 'quota_exceeded'
  | 'integrity_mismatch'
  | 'tool_failed'
  | 'wasm_crashed'
  | 'worker_failed'
  | 'disposed'
  | 'unsupported';

/** The C core's status codes, indexed by their numeric value. */
export const CORE_STATUS_CODES: readonly NeuronOSErrorCode[] = [
  'internal', // 0 is "ok" and never becomes an error
  'invalid_argument',
  'model_invalid',
  'model_too_large',
  'out_of_memory',
  'no_model',
  'context_full',
  'aborted',
  'busy',
  'template_failed',
  'not_implemented',
  'not_initialized',
  'internal',
];

export class NeuronOSError extends Error {
  readonly code: NeuronOSErrorCode;
  /** The operation that failed, e.g. `loadModel`, `generate`. */
  readonly op: string | undefined;

  constructor(code: NeuronOSErrorCode, message: string, op?: string) {
    super(message);
    this.code = code;
    this.op = op;
    this.name = code === 'aborted' ? 'AbortError' : 'NeuronOSError';
  }

  /** Plain data for postMessage (Error objects lose their fields in structured clone). */
  toJSON(): { code: NeuronOSErrorCode; message: string; op?: string } {
    return { code: this.code, message: this.message, ...(this.op ? { op: this.op } : {}) };
  }

  static from(e: unknown, fallback: NeuronOSErrorCode, op?: string): NeuronOSError {
    if (e instanceof NeuronOSError) return e;
    if (e && typeof e === 'object' && 'code' in e && 'message' in e && typeof (e as { code: unknown }).code === 'string') {
      const d = e as { code: NeuronOSErrorCode; message: string; op?: string };
      return new NeuronOSError(d.code, d.message, d.op ?? op);
    }
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof Error && e.name === 'AbortError') return new NeuronOSError('aborted', message || 'aborted', op);
    return new NeuronOSError(fallback, message, op);
  }
}

export function coreStatusCode(status: number): NeuronOSErrorCode {
  return CORE_STATUS_CODES[status] ?? 'internal';
}
