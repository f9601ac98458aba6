import { formatError, parseFiles } from '../../../src/manifest/index.js';

// A minimal valid Deployment. Tests append lines (line 17 onwards) or replace a line, so the
// expected `line:col` of each case can be read straight off this text.
export const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
`;

/** A minimal valid Service selecting the base Deployment's pods; cases append from line 10 (4 spaces: the port, 2: the spec). */
export const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
`;

/** The base Deployment with `lines` appended from line 17 (indent them: 8 = container, 6 = pod spec, 2 = spec, 0 = top). */
export function deployment(...lines: string[]): string {
  return DEPLOYMENT + lines.map((l) => `${l}\n`).join('');
}

/** The base Deployment with one exact substring replaced (same number of lines). */
export function deploymentWith(from: string, to: string): string {
  if (!DEPLOYMENT.includes(from)) throw new Error(`fixture has no ${JSON.stringify(from)}`);
  return DEPLOYMENT.replace(from, to);
}

/** Every error of one file, as `path:line:col: message` lines. */
export function errorsOf(text: string, path = 'app.yaml'): string[] {
  return parseFiles([{ path, text }]).errors.map(formatError);
}
