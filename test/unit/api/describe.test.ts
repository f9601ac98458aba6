import { describe, expect, it } from 'vitest';
import { deploymentConditions, probeText } from '../../../src/api/describe.js';
import type { DeploymentView } from '../../../src/api/views.js';

const timing = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

describe('probeText: a probe in kubectl describe\'s words', () => {
  it.each([
    [{ ...timing, httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' as const, httpHeaders: [] } }, 'http-get http://:8080/ready delay=0s timeout=1s period=10s #success=1 #failure=3'],
    [{ ...timing, tcpSocket: { port: 'http' } }, 'tcp-socket :http delay=0s timeout=1s period=10s #success=1 #failure=3'],
    [{ ...timing, grpc: { port: 9090, service: '' } }, 'grpc <pod>:9090 delay=0s timeout=1s period=10s #success=1 #failure=3'],
    [{ ...timing, exec: { command: ['cat', '/tmp/ok'] }, initialDelaySeconds: 5 }, 'exec [cat /tmp/ok] delay=5s timeout=1s period=10s #success=1 #failure=3'],
  ])('%j', (probe, text) => {
    expect(probeText(probe)).toBe(text);
  });
});

describe('deploymentConditions', () => {
  const view = (available: number, upToDate: number): DeploymentView => ({
    namespace: 'shop', name: 'web', source: 'main', ready: `${available}/2`, replicas: 2, readyReplicas: available, upToDate, available, commit: 'c1c1c1c', images: [],
  });
  it.each([
    { name: 'all available', view: view(2, 2), pods: [], available: ['True', 'MinimumReplicasAvailable'], progressing: ['True', 'NewReplicaSetAvailable'] },
    { name: 'rolling', view: view(1, 1), pods: [{ name: 'web-1', status: 'Pending' }], available: ['False', 'MinimumReplicasUnavailable'], progressing: ['True', 'ReplicaSetUpdated'] },
    { name: 'a pod in a crash loop', view: view(1, 2), pods: [{ name: 'web-1', status: 'CrashLoopBackOff' }], available: ['False', 'MinimumReplicasUnavailable'], progressing: ['False', 'CrashLoopBackOff'] },
    { name: 'an init container that cannot pull', view: view(0, 2), pods: [{ name: 'web-0', status: 'Init:ErrImagePull' }], available: ['False', 'MinimumReplicasUnavailable'], progressing: ['False', 'Init:ErrImagePull'] },
  ])('$name', ({ view: v, pods, available, progressing }) => {
    const [a, p] = deploymentConditions(v, pods);
    expect([a?.type, a?.status, a?.reason]).toEqual(['Available', ...available]);
    expect([p?.type, p?.status, p?.reason]).toEqual(['Progressing', ...progressing]);
  });
});
