import { decodeManifest } from './decode.js';
import { DEFAULT_LIMITS, formatBytes, type Limits } from './limits.js';
import { ErrorList, parseFiles, type ManifestFile, type ParseOptions, type ParseResult } from './parse.js';
import type { ManifestError } from './types.js';

/** A manifest file as stored: its path (relative to the root) and its bytes, not yet trusted to be text. */
export interface RawFile {
  path: string;
  bytes: Uint8Array;
  /** The file's size when its bytes were left unread (over a limit); `bytes` is then empty. */
  size?: number;
  /** Left unread because the files before it already passed the commit's limit. */
  unread?: boolean;
}

/**
 * Checks and parses a commit's manifest files from their bytes: sizes first (each file, then the
 * commit's running total, in path order), then the encoding, then parseFiles. What `berth validate`
 * and sync both run, so they give the same answer on the same files.
 */
export function checkFiles(files: readonly RawFile[], opts: ParseOptions = {}): ParseResult {
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const early = new ErrorList(limits.errors);
  const texts: ManifestFile[] = [];
  let total = 0;
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) {
    const at = (message: string): ManifestError => ({ path: f.path, line: 1, col: 1, message });
    const size = f.size ?? f.bytes.length;
    if (size > limits.fileBytes) {
      early.push(at(`file is ${formatBytes(size)}; manifest files are at most ${formatBytes(limits.fileBytes)}`));
      continue;
    }
    total += size;
    if (total > limits.commitBytes || f.unread === true) {
      early.push(at(`the manifest files up to this one hold more than ${formatBytes(limits.commitBytes)}, the most berth reads per commit; the files after it are not read`));
      break;
    }
    const decoded = decodeManifest(f.path, f.bytes);
    if ('error' in decoded) early.push(decoded.error);
    else texts.push({ path: f.path, text: decoded.text });
  }
  const parsed = parseFiles(texts, { ...opts, limits: { ...limits, errors: Math.max(1, early.room) } });
  const errors = [...early.kept, ...parsed.errors].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line || a.col - b.col));
  return { ...parsed, errors, omitted: early.omitted + parsed.omitted };
}
