import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { PodNetwork } from '../../../src/agent/pod-network.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

/** A logger whose JSON lines are kept in `lines`. */
function recording(): { lines: { msg: string; why?: string }[]; log: ReturnType<typeof createLogger> } {
  const lines: { msg: string; why?: string }[] = [];
  const destination = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as { msg: string; why?: string }); done(); } });
  return { lines, log: createLogger({ level: 'info', format: 'json', destination }) };
}

describe('PodNetwork', () => {
  it('gives the static addresses of a network made with a subnet, made once and asked again only after a while or when forgotten', async () => {
    const runtime = new FakeRuntime();
    let now = 0;
    const { log } = recording();
    const net = new PodNetwork(runtime, 'pods', { 'berth.pod-network': 'pods' }, log, () => now);
    let asked = 0;
    const ensure = runtime.ensureNetwork.bind(runtime);
    runtime.ensureNetwork = async (name, labels) => (asked++, ensure(name, labels));
    expect(await net.statics()).toEqual({ id: 'pods', pool: { first: 0x0a588000, size: 32767 } });
    now = 29_000;
    await net.statics();
    expect(asked).toBe(1);
    now = 31_000;
    await net.statics();
    expect(asked).toBe(2);
    net.forget();
    await net.info();
    expect(asked).toBe(3);
    expect(runtime.networks.get('pods')).toEqual({ 'berth.pod-network': 'pods' });
  });

  it('says once why a network without static addresses (an older berth\'s) puts every pod in a sandbox', async () => {
    const { lines, log } = recording();
    const net = new PodNetwork(new FakeRuntime({ subnets: false }), 'pods', {}, log, () => 0);
    expect(await net.statics()).toBeUndefined();
    expect(await net.statics()).toBeUndefined();
    expect(lines.map((l) => [l.msg, l.why])).toEqual([['the pod network has no static addresses: every pod runs in a sandbox (remove the network while no pod uses it, and the agent makes it again with a subnet)', 'it has no IPv4 subnet']]);
  });

  it('is unknown while Docker cannot be reached (the sandboxes\' creation says why), not none', async () => {
    const runtime = new FakeRuntime();
    runtime.setDown(true);
    expect(await new PodNetwork(runtime, 'pods', {}, recording().log).statics()).toBe('unknown');
  });
});
