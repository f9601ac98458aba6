import { describe, expectTypeOf, it } from 'vitest';
import type { ContainerPort, ContainerSpec, Deployment, DesiredObject, PodTemplate, ResourceAmounts, Service } from '../../../src/manifest/index.js';

// The shapes other folders were promised, written out once more on purpose: the types are
// inferred from the schemas, and this pins them so a schema edit cannot silently change the contract.
interface Port {
  name?: string;
  containerPort: number;
  hostPort?: number;
  protocol: 'TCP' | 'UDP';
}
interface Amounts {
  cpu?: number;
  memory?: number;
}
type Port_ = number | string;
interface HttpGet {
  path: string;
  port: Port_;
  scheme: 'HTTP';
  httpHeaders: { name: string; value: string }[];
}
interface Probe {
  exec?: { command: string[] };
  httpGet?: HttpGet;
  tcpSocket?: { port: Port_ };
  grpc?: { port: number; service: string };
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}
interface Container {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: (
    | { name: string; value: string }
    | {
        name: string;
        valueFrom:
          | { configMapKeyRef: { name: string; key: string; optional?: boolean } }
          | { secretKeyRef: { name: string; key: string; optional?: boolean } }
          | { fieldRef: { fieldPath: 'metadata.name' | 'metadata.namespace' | 'spec.nodeName' | 'status.podIP' } };
      }
  )[];
  envFrom?: (({ configMapRef: { name: string; optional?: boolean } } | { secretRef: { name: string; optional?: boolean } }) & { prefix?: string })[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  ports: Port[];
  resources: { requests: Amounts; limits: Amounts };
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; httpGet?: HttpGet } };
  securityContext?: {
    runAsUser?: number;
    runAsGroup?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    privileged?: boolean;
    seccompProfile?: { type: 'RuntimeDefault' | 'Unconfined' };
  };
}
interface Template {
  labels: Record<string, string>;
  containers: Container[];
  initContainers?: Container[];
  volumes?: (
    | { name: string; configMap: { name: string; items?: { key: string; path: string; mode?: number }[]; defaultMode?: number; optional?: boolean } }
    | { name: string; secret: { secretName: string; items?: { key: string; path: string; mode?: number }[]; defaultMode?: number; optional?: boolean } }
    | { name: string; emptyDir: { medium?: 'Memory'; sizeLimit?: number } }
    | { name: string; hostPath: { path: string; type?: 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File' | 'Socket' | 'CharDevice' | 'BlockDevice' } }
  )[];
  nodeSelector: Record<string, string>;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean; fsGroup?: number; fsGroupChangePolicy?: 'OnRootMismatch' | 'Always'; supplementalGroups?: number[]; seccompProfile?: { type: 'RuntimeDefault' | 'Unconfined' } };
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}
interface DeploymentSpec {
  replicas: number;
  strategy: { type: 'RollingUpdate' | 'Recreate'; maxSurge: number | string; maxUnavailable: number | string };
  template: Template;
  minReadySeconds: number;
  progressDeadlineSeconds: number;
}

interface ServiceSpec {
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  headless: boolean;
  selector: Record<string, string>;
  ports: { name?: string; port: number; targetPort: number | string; protocol: 'TCP'; nodePort?: number }[];
  sessionAffinity: 'None';
}

describe('manifest types inferred from the schemas', () => {
  it('keep the promised shapes', () => {
    expectTypeOf<ContainerPort>().toEqualTypeOf<Port>();
    expectTypeOf<ResourceAmounts>().toEqualTypeOf<Amounts>();
    expectTypeOf<ContainerSpec>().toEqualTypeOf<Container>();
    expectTypeOf<PodTemplate>().toEqualTypeOf<Template>();
    expectTypeOf<Deployment>().toEqualTypeOf<DeploymentSpec>();
    expectTypeOf<Extract<DesiredObject, { kind: 'ConfigMap' }>['spec']>().toEqualTypeOf<{ data: Record<string, string> }>();
    expectTypeOf<Service>().toEqualTypeOf<ServiceSpec>();
  });
});
