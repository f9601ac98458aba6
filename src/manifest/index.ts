// The public face of src/manifest: pure parsing, validation, hashing and planning of manifests.
export { formatError } from './format.js';
export { hashObject, templateHash } from './hash.js';
export { isManifestPath, parseFiles } from './parse.js';
export type { ManifestFile, ParseOptions, ParseResult, SkippedDocument } from './parse.js';
export { planDesired } from './plan.js';
export type { DesiredPlan } from './plan.js';
export { objectKey } from './types.js';
export type {
  ConfigMapObject,
  ContainerPort,
  ContainerSpec,
  Deployment,
  DeploymentObject,
  DesiredObject,
  ManifestError,
  PodTemplate,
  ResourceAmounts,
} from './types.js';
