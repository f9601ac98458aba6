import { describe, expect, it } from 'vitest';
import { parseAllow, refusal, violations, type AllowRule } from '../../../src/agent/policy.js';
import type { ContainerSpec, PodTemplate } from '../../../src/manifest/types.js';
import { BerthError } from '../../../src/errors.js';

const app = (securityContext?: ContainerSpec['securityContext']): ContainerSpec => ({
  name: 'app',
  image: 'x:1',
  command: [],
  args: [],
  env: [],
  ports: [],
  resources: { requests: {}, limits: {} },
  ...(securityContext ? { securityContext } : {}),
});
const pod = (over: Partial<PodTemplate> = {}): PodTemplate => ({ labels: {}, containers: [app()], nodeSelector: {}, restartPolicy: 'Always', ...over });

describe('operator policy', () => {
  it.each<[string, PodTemplate, AllowRule[], string[]]>([
    ['a plain pod needs nothing', pod(), [], []],
    ['what only restricts needs nothing', pod({ containers: [app({ privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } })], hostNetwork: false }), [], []],
    ['privileged', pod({ containers: [app({ privileged: true })] }), [], ['privileged containers[app].securityContext.privileged']],
    ['privileged, allowed', pod({ containers: [app({ privileged: true })] }), ['privileged'], []],
    ['a privileged init container', pod({ containers: [app()], initContainers: [{ ...app({ privileged: true }), name: 'setup' }] }), [], ['privileged initContainers[setup].securityContext.privileged']],
    ['added capabilities', pod({ containers: [app({ capabilities: { add: ['NET_ADMIN'] } })] }), ['privileged'], ['capabilities containers[app].securityContext.capabilities.add']],
    ['host namespaces', pod({ hostNetwork: true, hostPID: true, hostIPC: true }), ['hostPID'], ['hostNetwork hostNetwork', 'hostIPC hostIPC']],
    ['an Unconfined seccomp profile, pod and container', pod({ securityContext: { seccompProfile: { type: 'Unconfined' } }, containers: [app({ seccompProfile: { type: 'Unconfined' } })] }), [], ['seccompUnconfined securityContext.seccompProfile', 'seccompUnconfined containers[app].securityContext.seccompProfile']],
    ['a hostPath volume', pod({ volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }, { name: 'e', emptyDir: {} }] }), [], ['hostPath volumes[logs].hostPath']],
    ['a hostPath volume, allowed', pod({ volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }] }), ['hostPath'], []],
  ])('%s', (_name, t, allowed, want) => {
    expect(violations(t, new Set(allowed)).map((v) => `${v.rule} ${v.field}`)).toEqual(want);
  });

  it('names the fields, the rules and the flag', () => {
    expect(refusal(violations(pod({ hostNetwork: true, containers: [app({ privileged: true })] }), new Set()), 'n1')).toBe(
      'hostNetwork, containers[app].securityContext.privileged need what only the operator of node n1 may allow (hostNetwork, privileged); it runs them with berth agent --allow hostNetwork,privileged',
    );
  });

  it.each([
    [['privileged,hostNetwork', 'hostPID'], ['privileged', 'hostNetwork', 'hostPID']],
    [[' capabilities , '], ['capabilities']],
    [[], []],
  ])('parseAllow %j', (values, want) => {
    expect([...parseAllow(values)]).toEqual(want);
  });

  it('refuses an unknown rule, naming the known ones', () => {
    expect(() => parseAllow(['privileged,hostMount'])).toThrow(BerthError);
    expect(() => parseAllow(['root'])).toThrow('--allow "root": not a rule berth knows');
  });
});
