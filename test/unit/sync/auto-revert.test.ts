import { describe, expect, it } from 'vitest';
import type { HealthRecord, HistoryRecord, SealRecord } from '../../../src/store/index.js';
import { planAutoRevert, type AutoRevertInput } from '../../../src/sync/auto-revert.js';
import { revertMessage } from '../../../src/sync/revert-message.js';

const C = 'c'.repeat(40);
const R = 'f'.repeat(40);
const seal = (message = 'scale web'): SealRecord => ({
  type: 'seal', source: 'main', commit: C, revision: 9, time: '2030-01-01T00:00:00.000Z', author: 'Ada', message, counts: { objects: 1, created: 0, updated: 1, deleted: 0 },
});
const health = (state: HealthRecord['state'], reason: string, commit = C): HealthRecord => ({
  type: 'health', source: 'main', commit, state, reason, description: `${reason}: web-0`, conditions: [], time: '2030-01-01T00:01:00.000Z',
} as HealthRecord);
const base: AutoRevertInput = { seal: seal(), health: health('failure', 'CrashLoopBackOff'), history: [], tried: new Set(), suspended: false };
const revertApplied: HistoryRecord = { type: 'history', source: 'main', commit: R, outcome: 'applied', time: 't', author: 'berth', message: 'Revert', errors: [], reverts: [C] };

describe('planAutoRevert', () => {
  it.each([
    ['a crash loop of the commit in force', {}, { commit: C, reason: 'CrashLoopBackOff: web-0' }],
    ['an image pull failure', { health: health('failure', 'ErrImagePull') }, { commit: C, reason: 'ErrImagePull: web-0' }],
    ['a progress deadline passed', { health: health('failure', 'ProgressDeadlineExceeded') }, { commit: C, reason: 'ProgressDeadlineExceeded: web-0' }],
    ['drift', { health: health('failure', 'Drifted') }, undefined],
    ['a lost node', { health: health('failure', 'NodeLost') }, undefined],
    ['a name held by another source', { health: health('failure', 'Conflict') }, undefined],
    ['health still pending', { health: health('pending', 'RollingOut') }, undefined],
    ['success', { health: health('success', 'Running') }, undefined],
    ['the failure of an earlier commit', { health: health('failure', 'CrashLoopBackOff', 'e'.repeat(40)) }, undefined],
    ['a commit that is itself a revert', { seal: seal(revertMessage('scale web', 'e'.repeat(40))) }, undefined],
    ['a commit reverted already', { history: [revertApplied] }, undefined],
    ['a commit this process tried already', { tried: new Set([C]) }, undefined],
    ['a suspended source', { suspended: true }, undefined],
    ['no seal yet', { seal: undefined }, undefined],
  ] as [string, Partial<AutoRevertInput>, ReturnType<typeof planAutoRevert>][])('%s', (_what, change, expected) => {
    expect(planAutoRevert({ ...base, ...change })).toEqual(expected);
  });
});
