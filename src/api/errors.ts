// Any error → the JSON body `{code, message}` and the HTTP status the API answers with.
import { BerthError, ConflictError, InvalidInputError, UnavailableError } from '../errors.js';

/** The body of every error answer. */
export interface ErrorBody {
  code: string;
  message: string;
}

/** Status and body for `err`. Internal errors say nothing of themselves: the server logs them. */
export function errorBody(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof BerthError) {
    const body = { code: err.code, message: err.toLine() };
    if (err.code === 'ENOTFOUND') return { status: 404, body };
    if (err instanceof InvalidInputError) return { status: 400, body };
    if (err instanceof ConflictError) return { status: 409, body };
    if (err instanceof UnavailableError) return { status: 503, body };
  }
  const http = err as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown };
  if (http.validation !== undefined && typeof http.message === 'string') return { status: 400, body: { code: 'EINVALID', message: http.message } };
  if (typeof http.statusCode === 'number' && http.statusCode >= 400 && http.statusCode < 500 && typeof http.message === 'string') {
    return { status: http.statusCode, body: { code: typeof http.code === 'string' ? http.code : 'EHTTP', message: http.message } };
  }
  return { status: 500, body: { code: 'EINTERNAL', message: 'internal error (logged by the API server)' } };
}
