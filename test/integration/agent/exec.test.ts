// The agent's exec endpoint on real Docker: what a client sends the moment its socket opens (its
// terminal's size, then what it types) reaches the command in that order, even while Docker is still
// starting the exec.
import { describe, expect, inject, it } from 'vitest';
import { CHANNEL, connectChannels, frame, unframe } from '../../../src/channels.js';
import { silentLogger } from '../../../src/log.js';
import { startNodeServer } from '../../../src/agent/node-server.js';
import type { BindingRecord } from '../../../src/store/records.js';
import { agentTestbed } from '../../support/agent-testbed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const bed = agentTestbed('exec');
const TOKEN = 'exec-test-token';

function binding(node: string, pod: string): BindingRecord {
  return {
    type: 'binding', node, namespace: 'default', pod, templateHash: 'h1', commit: 'c1',
    template: { labels: {}, nodeSelector: {}, restartPolicy: 'Always', containers: [{ name: 'box', image: bed.image, command: ['sleep', '3600'], args: [], env: [], ports: [], resources: { requests: {}, limits: {} } }] },
  };
}

describe('the agent\'s exec endpoint', () => {
  it('gives the command the terminal size and the input sent as the socket opens, in that order', async () => {
    const node = uniqueName('node');
    await bed.start(node);
    await bed.bind(binding(node, 'shell'));
    await waitFor(async () => (await bed.members(node)).some((c) => c.state === 'running'), { timeoutMs: 60_000, what: 'the pod running' });
    const server = await startNodeServer({ store: bed.store, log: silentLogger(), node, docker: inject('dockerHost'), token: TOKEN, listen: { host: '127.0.0.1', port: 0 } });
    try {
      for (let round = 0; round < 10; round++) {
        const ws = await connectChannels(`${server.url}/exec/default/shell?command=sh&stdin=1&tty=1`, TOKEN);
        // No wait for a prompt: both go out before Docker has started the exec.
        ws.send(frame(CHANNEL.resize, JSON.stringify({ Width: 91, Height: 27 })));
        ws.send(frame(CHANNEL.stdin, 'stty size; exit 5\n'));
        const { output, status } = await new Promise<{ output: string; status: string }>((resolve, reject) => {
          let out = '';
          setTimeout(() => reject(new Error(`round ${round}: no exit after 20 s; the command printed ${JSON.stringify(out)}`)), 20_000).unref();
          ws.on('message', (data) => {
            const m = unframe(data);
            if (m?.channel === CHANNEL.stdout) out += m.payload.toString();
            if (m?.channel === CHANNEL.status) resolve({ output: out, status: m.payload.toString() });
          });
        });
        expect(output).toMatch(/\r?\n27 91\r?\n/);
        expect(JSON.parse(status)).toEqual({ exitCode: 5 });
      }
    } finally {
      await server.stop();
    }
  });
});
