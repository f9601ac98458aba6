/** What a test Deployment runs: one container named after the Deployment. */
export interface TestDeployment {
  name: string;
  namespace: string;
  replicas: number;
  image: string;
  command: string[];
  env?: Record<string, string>;
  /** Node labels the pods must land on. */
  nodeSelector?: Record<string, string>;
}

/** The YAML of a one-container apps/v1 Deployment, as a user would push it. */
export function deploymentYaml(d: TestDeployment): string {
  const env = Object.entries(d.env ?? {}).map(([name, value]) => `{name: ${name}, value: ${JSON.stringify(value)}}`);
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${d.name}, namespace: ${d.namespace}}
spec:
  replicas: ${d.replicas}
  selector: {matchLabels: {app: ${d.name}}}
  template:
    metadata: {labels: {app: ${d.name}}}
    spec:
${d.nodeSelector ? `      nodeSelector: ${JSON.stringify(d.nodeSelector)}\n` : ''}      containers:
        - name: ${d.name}
          image: ${d.image}
          command: ${JSON.stringify(d.command)}
${env.length > 0 ? `          env: [${env.join(', ')}]\n` : ''}`;
}
