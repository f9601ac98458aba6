// NOTE: the contract of normalized objects that every other folder builds on.
// The validator in this folder produces exactly these shapes.

/** A container port; hostPort publishes it on the node. */
export interface ContainerPort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  protocol: 'TCP' | 'UDP';
}

/** Resource amounts, normalized: cpu in millicores, memory in bytes. */
export interface ResourceAmounts {
  cpu?: number;
  memory?: number;
}

/** One container of a pod template, normalized (absent lists are empty, not undefined). */
export interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: { name: string; value: string }[];
  ports: ContainerPort[];
  resources: { requests: ResourceAmounts; limits: ResourceAmounts };
}

/** What a pod runs. */
export interface PodTemplate {
  labels: Record<string, string>;
  containers: ContainerSpec[];
  nodeSelector: Record<string, string>;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
}

/** apps/v1 Deployment, normalized. */
export interface Deployment {
  replicas: number;
  strategy: { type: 'RollingUpdate' | 'Recreate'; maxSurge: number | string; maxUnavailable: number | string };
  template: PodTemplate;
}

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

export interface DeploymentObject extends ObjectBase {
  kind: 'Deployment';
  spec: Deployment;
}

export interface ConfigMapObject extends ObjectBase {
  kind: 'ConfigMap';
  spec: { data: Record<string, string> };
}

/** A validated, normalized object of a commit. */
export type DesiredObject = DeploymentObject | ConfigMapObject;

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
