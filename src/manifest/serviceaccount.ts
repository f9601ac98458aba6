// v1 ServiceAccount: accepted and stored, so a repository written for Kubernetes applies unchanged.
// berth mounts no token into pods (the sync status says so once); it has no Secrets to hold one.
import { apiVersionSchema, metadataSchema } from './metadata.js';
import { boolean, object, optional, required, string } from './schema.js';
import * as unsupported from './unsupported.js';

/** A whole `v1 ServiceAccount` document. */
export const serviceAccountSchema = object(
  {
    apiVersion: required(apiVersionSchema('v1', 'ServiceAccount')),
    kind: required(string()),
    metadata: required(metadataSchema),
    automountServiceAccountToken: optional(boolean()),
  },
  unsupported.SERVICE_ACCOUNT,
);
