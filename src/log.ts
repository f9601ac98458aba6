import { pino } from 'pino';

/** Structured logger used by every component; the only importer of pino. */
export type Logger = pino.Logger;

/** Keys whose values never reach a log line (credentials in URLs, tokens, env values). */
const REDACT = ['token', 'password', 'authorization', '*.token', '*.password', '*.authorization', 'env', '*.env'];

/** A logger writing JSON lines to stderr (stdout is kept for command output). */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino(
    { name: opts.name ?? 'berth', level: opts.level ?? process.env.BERTH_LOG_LEVEL ?? 'info', redact: { paths: REDACT, censor: '[redacted]' } },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything: for tests and library callers that bring none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Remove any user:password@ of URLs in `text` before it is logged or shown. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/[^/@\s]+@/g, '//[redacted]@');
}
