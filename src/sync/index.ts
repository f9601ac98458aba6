export { GitSource, type GitSourceOptions, type HeadCommit } from './source.js';
export { startSync, type Sync, type SyncOptions } from './sync.js';
export { applyCommit, readSealed, recordRejected, type ApplyResult } from './apply.js';
export { readManifestPaths } from './files.js';
export { GitNotesReporter, NOTES_REF, type GitNotesOptions } from './git-notes.js';
export { drainOutbox, startOutbox, type DrainResult, type OutboxOptions } from './outbox.js';
export { discardReporter, type StatusReporter } from './reporter.js';
export { MAX_DESCRIPTION, appendStatusLines, appliedStatus, formatStatusLine, groupByCommit, rejectedStatus } from './status.js';
