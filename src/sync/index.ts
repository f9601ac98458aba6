export { GitSource, type GitSourceOptions, type HeadCommit } from './source.js';
export { startSync, type Sync, type SyncOptions } from './sync.js';
export { applyCommit, readSealed, recordRejected, type ApplyResult } from './apply.js';
export { readManifestPaths } from './files.js';
