import { describe, expect, it } from 'vitest';
import { STOP_LABEL, stopLabels, stopPlanOf } from '../../../src/agent/stop.js';
import type { PodTemplate } from '../../../src/manifest/types.js';
import { spec } from './fixtures.js';

// How a container stops rides on its labels: written at create time from the pod, read back at removal.
const template = (over: Partial<PodTemplate> = {}): PodTemplate => ({ labels: {}, containers: [], nodeSelector: {}, restartPolicy: 'Always', ...over });
const get = (port: number | string) => ({ path: '/quit', port, scheme: 'HTTP' as const, httpHeaders: [] });

describe('stop labels', () => {
  it.each([
    ['nothing asked: no labels', template(), spec('app'), {}],
    ['a grace period', template({ terminationGracePeriodSeconds: 5 }), spec('app'), { [STOP_LABEL.grace]: '5' }],
    ['an exec hook', template(), spec('app', { lifecycle: { preStop: { exec: { command: ['sleep', '1'] } } } }), { [STOP_LABEL.preStop]: '{"exec":{"command":["sleep","1"]}}' }],
    [
      'an httpGet hook by port name, resolved',
      template(),
      spec('app', { ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }], lifecycle: { preStop: { httpGet: get('http') } } }),
      { [STOP_LABEL.preStop]: '{"httpGet":{"path":"/quit","port":8080,"scheme":"HTTP","httpHeaders":[]}}' },
    ],
  ])('%s', (_, t, c, labels) => {
    expect(stopLabels(t, c)).toEqual(labels);
  });

  it.each([
    ['no labels: the fallback grace', {}, { graceSeconds: 10 }],
    ['its own grace', { [STOP_LABEL.grace]: '0' }, { graceSeconds: 0 }],
    ['a garbled grace: the fallback', { [STOP_LABEL.grace]: 'soon' }, { graceSeconds: 10 }],
    ['an exec hook', { [STOP_LABEL.preStop]: '{"exec":{"command":["x"]}}' }, { graceSeconds: 10, preStop: { exec: { command: ['x'] } } }],
    ['an httpGet hook', { [STOP_LABEL.preStop]: '{"httpGet":{"path":"/q","port":80}}' }, { graceSeconds: 10, preStop: { httpGet: { path: '/q', port: 80, scheme: 'HTTP', httpHeaders: [] } } }],
    ['a garbled hook: none', { [STOP_LABEL.preStop]: '{"exec":' }, { graceSeconds: 10 }],
  ])('read back: %s', (_, labels, plan) => {
    expect(stopPlanOf({ labels }, 10)).toEqual(plan);
  });
});
