import { formatErrors, parseFiles } from '../manifest/index.js';
import { readManifestPaths } from '../sync/index.js';

/** `berth validate`: print every error as file:line:col: message; the exit code says valid (0) or not (1). */
export async function runValidate(paths: string[], flags: { quiet?: boolean; skipKind?: string[] }): Promise<number> {
  const files = await readManifestPaths(paths);
  const { objects, errors, omitted, skipped } = parseFiles(files, { skipKinds: flags.skipKind ?? [] });
  for (const d of skipped) process.stderr.write(`${d.path}:${d.line}: skipped ${d.kind}${d.name ? ` ${d.name}` : ''} (--skip-kind)\n`);
  for (const line of formatErrors(errors, omitted, 100)) process.stdout.write(`${line}\n`);
  if (!flags.quiet) {
    const summary = errors.length === 0
      ? `${files.length} file(s), ${objects.length} object(s): valid`
      : `${files.length} file(s): ${errors.length + omitted} error(s)`;
    process.stderr.write(`${summary}\n`);
  }
  return errors.length === 0 ? 0 : 1;
}
