import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { listKey } from '../../../src/agent/docker-shapes.js';
import { InspectCache } from '../../../src/agent/inspect-cache.js';
import type { Container } from '../../../src/agent/runtime.js';

const NODE = { 'berth.node': 'n1' };
const c = (id: string, labels: Record<string, string> = NODE): Container => ({ id, name: id, labels, image: 'i', state: 'running', ports: [] });

/** A cache with a settled stream of `NODE`'s containers and container a kept under key k. */
function warm(): { cache: InspectCache; token: number } {
  const cache = new InspectCache();
  const token = cache.watching(NODE);
  cache.done(cache.begin(), 'a', 'k', NODE, c('a'));
  return { cache, token };
}

describe('InspectCache', () => {
  it('keeps an inspect while its list entry is the same', () => {
    const { cache } = warm();
    expect(cache.lookup('a', 'k')?.id).toBe('a');
    expect(cache.lookup('a', 'k2')).toBeUndefined();
  });

  it.each([
    ['a die event', (x: InspectCache) => x.touch('a', 'die')],
    ['a start event (a restart from outside: its list entry may not change)', (x: InspectCache) => x.touch('a', 'start')],
    ['an oom event (Docker 20.10 records an OOM kill after the exit)', (x: InspectCache) => x.touch('a', 'oom')],
    ['a call of this process', (x: InspectCache) => x.touch('a')],
    ['an unknown action', (x: InspectCache) => x.touch('a', 'something-new')],
  ])('drops an inspect on %s', (_what, change) => {
    const { cache } = warm();
    change(cache);
    expect(cache.lookup('a', 'k')).toBeUndefined();
  });

  it.each(['exec_create', 'exec_start', 'exec_die', 'attach', 'resize'])('keeps an inspect through %s (a probe’s exec)', (action) => {
    const { cache } = warm();
    cache.touch('a', action);
    expect(cache.lookup('a', 'k')?.id).toBe('a');
  });

  it('does not keep an inspect that a change overtook while it ran', () => {
    const { cache } = warm();
    const at = cache.begin();
    cache.touch('b', 'start');
    const other = cache.begin();
    cache.done(at, 'b', 'kb', NODE, c('b'));
    cache.done(other, 'c', 'kc', NODE, c('c'));
    expect(cache.lookup('b', 'kb')).toBeUndefined();
    // Another container's change does not spoil it.
    expect(cache.lookup('c', 'kc')?.id).toBe('c');
  });

  it('keeps nothing without a settled stream, or under labels no stream covers', () => {
    const cache = new InspectCache();
    cache.done(cache.begin(), 'a', 'k', NODE, c('a'));
    expect(cache.lookup('a', 'k')).toBeUndefined();
    cache.watching({ ...NODE, 'berth.pod': 'p' });
    cache.done(cache.begin(), 'a', 'k', NODE, c('a'));
    expect(cache.lookup('a', 'k')).toBeUndefined();
    // A narrower list is heard by the node's stream.
    cache.watching(NODE);
    cache.done(cache.begin(), 'a', 'k', { ...NODE, 'berth.pod': 'p' }, c('a'));
    expect(cache.lookup('a', 'k')?.id).toBe('a');
  });

  it('drops everything when a stream breaks, and keeps nothing begun before another settles', () => {
    const { cache, token } = warm();
    const at = cache.begin();
    cache.unwatch(token);
    expect(cache.lookup('a', 'k')).toBeUndefined();
    cache.watching(NODE);
    cache.done(at, 'a', 'k', NODE, c('a'));
    expect(cache.lookup('a', 'k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('forgets containers a list of their labels no longer finds, and only those', () => {
    const { cache } = warm();
    cache.watching({ 'berth.service-node': 'n1' });
    cache.done(cache.begin(), 's', 'ks', { 'berth.service-node': 'n1' }, c('s', { 'berth.service-node': 'n1' }));
    cache.retain(NODE, new Set());
    expect(cache.lookup('a', 'k')).toBeUndefined();
    expect(cache.lookup('s', 'ks')?.id).toBe('s');
  });
});

describe('listKey', () => {
  const info = (over: Partial<Docker.ContainerInfo>): Docker.ContainerInfo => ({
    Id: 'a', Names: ['/a'], Image: 'i', ImageID: 'x', Command: 'sh', Created: 1, Ports: [], Labels: {}, State: 'running', Status: 'Up 5 seconds',
    HostConfig: { NetworkMode: 'berth' }, NetworkSettings: { Networks: {} }, Mounts: [], ...over,
  });

  it.each([
    ['Up 5 seconds', 'Up 2 minutes'],
    ['Exited (137) 3 seconds ago', 'Exited (137) About a minute ago'],
    ['Up Less than a second (Paused)', 'Up 3 hours (Paused)'],
  ])('is the same for %s and %s (only time passed)', (a, b) => {
    expect(listKey(info({ Status: a }))).toBe(listKey(info({ Status: b })));
  });

  it.each<[string, Partial<Docker.ContainerInfo>]>([
    ['another exit code', { State: 'exited', Status: 'Exited (1) 3 seconds ago' }],
    ['another state', { State: 'exited' }],
    ['paused', { Status: 'Up 5 seconds (Paused)' }],
    ['made again under the name', { Created: 2 }],
    ['renamed', { Names: ['/b'] }],
    ['another address', { NetworkSettings: { Networks: { berth: { IPAddress: '172.18.0.9' } as Docker.NetworkInfo } } }],
    ['another published port', { Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 32768, Type: 'tcp' }] }],
  ])('changes when %s', (_what, over) => {
    expect(listKey(info(over))).not.toBe(listKey(info({})));
  });
});
