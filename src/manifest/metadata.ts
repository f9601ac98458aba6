import { quote } from './text.js';
import { checkDnsLabel, checkDnsSubdomain, checkLabelValue, checkQualifiedName } from './names.js';
import { empty, object, optional, record, required, string, withDefault, type Schema } from './schema.js';
import * as unsupported from './unsupported.js';

/** Labels: qualified-name keys, short string values. */
export const labelsSchema = record(checkQualifiedName, string(checkLabelValue));

// Annotations are accepted so real manifests read as they are, and validated so a broken one is
// still caught, but they are dropped: nothing in berth acts on them.
const annotationsSchema = record(checkQualifiedName, string());

// `kubectl create … --dry-run=client -o yaml` writes `creationTimestamp: null`; null reads as unset,
// so that passes, while a real timestamp (copied from a cluster) is refused.
const creationTimestamp = optional(empty('set by the cluster, not by the repository; remove it'));

/** An object's metadata. `namespace` defaults to "default" as in Kubernetes. */
export const metadataSchema = object(
  {
    name: required(string(checkDnsSubdomain)),
    namespace: withDefault(string(checkDnsLabel), 'default'),
    labels: withDefault(labelsSchema, {}),
    annotations: optional(annotationsSchema),
    creationTimestamp,
  },
  unsupported.METADATA,
);

/** A pod template's metadata: labels (what the selector matches) and annotations (dropped). */
export const templateMetadataSchema = object(
  { labels: withDefault(labelsSchema, {}), annotations: optional(annotationsSchema), creationTimestamp },
  {
    ...unsupported.METADATA,
    name: 'not used in a pod template: berth names pods after their Deployment; remove it',
    namespace: 'not used in a pod template: pods run in their Deployment\'s namespace; remove it',
  },
);

/** `apiVersion` of a kind: exactly the one berth reads. */
export function apiVersionSchema(expected: string, kind: string): Schema<string> {
  return string((v) => (v === expected ? undefined : `${quote(v)} is not supported for ${kind}; use ${expected}`));
}

/** `status` in a manifest: only the empty one that kubectl's dry-run output carries. */
export const statusField = optional(empty('set by the cluster, not by the repository; remove it'));
