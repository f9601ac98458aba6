// `berth get pods|deployments|services|endpoints|nodes [NAME] [--watch]`: read (through the API server, or etcd with --etcd), print.
import { UsageError } from '../errors.js';
import type { ReadQuery } from '../api/resources.js';
import type { KindNames } from '../api/select.js';
import { deploymentTable, endpointsTable, nodeTable, podTable, serviceTable, type Table } from '../api/tables.js';
import type { DeploymentView, NodeView, PodView, ServiceView } from '../api/views.js';
import { serverFor } from './client.js';
import { readResource, warnSkipped, type ReadFlags } from './connect.js';
import { listOrOne, renderData, renderTable, type GET_FORMATS } from './format.js';

/** Flags of `berth get`. */
export interface GetFlags extends Omit<ReadFlags, 'output'> {
  output: (typeof GET_FORMATS)[number];
  namespace?: string;
  allNamespaces?: boolean;
  watch?: boolean;
}

/** The kinds `get` knows, with the words kubectl users type for them. */
const KINDS: Record<string, KindNames> = {
  pods: { singular: 'pod', plural: 'pods' },
  deployments: { singular: 'deployment', plural: 'deployments' },
  nodes: { singular: 'node', plural: 'nodes' },
  services: { singular: 'service', plural: 'services' },
  endpoints: { singular: 'endpoints', plural: 'endpoints' },
};
const ALIASES: Record<string, string> = {
  pod: 'pods', po: 'pods', deployment: 'deployments', deploy: 'deployments', node: 'nodes', no: 'nodes', service: 'services', svc: 'services', ep: 'endpoints',
};

/** How each kind's rows (the API's views) print, with or without the NAMESPACE column and -o wide's extra ones. */
const TABLES: Record<string, (items: unknown[], o: { namespaceColumn: boolean; wide: boolean }) => Table> = {
  pods: (items, o) => podTable(items as PodView[], o),
  deployments: (items, o) => deploymentTable(items as DeploymentView[], o),
  nodes: (items) => nodeTable(items as NodeView[]),
  services: (items, o) => serviceTable(items as ServiceView[], o),
  endpoints: (items, o) => endpointsTable(items as ServiceView[], o),
};
/** The read endpoint of each kind: a Service's endpoints are rows of the services one. */
const RESOURCE: Record<string, string> = { endpoints: 'services' };

/** `berth get KIND [NAME]`: every namespace unless -n; a NAME that is not there exits 1 with one line. */
export async function runGet(kindWord: string, name: string | undefined, flags: GetFlags): Promise<void> {
  const word = kindWord.toLowerCase();
  const kind = KINDS[ALIASES[word] ?? word];
  const table = kind && TABLES[kind.plural];
  if (kind === undefined || table === undefined) {
    throw new UsageError('EKIND', `unknown kind "${kindWord}"`, { hint: 'berth get knows pods, deployments, services, endpoints and nodes' });
  }
  // -A wins over -n, as in kubectl.
  const namespace = flags.allNamespaces ? undefined : flags.namespace;
  const q: Omit<ReadQuery, 'watch'> = {
    ...(namespace === undefined || kind.plural === 'nodes' ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
  };
  const tableOf = (items: unknown[]): Table => table(items, { namespaceColumn: namespace === undefined, wide: flags.output === 'wide' });
  const resource = RESOURCE[kind.plural] ?? kind.plural;
  if (flags.watch) return watchGet(resource, q, flags, tableOf);

  const found = await readResource(flags, resource, q);
  warnSkipped(flags, found.skipped);
  if (flags.output !== 'table' && flags.output !== 'wide') {
    process.stdout.write(renderData(listOrOne(found.items, name !== undefined), flags.output));
  } else if (found.items.length === 0) {
    // kubectl's words, on stderr, so a script reading stdout sees nothing.
    const where = namespace === undefined || kind.plural === 'nodes' ? '' : ` in namespace "${namespace}"`;
    process.stderr.write(`No resources found${where}.\n`);
  } else {
    process.stdout.write(renderTable(tableOf(found.items)));
  }
}

/**
 * `get --watch`: the table once, then each row that changed (as `kubectl get -w` prints them), from the
 * API server's event stream, until Ctrl-C; -o json|yaml prints the whole list at each change.
 */
async function watchGet(resource: string, q: Omit<ReadQuery, 'watch'>, flags: GetFlags, tableOf: (items: unknown[]) => Table): Promise<void> {
  const api = serverFor(flags, true);
  if (api === undefined) throw new UsageError('EWATCH', '--watch follows the API server\'s event stream, and etcd is read directly here', { hint: 'leave out --etcd, or pass --server' });
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  const printed = new Set<string>();
  await api.watch(`/api/v1/${resource}`, { ...q }, (items) => {
    if (flags.output === 'json') return void process.stdout.write(`${JSON.stringify({ items })}\n`);
    if (flags.output === 'yaml') return void process.stdout.write(`---\n${renderData({ items }, 'yaml')}`);
    const lines = renderTable(tableOf(items)).split('\n').filter((l) => l !== '');
    const fresh = lines.filter((l, i) => (printed.size === 0 || i > 0) && !printed.has(l));
    for (const l of fresh) printed.add(l);
    if (fresh.length > 0 && items.length > 0) process.stdout.write(`${fresh.join('\n')}\n`);
  }, stop.signal);
}
