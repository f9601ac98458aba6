import { describe, expect, it } from 'vitest';
import { pullPolicyOf } from '../../../src/agent/pull.js';

describe('pullPolicyOf', () => {
  it.each([
    ['busybox', undefined, 'Always'],
    ['busybox:latest', undefined, 'Always'],
    ['localhost:5000/team/app', undefined, 'Always'],
    ['localhost:5000/team/app:latest', undefined, 'Always'],
    ['busybox:1.36', undefined, 'IfNotPresent'],
    ['localhost:5000/team/app:v2', undefined, 'IfNotPresent'],
    ['busybox@sha256:0123', undefined, 'IfNotPresent'],
    ['busybox:latest', 'IfNotPresent', 'IfNotPresent'],
    ['busybox:1.36', 'Always', 'Always'],
    ['busybox', 'Never', 'Never'],
  ] as const)('%s with %s → %s', (image, imagePullPolicy, want) => {
    expect(pullPolicyOf({ image, ...(imagePullPolicy ? { imagePullPolicy } : {}) })).toBe(want);
  });
});
