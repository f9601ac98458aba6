// npm run bench -- NAME [--json]: run one benchmark (or all) and report it against its named peer.
import { agentBench } from './agent.js';
import { controlPlane } from './control-plane.js';
import { e2eLatency } from './e2e-latency.js';
import { hostile } from './hostile.js';
import { large } from './large.js';
import { mirror } from './mirror.js';
import { parse } from './parse.js';
import { resilience } from './resilience.js';
import { scheduler } from './scheduler.js';
import { services } from './services.js';
import { sync } from './sync.js';
import type { Bench, Result } from './result.js';
import { formatResult } from './result.js';

const benches: Record<string, Bench> = { agent: agentBench, 'control-plane': controlPlane, 'e2e-latency': e2eLatency, hostile, large, mirror, parse, resilience, scheduler, services, sync };

const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !(n in benches));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}\n`);
  process.exit(2);
}
for (const name of names.length > 0 ? names : Object.keys(benches)) {
  const bench = benches[name];
  if (!bench) continue;
  const results: Result[] = await bench.run((line) => process.stderr.write(`${line}\n`));
  for (const r of results) process.stdout.write(`${json ? JSON.stringify(r) : formatResult(r)}\n`);
}
process.exit(0);
