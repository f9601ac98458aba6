import { describe, expect, it } from 'vitest';
import { deployment as d, errorsOf } from './manifests.js';
import { parseFiles } from '../../../src/manifest/index.js';

// Probes, lifecycle hooks and rollout timing, with Kubernetes' defaults and validation rules.
// Lines are appended to the base Deployment of manifests.ts from line 17 (8 spaces: the container).
const C = 'spec.template.spec.containers[0]';
const NOT_YET = 'a Kubernetes field berth does not support yet';

function containerOf(text: string): Record<string, unknown> {
  const [o] = parseFiles([{ path: 'app.yaml', text }]).objects;
  if (o?.kind !== 'Deployment') throw new Error(`not accepted: ${errorsOf(text).join('\n')}`);
  const [c] = o.spec.template.containers;
  if (c === undefined) throw new Error('no container');
  return c as unknown as Record<string, unknown>;
}

const TIMING = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

describe('probes: each kind, normalized with Kubernetes defaults', () => {
  it.each([
    ['exec', '        readinessProbe: {exec: {command: [cat, /tmp/ready]}}', 'readinessProbe', { exec: { command: ['cat', '/tmp/ready'] }, ...TIMING }],
    [
      'httpGet by number, defaults',
      '        readinessProbe: {httpGet: {port: 8080}}',
      'readinessProbe',
      { httpGet: { path: '/', port: 8080, scheme: 'HTTP', httpHeaders: [] }, ...TIMING },
    ],
    [
      'httpGet by name, headers',
      '        ports: [{name: http, containerPort: 80}]\n        livenessProbe: {httpGet: {path: /healthz, port: http, httpHeaders: [{name: X-Probe, value: "1"}]}}',
      'livenessProbe',
      { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, ...TIMING },
    ],
    ['tcpSocket', '        startupProbe: {tcpSocket: {port: 6379}, failureThreshold: 30, periodSeconds: 1}', 'startupProbe', { tcpSocket: { port: 6379 }, ...TIMING, failureThreshold: 30, periodSeconds: 1 }],
    ['grpc', '        readinessProbe: {grpc: {port: 9090}}', 'readinessProbe', { grpc: { port: 9090, service: '' }, ...TIMING }],
    ['grpc with a service', '        livenessProbe: {grpc: {port: 9090, service: cart}}', 'livenessProbe', { grpc: { port: 9090, service: 'cart' }, ...TIMING }],
    [
      'every timing',
      '        readinessProbe: {exec: {command: ["true"]}, initialDelaySeconds: 5, periodSeconds: 2, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 4}',
      'readinessProbe',
      { exec: { command: ['true'] }, initialDelaySeconds: 5, periodSeconds: 2, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 4 },
    ],
    [
      'zero means the default, as in Kubernetes',
      '        readinessProbe: {exec: {command: ["true"]}, periodSeconds: 0, timeoutSeconds: 0, successThreshold: 0, failureThreshold: 0}',
      'readinessProbe',
      { exec: { command: ['true'] }, ...TIMING },
    ],
    ['a preStop exec hook', '        lifecycle: {preStop: {exec: {command: [sleep, "1"]}}}', 'lifecycle', { preStop: { exec: { command: ['sleep', '1'] } } }],
    [
      'a preStop httpGet hook',
      '        lifecycle: {preStop: {httpGet: {path: /quit, port: 8080}}}',
      'lifecycle',
      { preStop: { httpGet: { path: '/quit', port: 8080, scheme: 'HTTP', httpHeaders: [] } } },
    ],
  ])('%s', (_, lines, field, expected) => {
    expect(containerOf(d(lines))[field]).toEqual(expected);
  });
});

describe('probes: refused with the rule, at the line', () => {
  it.each([
    ['no handler', '        readinessProbe: {periodSeconds: 5}', [`app.yaml:17:25: ${C}.readinessProbe: must have one of exec, httpGet, tcpSocket, grpc`]],
    [
      'two handlers',
      '        readinessProbe: {exec: {command: ["true"]}, tcpSocket: {port: 80}}',
      [`app.yaml:17:25: ${C}.readinessProbe: must have only one of exec, httpGet, tcpSocket, grpc, not exec and tcpSocket`],
    ],
    ['an empty exec command', '        readinessProbe: {exec: {command: []}}', [`app.yaml:17:42: ${C}.readinessProbe.exec.command: must have at least 1 item`]],
    ['a named port the container lacks', '        readinessProbe: {httpGet: {port: http}}', [`app.yaml:17:42: ${C}.readinessProbe.httpGet.port: no port named "http" in this container's ports (it names none)`]],
    [
      'a named port among others',
      '        ports: [{name: web, containerPort: 80}]\n        livenessProbe: {tcpSocket: {port: admin}}',
      [`app.yaml:18:43: ${C}.livenessProbe.tcpSocket.port: no port named "admin" in this container's ports (it names "web")`],
    ],
    ['a bad port name', '        readinessProbe: {tcpSocket: {port: Admin_1}}', [`app.yaml:17:44: ${C}.readinessProbe.tcpSocket.port: "Admin_1" is not a valid port name: at most 15 lowercase letters, digits and '-', with at least one letter, no '--', not starting or ending with '-' (e.g. "http")`]],
    ['port 0', '        readinessProbe: {httpGet: {port: 0}}', [`app.yaml:17:42: ${C}.readinessProbe.httpGet.port: must be between 1 and 65535, not 0`]],
    ['a quoted port number', '        readinessProbe: {httpGet: {port: "80"}}', [`app.yaml:17:42: ${C}.readinessProbe.httpGet.port: must be a number or a port name; remove the quotes around 80`]],
    ['a grpc port by name', '        ports: [{name: grpc, containerPort: 9090}]\n        readinessProbe: {grpc: {port: grpc}}', [`app.yaml:18:39: ${C}.readinessProbe.grpc.port: must be an integer, not the string "grpc"`]],
    ['HTTPS', '        readinessProbe: {httpGet: {port: 443, scheme: HTTPS}}', [`app.yaml:17:55: ${C}.readinessProbe.httpGet.scheme: HTTPS probes are not supported by berth yet; probe an HTTP port, or use an exec probe`]],
    ['a lower-case scheme', '        readinessProbe: {httpGet: {port: 80, scheme: http}}', [`app.yaml:17:54: ${C}.readinessProbe.httpGet.scheme: must be one of HTTP, HTTPS, not "http"; did you mean HTTP?`]],
    ['a bad header name', '        readinessProbe: {httpGet: {port: 80, httpHeaders: [{name: "a b", value: x}]}}', [`app.yaml:17:67: ${C}.readinessProbe.httpGet.httpHeaders[0].name: "a b" is not a valid HTTP header name: letters, digits and !#$%&'*+-.^_\`|~ (e.g. "X-Probe")`]],
    ['an httpGet host', '        readinessProbe: {httpGet: {port: 80, host: example.com}}', [`app.yaml:17:46: ${C}.readinessProbe.httpGet.host: ${NOT_YET} (probes and hooks reach the container's own address); remove it`]],
    ['successThreshold 2 on liveness', '        livenessProbe: {exec: {command: ["true"]}, successThreshold: 2}', [`app.yaml:17:70: ${C}.livenessProbe.successThreshold: must be 1 for a liveness probe (as in Kubernetes)`]],
    ['successThreshold 2 on startup', '        startupProbe: {exec: {command: ["true"]}, successThreshold: 2}', [`app.yaml:17:69: ${C}.startupProbe.successThreshold: must be 1 for a startup probe (as in Kubernetes)`]],
    ['a negative delay', '        readinessProbe: {exec: {command: ["true"]}, initialDelaySeconds: -1}', [`app.yaml:17:74: ${C}.readinessProbe.initialDelaySeconds: must be at least 0, not -1`]],
    ['a negative period', '        readinessProbe: {exec: {command: ["true"]}, periodSeconds: -5}', [`app.yaml:17:68: ${C}.readinessProbe.periodSeconds: must be at least 0, not -5`]],
    ['a probe-level grace period', '        livenessProbe: {exec: {command: ["true"]}, terminationGracePeriodSeconds: 5}', [`app.yaml:17:52: ${C}.livenessProbe.terminationGracePeriodSeconds: ${NOT_YET} (a container restarted by a failed probe is stopped with its pod's terminationGracePeriodSeconds); remove it`]],
    ['a postStart hook', '        lifecycle: {postStart: {exec: {command: ["true"]}}}', [`app.yaml:17:21: ${C}.lifecycle.postStart: ${NOT_YET} (berth runs preStop hooks only); remove it`]],
    ['a preStop with nothing', '        lifecycle: {preStop: {}}', [`app.yaml:17:30: ${C}.lifecycle.preStop: must have one of exec, httpGet`]],
    ['a preStop sleep', '        lifecycle: {preStop: {sleep: {seconds: 5}}}', [`app.yaml:17:31: ${C}.lifecycle.preStop.sleep: ${NOT_YET} (use an exec hook such as \`["sleep", "5"]\`); remove it`]],
    ['a preStop on a port it lacks', '        lifecycle: {preStop: {httpGet: {port: admin}}}', [`app.yaml:17:47: ${C}.lifecycle.preStop.httpGet.port: no port named "admin" in this container's ports (it names none)`]],
  ])('%s', (_, lines, expected) => {
    expect(errorsOf(d(lines))).toEqual(expected);
  });
});

describe('rollout timing and stopping', () => {
  const spec = (text: string): Record<string, unknown> => {
    const [o] = parseFiles([{ path: 'app.yaml', text }]).objects;
    if (o?.kind !== 'Deployment') throw new Error(`not accepted: ${errorsOf(text).join('\n')}`);
    return o.spec as unknown as Record<string, unknown>;
  };

  it("defaults: minReadySeconds 0, progressDeadlineSeconds 600, no grace period of the pod's own", () => {
    expect(spec(d())).toMatchObject({ minReadySeconds: 0, progressDeadlineSeconds: 600 });
    expect(spec(d())['template']).not.toHaveProperty('terminationGracePeriodSeconds');
  });

  it('reads them', () => {
    const s = spec(d('      terminationGracePeriodSeconds: 5', '  minReadySeconds: 3', '  progressDeadlineSeconds: 60', '  revisionHistoryLimit: 2'));
    expect(s).toMatchObject({ minReadySeconds: 3, progressDeadlineSeconds: 60, template: { terminationGracePeriodSeconds: 5 } });
    expect(s).not.toHaveProperty('revisionHistoryLimit');
  });

  it.each([
    ['a deadline not above minReadySeconds', ['  minReadySeconds: 30', '  progressDeadlineSeconds: 30'], ['app.yaml:18:28: spec.progressDeadlineSeconds: must be greater than minReadySeconds (30)']],
    ['a negative minReadySeconds', ['  minReadySeconds: -1'], ['app.yaml:17:20: spec.minReadySeconds: must be at least 0, not -1']],
    ['a negative grace period', ['      terminationGracePeriodSeconds: -1'], ['app.yaml:17:38: spec.template.spec.terminationGracePeriodSeconds: must be at least 0, not -1']],
  ])('refuses %s', (_, lines, expected) => {
    expect(errorsOf(d(...lines))).toEqual(expected);
  });
});
