// berth's version, as its package.json says: the same file from src/ (tsx) and from dist/ (built),
// both one folder below the package's root.
import { readFileSync } from 'node:fs';

let version: string | undefined;

/** berth's version (package.json's `version`), read once. */
export function berthVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
