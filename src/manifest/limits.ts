/**
 * How much of a repository berth reads before it stops trusting it. Each bound is checked before
 * the work it bounds (sizes before decoding, nesting before composing, alias expansion while it
 * happens), so a commit of any content costs at most about what these allow.
 */
export interface Limits {
  /** Bytes of one manifest file (checked before it is decoded or parsed). */
  fileBytes: number;
  /** Bytes of all manifest files of a commit together. */
  commitBytes: number;
  /** Bytes of one scalar value; keys are held to `keyBytes`. */
  valueBytes: number;
  /** Bytes of one map key. */
  keyBytes: number;
  /** YAML documents in one file. */
  documentsPerFile: number;
  /** Alias uses in one file, counted as the manifests are read (an alias inside an alias counts again). */
  aliasesPerFile: number;
  /** Bytes that alias uses of one file expand to, together (as Kubernetes' YAML decoding bounds expansion). */
  aliasBytesPerFile: number;
  /** Levels of nested maps and lists. */
  depth: number;
  /** Objects (Deployments, ConfigMaps) of one source. */
  objects: number;
  /** Errors kept per commit; the rest are counted ("… and M more"). */
  errors: number;
}

/** The limits berth applies unless told otherwise. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  fileBytes: 1024 * 1024,
  // Argo CD's repo server reads at most 10M of manifests per app by default; berth parses that in
  // about two seconds on two cores, whatever its content (the time grows with the bytes).
  commitBytes: 10 * 1024 * 1024,
  valueBytes: 1024 * 1024,
  keyBytes: 1024,
  documentsPerFile: 1000,
  aliasesPerFile: 1000,
  aliasBytesPerFile: 1024 * 1024,
  depth: 100,
  objects: 20_000,
  errors: 1000,
});

export { formatBytes } from '../text.js';
