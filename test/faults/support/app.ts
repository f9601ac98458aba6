/**
 * The Deployment `app` of the fault scenarios: `replicas` pods of one container `app` running
 * `image`, which exits at once on SIGTERM (so a stop never waits out the grace period), with `env`.
 */
export function appYaml(opts: { namespace: string; image: string; replicas: number; graceSeconds: number; env?: Record<string, string> }): string {
  const env = Object.entries(opts.env ?? {}).map(([name, value]) => `{name: ${name}, value: ${JSON.stringify(value)}}`);
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: ${opts.namespace}}
spec:
  replicas: ${opts.replicas}
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      terminationGracePeriodSeconds: ${opts.graceSeconds}
      containers:
        - name: app
          image: ${opts.image}
          command: [sh, -c, 'trap "exit 0" TERM; sleep 3600 & wait']
${env.length > 0 ? `          env: [${env.join(', ')}]\n` : ''}`;
}
