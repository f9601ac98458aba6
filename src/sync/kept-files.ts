import { createHash } from 'node:crypto';
import { berthVersion } from '../version.js';
import { BerthError } from '../errors.js';
import { DEFAULT_LIMITS, objectKey } from '../manifest/index.js';
import type { DesiredObject } from '../manifest/types.js';
import {
  CompactedError, decode, encode, readSealed, sealedFileKey, sealedFilesPrefix, type Entry, type PutOp, type SealRecord, type SealedFileRecord, type Store,
} from '../store/index.js';
import { compareText } from '../text.js';
import { byPlace, type FileCheck } from './combine.js';
import { stateFromFull, type FileChange, type TreeAccess, type TreeState } from './incremental.js';
import type { IsolateOptions } from './isolate.js';
import type { BlobInfo, TreeLeaf } from './tree.js';

// What sync keeps of its sealed commit, in etcd beside desired/: one small record per manifest file
// (its blob id, the lines of its objects, its warnings and skipped documents), written in the seal's
// all-or-nothing apply, so a restarted sync rebuilds its kept state from etcd and the tree's ids
// instead of reading and checking every blob again (a whole read: ~9 s of CPU at 10,000 files).

/** A sealed file's record in etcd: what desired/ lacks of the file's check. */
export function sealedFileRecord(f: FileCheck): SealedFileRecord {
  const lines = f.objects.map((o) => ({ key: objectKey(o), line: o.line })).sort((a, b) => compareText(a.key, b.key)).map((l) => l.line);
  return {
    type: 'sealedFile', oid: f.oid, size: f.size, lines,
    ...(f.warnings.length > 0 ? { warnings: f.warnings.map(({ line, col, message }) => ({ line, col, message })) } : {}),
    ...(f.skipped.length > 0 ? { skipped: f.skipped.map(({ line, kind, name }) => (name === undefined ? { line, kind } : { line, kind, name })) } : {}),
  };
}

/**
 * A digest of what decides a file's check besides its bytes: berth's version and the source's check
 * options. Records checked otherwise are not trusted at start (read whole from Git instead).
 */
export function checkedWith(opts: Pick<IsolateOptions, 'skipKinds' | 'allowPlainSecrets' | 'limits'>): string {
  const what = { version: berthVersion(), skipKinds: [...(opts.skipKinds ?? [])].sort(), allowPlainSecrets: opts.allowPlainSecrets === true, limits: { ...DEFAULT_LIMITS, ...opts.limits } };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

/** The file records an apply writes with its seal, and what the seal says of them. */
export interface FileWrites {
  put: PutOp[];
  del: string[];
  mark: NonNullable<SealRecord['files']>;
}

/**
 * The writes that make `sealedfiles/<source>/` hold `files`. Against the previous seal's records
 * (the change was read against its commit, with the same options, and no record was written since
 * it): only the changed files. Otherwise every stored record is compared with its file (a first
 * sync, a whole read, records of an older berth or left half-written by an apply that never sealed).
 */
export async function fileWrites(store: Store, source: string, prev: SealRecord | undefined, files: FileChange & { against?: string }, digest: string): Promise<FileWrites> {
  const prefix = sealedFilesPrefix(source);
  const mark = { count: files.count, checkedWith: digest };
  const put = (f: FileCheck): PutOp => ({ key: sealedFileKey(source, f.path), value: encode(sealedFileRecord(f)) });
  if (prev?.files && files.against === prev.commit && prev.files.checkedWith === digest) {
    const { count, changed } = await store.changedSince(prefix, prev.revision);
    if (changed.length === 0 && count === prev.files.count) return { put: files.changed.map(put), del: files.gone.map((p) => sealedFileKey(source, p)), mark };
  }
  const stored = new Map((await store.list(prefix)).entries.map((e) => [e.key, e.value]));
  const wanted = files.all().map(put);
  const keys = new Set(wanted.map((p) => p.key));
  return { put: wanted.filter((p) => stored.get(p.key) !== p.value), del: [...stored.keys()].filter((k) => !keys.has(k)), mark };
}

/**
 * The kept state of the sealed commit rebuilt from etcd: its objects from desired/ and its files'
 * records, both as of the seal, checked against the commit's tree (every manifest blob has its record
 * with its id; only trees are read, no blob). A string says why it cannot be (the caller reads the
 * commit whole from Git): no records (an older berth), records checked with other options or
 * another version, records or objects that do not match the commit's tree.
 */
export async function restoreKept(store: Store, source: string, seal: SealRecord, access: Pick<TreeAccess, 'root' | 'diff'>, digest: string): Promise<TreeState | string> {
  const mark = seal.files;
  if (mark === undefined) return 'the seal has no file records (sealed by an older berth, or by an apply that could not split its check by file)';
  if (mark.checkedWith !== digest) return 'its file records were checked with other options (--skip-kind, --allow-plain-secrets, limits) or by another version of berth';
  const sealed = await readSealed(store, source);
  if (sealed?.seal.commit !== seal.commit || sealed.seal.revision !== seal.revision) return 'the source was sealed again meanwhile';
  if (!sealed.exact) return 'its desired state cannot be read as sealed (compacted, and a newer commit half-written)';
  const records = await listAtSeal(store, sealedFilesPrefix(source), seal.revision);
  if (records === undefined) return 'its file records cannot be read as sealed (compacted, and a newer commit half-written)';
  if (records.length !== mark.count) return `${records.length} file records where the seal wrote ${mark.count}`;
  try {
    return await rebuild(source, seal.commit, records, sealed.entries, access);
  } catch (err) {
    if (err instanceof BerthError && err.code === 'ECORRUPT') return err.message;
    throw err;
  }
}

/** The entries under `prefix` as of `revision`; undefined when compacted away and one was written since. */
async function listAtSeal(store: Store, prefix: string, revision: number): Promise<Entry[] | undefined> {
  try {
    return (await store.list(prefix, { revision })).entries;
  } catch (err) {
    if (!(err instanceof CompactedError)) throw err;
    const { entries } = await store.list(prefix);
    return entries.every((e) => e.modRevision <= revision) ? entries : undefined;
  }
}

async function rebuild(source: string, commit: string, records: readonly Entry[], desired: readonly Entry[], access: Pick<TreeAccess, 'root' | 'diff'>): Promise<TreeState | string> {
  const root = await access.root(commit);
  const leaves = new Map<string, TreeLeaf>();
  for (const c of await access.diff(undefined, root)) if (c.after) leaves.set(c.path, c.after);
  const manifests = [...leaves.values()].filter((l) => l.kind === 'manifest').length;
  if (manifests !== records.length) return `${records.length} file records for ${manifests} manifest files of the commit`;

  const byPath = new Map<string, { key: string; o: DesiredObject }[]>();
  for (const e of desired) {
    const o = decode('desired', e.key, e.value).object;
    const list = byPath.get(o.path) ?? [];
    list.push({ key: objectKey(o), o });
    byPath.set(o.path, list);
  }
  const prefix = sealedFilesPrefix(source);
  const blobs: BlobInfo[] = [];
  const objects: { key: string; o: DesiredObject }[] = [];
  const check = { errors: [], omitted: 0, skipped: [] as FileCheck['skipped'], warnings: [] as FileCheck['warnings'], files: records.length };
  for (const e of records) {
    const path = e.key.slice(prefix.length);
    const r = decode('sealedFile', e.key, e.value);
    const leaf = leaves.get(path);
    if (leaf?.kind !== 'manifest' || leaf.oid !== r.oid) return `the record of ${path} is not of the commit's blob`;
    const own = (byPath.get(path) ?? []).sort((a, b) => compareText(a.key, b.key));
    byPath.delete(path);
    if (own.length !== r.lines.length) return `${path} has ${own.length} objects in desired state, ${r.lines.length} in its record`;
    // desired/ keeps the line an object had when it last changed; the record, the line it has now.
    own.forEach((k, i) => {
      k.o.line = r.lines[i] ?? k.o.line;
      objects.push(k);
    });
    blobs.push({ path, oid: r.oid, size: r.size });
    for (const w of r.warnings ?? []) check.warnings.push({ path, ...w });
    for (const s of r.skipped ?? []) check.skipped.push({ path, ...s });
  }
  if (byPath.size > 0) return `objects in desired state from ${[...byPath.keys()][0] ?? ''}, which has no record`;
  const entries = [...leaves]
    .filter(([, l]) => l.kind !== 'manifest')
    .map(([path, l]) => ({ path, reason: l.kind === 'symlink' ? 'symbolic link, not followed' : 'submodule, not followed' }))
    .sort((a, b) => compareText(a.path, b.path));
  return stateFromFull(commit, root, leaves, blobs, {
    ...check,
    objects: objects.sort((a, b) => compareText(a.key, b.key)).map((k) => k.o),
    warnings: check.warnings.sort(byPlace),
    // Records come in path order, each file's documents in their order.
    skipped: check.skipped.sort((a, b) => compareText(a.path, b.path)),
    entries,
  });
}
