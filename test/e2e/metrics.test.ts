import { describe, expect, inject, it } from 'vitest';
import { berthUpTestbed } from '../support/berth-up.js';
import { deploymentYaml } from '../support/manifests.js';
import { parsePrometheus, total } from '../support/prometheus.js';

// /metrics of a real `berth up`: each component's metrics move with what it does.
describe('/metrics', () => {
  const bed = berthUpTestbed('metrics');

  it('counts and times sync, the controller, the scheduler, the agent, Docker and etcd as they work', async () => {
    const work = await bed.repo();
    await work.write('app.yaml', deploymentYaml({ name: 'm', namespace: 'metrics', replicas: 1, image: inject('testImage'), command: ['sleep', '100000'] }));
    await work.commit('a pod');
    const started = Date.now() / 1000;
    const up = bed.up(work);
    const url = await up.api();
    const scrape = async (): Promise<ReturnType<typeof parsePrometheus>> => {
      const res = await fetch(`${url}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parsePrometheus(await res.text());
    };
    await up.until(async () => total((await scrape()).samples, 'berth_pods', { phase: 'Running' }) === 1, 'the pod running, on /metrics');

    // A refused commit, then a drift healed: a container killed from outside.
    await work.write('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n');
    await work.commit('a bad name');
    await up.until(async () => total((await scrape()).samples, 'berth_sync_commits_rejected_total', { source: 'default' }) === 1, 'the commit refused');
    const [victim] = await bed.running();
    await bed.docker('kill', victim?.id ?? 'none');
    const { types, samples } = await up.until(async () => {
      const m = await scrape();
      return total(m.samples, 'berth_drift_heal_seconds_count', { node: bed.node }) >= 1 && m;
    }, 'the drift healed, on /metrics');

    const moved: [string, Record<string, string>][] = [
      ['berth_sync_duration_seconds_count', { source: 'default', outcome: 'applied' }],
      ['berth_sync_duration_seconds_count', { source: 'default', outcome: 'rejected' }],
      ['berth_sync_objects_applied_total', { source: 'default', action: 'create' }],
      ['berth_status_deliveries_total', { source: 'default', result: 'delivered' }],
      ['berth_reconciles_total', { component: 'sync', result: 'ok' }],
      ['berth_reconciles_total', { component: 'controller', result: 'ok' }],
      ['berth_reconciles_total', { component: 'scheduler', result: 'ok' }],
      ['berth_reconciles_total', { component: 'agent', result: 'ok' }],
      ['berth_reconcile_duration_seconds_count', { component: 'agent' }],
      ['berth_scheduling_latency_seconds_count', {}],
      ['berth_container_operations_total', { operation: 'create', result: 'ok' }],
      ['berth_container_operations_total', { operation: 'start', result: 'ok' }],
      ['berth_container_operation_duration_seconds_count', { operation: 'create' }],
      ['berth_drift_events_total', { node: bed.node }],
      ['berth_etcd_request_duration_seconds_count', { operation: 'txn' }],
      ['berth_etcd_request_duration_seconds_count', { operation: 'range' }],
      ['berth_http_requests_total', { route: '/metrics' }],
      ['berth_source_commits', { source: 'default', outcome: 'applied' }],
      ['berth_nodes', {}],
    ];
    expect(moved.filter(([name, labels]) => !(total(samples, name, labels) > 0))).toEqual([]);
    expect(total(samples, 'berth_sync_last_success_timestamp_seconds', { source: 'default' })).toBeGreaterThan(started);
    expect(samples.some((s) => s.name === 'berth_status_outbox_backlog' && s.labels.source === 'default')).toBe(true);
    expect(samples.some((s) => s.name === 'berth_queue_depth' && s.labels.component === 'scheduler')).toBe(true);
    // Families named as Prometheus asks: counters end in _total, times in _seconds.
    for (const [name, type] of types) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
      if (type === 'histogram') expect(name).toMatch(/_seconds$/);
    }
    expect(types.get('berth_reconcile_errors_total')).toBe('counter');
    expect(types.get('berth_etcd_request_errors_total')).toBe('counter');
  }, 240_000);
});
