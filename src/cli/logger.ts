// The logger of a command from its --log-level and --log-format.
import { chooseLogFormat, createLogger, type Logger } from '../log.js';

/** Logging flags of the commands that run components. */
export interface LogFlags {
  logLevel: string;
  /** `--log-format`: auto (pretty on a terminal), json or pretty. */
  logFormat?: string;
}

/** This process's logger: pretty when stderr is a terminal (or asked for), JSON otherwise. */
export function loggerFor(flags: LogFlags): Logger {
  return createLogger({ level: flags.logLevel, format: chooseLogFormat(flags.logFormat, process.stderr.isTTY) });
}

/**
 * Where a long fetch's progress goes: on a terminal, one line of stderr updated in place (at most
 * ten times a second) and cleared when the fetch ends; elsewhere nowhere (logs say what was fetched).
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ((line: string | undefined) => void) | undefined {
  if (!stream.isTTY) return undefined;
  let shown = false;
  let last = 0;
  return (line) => {
    if (line === undefined) {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
      return;
    }
    if (Date.now() - last < 100) return;
    last = Date.now();
    shown = true;
    stream.write(`\r\x1b[K${line.slice(0, Math.max(20, (stream.columns || 80) - 1))}`);
  };
}

/** `onProgress` for a GitSource: set only on a terminal. */
export function withProgress(): { onProgress?: (line: string | undefined) => void } {
  const onProgress = terminalProgress();
  return onProgress ? { onProgress } : {};
}
