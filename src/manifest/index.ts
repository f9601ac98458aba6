// The public face of src/manifest: pure parsing, validation, hashing and planning of manifests.
export { checkFiles } from './check.js';
export type { RawFile } from './check.js';
export { countErrors, formatError, formatErrors } from './format.js';
export { hashObject, templateHash } from './hash.js';
export { DEFAULT_LIMITS, formatBytes } from './limits.js';
export { readQuantity } from './quantity.js';
export type { Limits } from './limits.js';
export { isManifestPath, parseFiles } from './parse.js';
export type { ManifestFile, ParseOptions, ParseResult, SkippedDocument } from './parse.js';
export { planDesired } from './plan.js';
export { formatPlanDiff, renderObject, unifiedHunks, type DiffLabels } from './diff.js';
export { configMapRefs, configMapsOf, deploymentInputs, deploymentRefsMet, referableData, referencesMet } from './refs.js';
export type { ConfigMapRef, ObjectLookup } from './refs.js';
export { checkLocalPath, volumeConfigMaps } from './volumes.js';
export type { ConfigMapVolume, Volume, VolumeMount } from './volumes.js';
export { envInputs, expandCommand, resolveEnv } from './env.js';
export type { ConfigMapLookup, EnvVar, PodFields, ResolvedEnv } from './env.js';
export type { DesiredPlan } from './plan.js';
export { escapeControl, quote, shown } from './text.js';
export { objectKey } from './types.js';
export { redactSecret } from './secret.js';
export type { SecretSpec } from './secret.js';
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
  Service,
  ServiceObject,
  ServicePort,
} from './types.js';
export { NODE_PORT_RANGE, nodePortsUnique } from './services.js';
