import fs from 'node:fs';
import type { PromiseFsClient } from 'isomorphic-git';
import { FileSystem } from 'isomorphic-git/models';

/**
 * node:fs wrapped once for isomorphic-git. Given plain node:fs, each of its calls wraps it again and
 * tests it by calling `readFile()` without a path, twice, which throws: two errors made per blob read
 * cost a quarter of reading a commit's 10,000 small blobs. A wrapped one is taken as it is.
 */
// NOTE: FileSystem's own type is not an fs client's; isomorphic-git recognizes the instance at run time.
export const gitFs = new FileSystem(fs) as unknown as PromiseFsClient;
