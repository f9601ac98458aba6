import { describe, expect, it } from 'vitest';
import { dockerUser, needsImageUser, nonRootViolation, runSecurityOf, securityHostConfig, type RunSecurity, type SecurityHostConfig } from '../../../src/agent/security.js';

describe('runSecurityOf: the container wins over the pod', () => {
  it.each([
    ['nothing asked', {}, {}, undefined],
    ['the pod alone', { securityContext: { runAsUser: 10, runAsGroup: 20, runAsNonRoot: true } }, {}, { runAsUser: 10, runAsGroup: 20, runAsNonRoot: true }],
    ['the container wins', { securityContext: { runAsUser: 10, runAsNonRoot: true } }, { securityContext: { runAsUser: 11, runAsNonRoot: false } }, { runAsUser: 11, runAsNonRoot: false }],
    [
      'container-only fields',
      {},
      { securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false as const } },
      { readOnlyRootFilesystem: true, noNewPrivileges: true, capDrop: ['ALL'] },
    ],
    ['allowPrivilegeEscalation true is Docker’s default', {}, { securityContext: { allowPrivilegeEscalation: true } }, undefined],
    ['an empty drop list drops nothing', {}, { securityContext: { capabilities: { drop: [] } } }, undefined],
    ['fsGroup then supplementalGroups, once each', { securityContext: { fsGroup: 2000, supplementalGroups: [3000, 2000] } }, {}, { groupAdd: [2000, 3000] }],
    [
      'what only an operator may allow',
      { hostNetwork: true, hostPID: true, hostIPC: true, securityContext: { seccompProfile: { type: 'Unconfined' as const } } },
      { securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } } },
      { privileged: true, capAdd: ['NET_ADMIN'], seccompUnconfined: true, hostNetwork: true, hostPID: true, hostIPC: true },
    ],
    ['the container’s RuntimeDefault wins over the pod’s Unconfined', { securityContext: { seccompProfile: { type: 'Unconfined' as const } } }, { securityContext: { seccompProfile: { type: 'RuntimeDefault' as const } } }, undefined],
  ])('%s', (_what, pod, container, want) => {
    expect(runSecurityOf(pod, container)).toEqual(want);
  });
});

describe('securityHostConfig: what Docker is told', () => {
  it.each<[string, RunSecurity, SecurityHostConfig]>([
    ['nothing', {}, {}],
    ['restrictions', { readOnlyRootFilesystem: true, noNewPrivileges: true, capDrop: ['ALL'] }, { ReadonlyRootfs: true, SecurityOpt: ['no-new-privileges'], CapDrop: ['ALL'] }],
    ['groups', { groupAdd: [2000, 3000] }, { GroupAdd: ['2000', '3000'] }],
    [
      'what an operator allowed',
      { privileged: true, capAdd: ['NET_ADMIN'], seccompUnconfined: true, noNewPrivileges: true, hostNetwork: true, hostPID: true, hostIPC: true },
      { Privileged: true, CapAdd: ['NET_ADMIN'], SecurityOpt: ['no-new-privileges', 'seccomp=unconfined'], PidMode: 'host', IpcMode: 'host' },
    ],
  ])('%s', (_what, s, want) => {
    expect(securityHostConfig(s)).toEqual(want);
  });
});

describe('runAsNonRoot against the image user (kubelet’s rule)', () => {
  const nonRoot: RunSecurity = { runAsNonRoot: true };
  it.each([
    ['no runAsNonRoot', undefined, '', undefined],
    ['image runs as root (no USER)', nonRoot, '', /image will run as root/],
    ['image USER root', nonRoot, 'root', /image will run as root/],
    ['image USER 0:0', nonRoot, '0:0', /image will run as root/],
    ['image USER 1000', nonRoot, '1000', undefined],
    ['image USER 1000:staff', nonRoot, '1000:staff', undefined],
    ['image USER nginx', nonRoot, 'nginx', /non-numeric user \(nginx\), cannot verify user is non-root/],
    ['runAsUser 1000 on a root image', { runAsNonRoot: true, runAsUser: 1000 }, '', undefined],
    ['runAsUser 0', { runAsNonRoot: true, runAsUser: 0 }, '1000', /runAsUser breaks non-root policy/],
  ])('%s', (_what, s, imageUser, want) => {
    const v = nonRootViolation(s, imageUser);
    if (want === undefined) expect(v).toBeUndefined();
    else expect(v).toMatch(want);
  });
});

describe('dockerUser', () => {
  it.each([
    [undefined, '', undefined, false],
    [{ readOnlyRootFilesystem: true }, '', undefined, false],
    [{ runAsUser: 1000 }, 'app', '1000', false],
    [{ runAsUser: 1000, runAsGroup: 2000 }, '', '1000:2000', false],
    [{ runAsGroup: 2000 }, 'app:staff', 'app:2000', true],
    [{ runAsGroup: 2000 }, '', '0:2000', true],
    [{ runAsNonRoot: true }, '', undefined, true],
  ] as [RunSecurity | undefined, string, string | undefined, boolean][])('%o with image user %j → %j', (s, imageUser, want, needs) => {
    expect(dockerUser(s, imageUser)).toBe(want);
    expect(needsImageUser(s)).toBe(needs);
  });
});
