import type { configMapSchema } from './configmap.js';
import type { amountsSchema, containerSchema, portSchema } from './container.js';
import type { deploymentSpecSchema } from './deployment.js';
import type { podTemplateSchema } from './pod.js';
import type { SecretSpec } from './secret.js';
import type { serviceSpecSchema } from './services.js';
import type { Infer } from './schema.js';

// NOTE: the contract of normalized objects that every other folder builds on. The manifest
// shapes are inferred from the schemas that read them (container.ts, pod.ts, deployment.ts,
// configmap.ts), so they are written once; test/unit/manifest/types.test.ts pins each shape.

/** A container port; hostPort publishes it on the node. */
export type ContainerPort = Infer<typeof portSchema>;

/** Resource amounts, normalized: cpu in millicores, memory in bytes. */
export type ResourceAmounts = Infer<typeof amountsSchema>;

/** One container of a pod template, normalized (absent lists are empty, not undefined). */
export type ContainerSpec = Infer<typeof containerSchema>;

/** What a pod runs. */
export type PodTemplate = Infer<typeof podTemplateSchema>;

/** apps/v1 Deployment, normalized. */
export type Deployment = Infer<typeof deploymentSpecSchema>;

interface ObjectBase {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** File the object came from, relative to the repository root. */
  path: string;
  /** 1-based line of the object's document in that file. */
  line: number;
  /** sha256 (hex) of the canonical JSON of kind, namespace, name, labels and spec: changes iff the object's meaning changes. */
  hash: string;
}

/** A validated apps/v1 Deployment. */
export interface DeploymentObject extends ObjectBase {
  kind: 'Deployment';
  spec: Deployment;
}

/** A validated v1 ConfigMap. */
export interface ConfigMapObject extends ObjectBase {
  kind: 'ConfigMap';
  spec: Pick<Infer<typeof configMapSchema>, 'data'>;
}

/** v1 Service, normalized: `headless` for `clusterIP: None`, each port's targetPort filled in. */
export type Service = Infer<typeof serviceSpecSchema>;

/** One port of a Service. */
export type ServicePort = Service['ports'][number];

/** A validated v1 Service. */
export interface ServiceObject extends ObjectBase {
  kind: 'Service';
  spec: Service;
}

/** A validated v1 ServiceAccount: kept, though berth mounts no token. */
export interface ServiceAccountObject extends ObjectBase {
  kind: 'ServiceAccount';
  spec: { automountServiceAccountToken?: boolean };
}

/** A validated v1 Secret: its values as the repository has them, encrypted by sops (or plain, where the operator allows it). */
export interface SecretObject extends ObjectBase {
  kind: 'Secret';
  spec: SecretSpec;
}

/** A validated, normalized object of a commit. */
export type DesiredObject = DeploymentObject | ConfigMapObject | ServiceObject | ServiceAccountObject | SecretObject;

/** One validation error, located in the repository. */
export interface ManifestError {
  path: string;
  line: number;
  col: number;
  message: string;
}

/** The identity of an object within one source: `<kind>/<namespace>/<name>`. */
export function objectKey(o: { kind: string; namespace: string; name: string }): string {
  return `${o.kind}/${o.namespace}/${o.name}`;
}
