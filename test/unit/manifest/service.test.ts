import { describe, expect, it } from 'vitest';
import { SERVICE, errorsOf } from './manifests.js';
import { parseFiles } from '../../../src/manifest/index.js';

const s = (...lines: string[]): string => SERVICE + lines.map((l) => `${l}\n`).join('');
const r = (from: string, to: string): string => SERVICE.replace(from, to);
const NOT_YET = 'a Kubernetes field berth does not support yet';
const NO = 'a Kubernetes field berth does not support';

describe('Service validation', () => {
  it('reads a Service with Kubernetes\' defaults', () => {
    const { objects, errors } = parseFiles([{ path: 'svc.yaml', text: SERVICE }]);
    expect(errors).toEqual([]);
    expect(objects[0]).toMatchObject({
      kind: 'Service', namespace: 'default', name: 'web', path: 'svc.yaml', line: 1,
      spec: { type: 'ClusterIP', headless: false, selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }], sessionAffinity: 'None' },
    });
  });

  it.each([
    ['a target port by number', s('    targetPort: 8080'), { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] }],
    ['a target port by name', s('    name: http', '    targetPort: web-http'), { ports: [{ name: 'http', port: 80, targetPort: 'web-http', protocol: 'TCP' }] }],
    ['a NodePort with its port', s('    nodePort: 30080', '  type: NodePort'), { type: 'NodePort', ports: [{ port: 80, targetPort: 80, protocol: 'TCP', nodePort: 30080 }] }],
    ['a NodePort without (allocated later)', s('  type: NodePort'), { type: 'NodePort', ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] }],
    ['LoadBalancer (published on the nodes, as Kubernetes without a balancer)', s('  type: LoadBalancer'), { type: 'LoadBalancer' }],
    ['headless', s('  clusterIP: None'), { headless: true }],
    ['headless without ports', r('  ports:\n  - port: 80\n', '  clusterIP: None\n'), { headless: true, ports: [] }],
    ['sessionAffinity None and protocol TCP', s('    protocol: TCP', '  sessionAffinity: None'), { sessionAffinity: 'None' }],
  ])('accepts %s', (_, text, spec) => {
    const { objects, errors } = parseFiles([{ path: 'app.yaml', text }]);
    expect(errors).toEqual([]);
    expect(objects[0]?.spec).toMatchObject(spec);
  });

  it.each([
    ['UDP', s('    protocol: UDP'), ['app.yaml:10:15: spec.ports[0].protocol: berth forwards TCP only so far (UDP and SCTP Services are not supported yet); remove the port or use TCP']],
    ['ExternalName', s('  type: ExternalName'), ['app.yaml:10:9: spec.type: ExternalName is not supported by berth (it serves no DNS records of its own); write the external name where it is used']],
    ['a misspelt type', s('  type: Nodeport'), ['app.yaml:10:9: spec.type: must be one of ClusterIP, NodePort, LoadBalancer, ExternalName, not "Nodeport"; did you mean NodePort?']],
    ['a cluster IP', s('  clusterIP: 10.96.0.10'), ['app.yaml:10:14: spec.clusterIP: berth gives a Service a name, not a virtual IP: only `None` (a headless Service) may be written here; remove it']],
    ['ClientIP affinity', s('  sessionAffinity: ClientIP'), ['app.yaml:10:20: spec.sessionAffinity: ClientIP is not supported yet (berth spreads each connection over the ready pods); remove it or write None']],
    ['externalTrafficPolicy', s('  externalTrafficPolicy: Local'), [`app.yaml:10:3: spec.externalTrafficPolicy: ${NOT_YET} (a NodePort forwards to every ready pod, on any node); remove it`]],
    ['externalIPs', s('  externalIPs: [192.0.2.1]'), [`app.yaml:10:3: spec.externalIPs: ${NO} (berth publishes a Service on the nodes' addresses with \`type: NodePort\`); remove it`]],
    ['appProtocol', s('    appProtocol: http'), [`app.yaml:10:5: spec.ports[0].appProtocol: ${NO} (berth forwards TCP connections whatever they carry); remove it`]],
    ['a typo', s('    targetport: 8080'), ['app.yaml:10:5: spec.ports[0].targetport: unknown field; did you mean `targetPort`?']],
    ['no selector', r('  selector:\n    app: web\n', ''), ["app.yaml:6:3: spec.selector: must select pods by label (e.g. `app: web`): berth fills a Service's endpoints from the pods it selects, and has no Endpoints objects to fill one by hand"]],
    ['no ports', r('  ports:\n  - port: 80\n', ''), ['app.yaml:6:3: spec.ports: must have at least one port (only a headless Service, `clusterIP: None`, may have none)']],
    ['a port out of range', r('port: 80', 'port: 70000'), ['app.yaml:9:11: spec.ports[0].port: must be at most 65535, not 70000']],
    ['a target port name that is no port name', s('    targetPort: HTTP_1'), [`app.yaml:10:17: spec.ports[0].targetPort: "HTTP_1" is not a valid port name: at most 15 lowercase letters, digits and '-', with at least one letter, no '--', not starting or ending with '-' (e.g. "http")`]],
    ['a nodePort out of range', s('    nodePort: 8080', '  type: NodePort'), ['app.yaml:10:15: spec.ports[0].nodePort: must be at least 30000, not 8080']],
    ['a nodePort on a ClusterIP Service', s('    nodePort: 30080'), ['app.yaml:10:15: spec.ports[0].nodePort: may only be set when `type` is NodePort or LoadBalancer']],
    ['a headless NodePort', s('  type: NodePort', '  clusterIP: None'), ['app.yaml:10:9: spec.type: must be ClusterIP when `clusterIP` is None: a headless Service has no port to publish on the nodes']],
    ['two ports, one unnamed', s('    name: http', '  - port: 443', '    name: https', '  - port: 81'), ['app.yaml:13:5: spec.ports[2]: must have a `name` when a Service has more than one port']],
    ['a duplicate port', s('    name: a', '  - port: 80', '    name: b'), ['app.yaml:11:11: spec.ports[1].port: duplicate port 80/TCP in this Service']],
    ['a duplicate port name', s('    name: a', '  - port: 81', '    name: a'), ['app.yaml:12:11: spec.ports[1].name: duplicate port name "a" in this Service']],
    ['a wrong apiVersion', r('apiVersion: v1', 'apiVersion: apps/v1'), ['app.yaml:1:13: apiVersion: "apps/v1" is not supported for Service; use v1']],
    ['a status from a cluster', s('status: {loadBalancer: {}}'), ['app.yaml:10:9: status: set by the cluster, not by the repository; remove it']],
  ])('rejects %s', (_, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });

  it('refuses one nodePort asked for by two Services of a commit, at the second, naming the first', () => {
    const other = (name: string): string => s('    nodePort: 30080', '  type: NodePort').replace('name: web', `name: ${name}`);
    const { errors } = parseFiles([{ path: 'a.yaml', text: other('api') }, { path: 'b.yaml', text: `${other('web')}---\n${other('www')}` }]);
    expect(errors.map((e) => `${e.path}:${e.line}:${e.col}: ${e.message}`)).toEqual([
      'b.yaml:10:15: nodePort 30080 is already used by Service default/api at a.yaml:10:15; each nodePort is published once per node',
      'b.yaml:22:15: nodePort 30080 is already used by Service default/api at a.yaml:10:15; each nodePort is published once per node',
    ]);
  });
});
