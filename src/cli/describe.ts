// `berth describe deployment|pod|node|source NAME`: one object told whole, read through the API
// server (or etcd with --etcd), printed as kubectl describe prints it, or -o json|yaml.
import { DESCRIBE_RESOURCES } from '../api/describe-read.js';
import { deploymentText, nodeText, podText, sourceText } from '../api/describe-text.js';
import type { DeploymentDescription, NodeDescription, PodDescription, SourceDescription } from '../api/describe.js';
import { UsageError } from '../errors.js';
import { readResource, warnSkipped, type ReadFlags } from './connect.js';
import { renderData } from './format.js';

/** Flags of `berth describe`. */
export interface DescribeFlags extends ReadFlags {
  namespace?: string;
}

/** The kinds `describe` knows, the words kubectl users type for them, and how each prints. */
const KINDS: Record<string, { plural: string; namespaced: boolean; text: (d: unknown) => string }> = {
  pods: { plural: 'pods', namespaced: true, text: (d) => podText(d as PodDescription) },
  deployments: { plural: 'deployments', namespaced: true, text: (d) => deploymentText(d as DeploymentDescription) },
  nodes: { plural: 'nodes', namespaced: false, text: (d) => nodeText(d as NodeDescription) },
  sources: { plural: 'sources', namespaced: false, text: (d) => sourceText(d as SourceDescription) },
};
const ALIASES: Record<string, string> = { pod: 'pods', po: 'pods', deployment: 'deployments', deploy: 'deployments', node: 'nodes', no: 'nodes', source: 'sources' };

/** The kind words `describe` takes (for help and completion). */
export const DESCRIBE_KINDS = ['deployment', 'pod', 'node', 'source'] as const;

/** Print the description of KIND NAME; a NAME that is not there exits 1 with one line. */
export async function runDescribe(kindWord: string, name: string, flags: DescribeFlags): Promise<void> {
  const word = kindWord.toLowerCase();
  const kind = KINDS[ALIASES[word] ?? word];
  if (kind === undefined) throw new UsageError('EKIND', `unknown kind "${kindWord}"`, { hint: `berth describe knows ${DESCRIBE_KINDS.join(', ')}` });
  const path = `describe/${kind.plural}`;
  const local = DESCRIBE_RESOURCES.find((r) => r.path === path);
  if (local === undefined) throw new Error(`no read endpoint ${path}`);
  const q = { name, ...(kind.namespaced && flags.namespace !== undefined ? { namespace: flags.namespace } : {}) };
  const found = await readResource(flags, path, q, local);
  warnSkipped(flags, found.skipped);
  if (flags.output !== 'table') {
    process.stdout.write(renderData(found.items.length === 1 ? found.items[0] : { items: found.items }, flags.output));
    return;
  }
  process.stdout.write(found.items.map(kind.text).join('\n'));
}
