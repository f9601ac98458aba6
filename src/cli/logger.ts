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
