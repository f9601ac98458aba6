import { describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, UnavailableError } from '../../src/errors.js';
import { componentRegistry, countReconcile, timedContainerOp, timedEtcd } from '../../src/metrics.js';
import { parsePrometheus, total } from '../support/prometheus.js';

const samples = async (): Promise<ReturnType<typeof parsePrometheus>['samples']> => parsePrometheus(await componentRegistry.metrics()).samples;

describe('component metrics', () => {
  it.each([
    ['a pass that worked', undefined, 'ok', undefined],
    ['an input error', new InvalidInputError('E', 'bad'), 'input', 'input'],
    ['a lost compare-and-swap', new ConflictError('E', 'lost'), 'conflict', 'conflict'],
    ['etcd away', new UnavailableError('E', 'down'), 'unavailable', 'unavailable'],
    ['a bug', new Error('boom'), 'unexpected', 'unexpected'],
  ])('a reconcile: %s', async (_name, err, result, kind) => {
    const component = `unit-${result}`;
    const before = await samples();
    countReconcile(component, 0.01, err);
    const after = await samples();
    const delta = (name: string, labels: Record<string, string>): number => total(after, name, labels) - total(before, name, labels);
    expect(delta('berth_reconciles_total', { component, result })).toBe(1);
    expect(delta('berth_reconcile_duration_seconds_count', { component })).toBe(1);
    expect(delta('berth_reconcile_errors_total', { component })).toBe(kind === undefined ? 0 : 1);
    if (kind) expect(delta('berth_reconcile_errors_total', { component, kind })).toBe(1);
  });

  it('times Docker and etcd operations, counting failures', async () => {
    const before = await samples();
    await timedContainerOp('unit-op', async () => 'done');
    await expect(timedContainerOp('unit-op', async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await expect(timedEtcd('unit-op', async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    const after = await samples();
    const delta = (name: string, labels: Record<string, string>): number => total(after, name, labels) - total(before, name, labels);
    expect(delta('berth_container_operations_total', { operation: 'unit-op', result: 'ok' })).toBe(1);
    expect(delta('berth_container_operations_total', { operation: 'unit-op', result: 'error' })).toBe(1);
    expect(delta('berth_container_operation_duration_seconds_count', { operation: 'unit-op' })).toBe(2);
    expect(delta('berth_etcd_request_errors_total', { operation: 'unit-op' })).toBe(1);
    expect(delta('berth_etcd_request_duration_seconds_count', { operation: 'unit-op' })).toBe(1);
  });
});
