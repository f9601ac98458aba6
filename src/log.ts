import { createRequire } from 'node:module';
import { pino } from 'pino';
import type { PrettyOptions } from 'pino-pretty';

/** Structured logger used by every component; the only importer of pino (and pino-pretty). */
export type Logger = pino.Logger;

/**
 * Keys whose values never reach a log line: tokens, passwords, credentials, Authorization and Cookie
 * headers (also as a request's or response's `headers`), a container's environment. URLs carry
 * their credentials through `redactUrl` at the places that log them.
 */
export const REDACT_PATHS = [
  'token', 'password', 'authorization', 'credentials', 'env',
  '*.token', '*.password', '*.authorization', '*.credentials', '*.env',
  'headers.authorization', 'headers.cookie', '*.headers.authorization', '*.headers.cookie', '*.headers["set-cookie"]',
];

/** How log lines are written: JSON lines (for machines), or pino-pretty's coloured lines (for a person at a terminal). */
export type LogFormat = 'json' | 'pretty';
/** `--log-format`'s choices: `auto` is pretty when stderr is a terminal, JSON otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
/** pino's levels, `--log-level`'s choices. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The format `--log-format` asks for, `auto` (or nothing) deciding by whether stderr is a terminal. */
export function chooseLogFormat(flag: string | undefined, stderrIsTerminal: boolean): LogFormat {
  if (flag === 'json' || flag === 'pretty') return flag;
  return stderrIsTerminal ? 'pretty' : 'json';
}

/** A logger writing to stderr (stdout is kept for command output): JSON lines, or pretty ones. */
export function createLogger(opts: { level?: string; name?: string; format?: LogFormat; /** Instead of stderr (tests). */ destination?: pino.DestinationStream } = {}): Logger {
  const options = { name: opts.name ?? 'berth', level: opts.level ?? process.env.BERTH_LOG_LEVEL ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (opts.destination) return pino(options, opts.destination);
  if (opts.format === 'pretty') return pino(options, prettyStream());
  return pino(options, pino.destination({ fd: 2, sync: false }));
}

/**
 * pino-pretty in this thread (no transport worker), loaded only when asked for: the agent on every
 * node and the JSON default never pay for it. Colours only on a terminal, and never with NO_COLOR.
 */
function prettyStream(): pino.DestinationStream {
  const require = createRequire(import.meta.url);
  const { PinoPretty } = require('pino-pretty') as { PinoPretty: (o: PrettyOptions) => pino.DestinationStream };
  const colorize = process.stderr.isTTY && process.env.NO_COLOR === undefined;
  return PinoPretty({ destination: 2, sync: true, colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' });
}

/** A logger that drops everything: for tests and library callers that bring none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Remove any user:password@ of URLs in `text` before it is logged or shown. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/[^/@\s]+@/g, '//[redacted]@');
}
