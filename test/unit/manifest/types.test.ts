import { describe, expectTypeOf, it } from 'vitest';
import type { ContainerPort, ContainerSpec, Deployment, DesiredObject, PodTemplate, ResourceAmounts } from '../../../src/manifest/index.js';

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
interface Container {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: { name: string; value: string }[];
  ports: Port[];
  resources: { requests: Amounts; limits: Amounts };
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}
interface Template {
  labels: Record<string, string>;
  containers: Container[];
  nodeSelector: Record<string, string>;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
}
interface DeploymentSpec {
  replicas: number;
  strategy: { type: 'RollingUpdate' | 'Recreate'; maxSurge: number | string; maxUnavailable: number | string };
  template: Template;
}

describe('manifest types inferred from the schemas', () => {
  it('keep the promised shapes', () => {
    expectTypeOf<ContainerPort>().toEqualTypeOf<Port>();
    expectTypeOf<ResourceAmounts>().toEqualTypeOf<Amounts>();
    expectTypeOf<ContainerSpec>().toEqualTypeOf<Container>();
    expectTypeOf<PodTemplate>().toEqualTypeOf<Template>();
    expectTypeOf<Deployment>().toEqualTypeOf<DeploymentSpec>();
    expectTypeOf<Extract<DesiredObject, { kind: 'ConfigMap' }>['spec']>().toEqualTypeOf<{ data: Record<string, string> }>();
  });
});
