// `--listen host:port`: parsed and checked before anything starts.
import { UsageError } from '../errors.js';

/** Where the API server listens. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** The default of `--listen`: loopback only, so reads without a token stay on this machine. */
export const DEFAULT_LISTEN = '127.0.0.1:7420';

/** Parse `host:port` (`[::1]:7420` for IPv6; port 0 picks a free one); errors name `flag`. */
export function parseListen(text: string, flag = '--listen'): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65_535) {
    throw new UsageError('ELISTEN', `${flag} must be host:port (e.g. ${DEFAULT_LISTEN}, 0.0.0.0:7420 or [::1]:7420), not "${text}"`);
  }
  return { host, port };
}
