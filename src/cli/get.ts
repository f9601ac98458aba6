// `berth get pods|deployments|services|endpoints|nodes [NAME]`: read, select, print.
import { InvalidInputError } from '../errors.js';
import { readCluster, readEndpoints, readSealed } from '../api/read.js';
import { selectNamed, selectNamespaced, type KindNames } from '../api/select.js';
import { deploymentTable, endpointsTable, nodeTable, podTable, serviceTable, type Table } from '../api/tables.js';
import { deploymentViews, nodeViews, podViews, serviceViews } from '../api/views.js';
import { withStore, warnSkipped, type ReadFlags } from './connect.js';
import { listOrOne, renderData, renderTable, type GET_FORMATS } from './format.js';

/** Flags of `berth get`. */
export interface GetFlags extends Omit<ReadFlags, 'output'> {
  output: (typeof GET_FORMATS)[number];
  namespace?: string;
  allNamespaces?: boolean;
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

/** The rows of one `get`, and how to print them. */
interface Found {
  items: unknown[];
  table: Table;
}

/** `berth get KIND [NAME]`: every namespace unless -n; a NAME that is not there exits 1 with one line. */
export async function runGet(kindWord: string, name: string | undefined, flags: GetFlags): Promise<void> {
  const word = kindWord.toLowerCase();
  const kind = KINDS[ALIASES[word] ?? word];
  if (kind === undefined) {
    throw new InvalidInputError('EKIND', `unknown kind "${kindWord}"`, { hint: 'berth get knows pods, deployments, services, endpoints and nodes' });
  }
  // -A wins over -n, as in kubectl.
  const namespace = flags.allNamespaces ? undefined : flags.namespace;
  const sel = { ...(namespace === undefined ? {} : { namespace }), ...(name === undefined ? {} : { name }) };
  const now = new Date();
  const found = await withStore(flags, async (store): Promise<Found> => {
    if (kind.plural === 'deployments') {
      const sealed = await readSealed(store);
      const cluster = await readCluster(store);
      warnSkipped(flags, [...sealed.skipped, ...cluster.skipped]);
      const nodes = new Set(cluster.nodes.map((n) => n.name));
      const rows = selectNamespaced(deploymentViews(sealed.deployments, cluster.pods, cluster.statuses, nodes), kind, sel);
      return { items: rows, table: deploymentTable(rows, { namespaceColumn: namespace === undefined }) };
    }
    if (kind.plural === 'services' || kind.plural === 'endpoints') {
      const { records, skipped } = await readEndpoints(store);
      warnSkipped(flags, skipped);
      const rows = selectNamespaced(serviceViews(records), kind, sel);
      const opts = { namespaceColumn: namespace === undefined };
      return { items: rows, table: kind.plural === 'services' ? serviceTable(rows, opts) : endpointsTable(rows, opts) };
    }
    const cluster = await readCluster(store);
    warnSkipped(flags, cluster.skipped);
    if (kind.plural === 'nodes') {
      const rows = selectNamed(nodeViews(cluster.nodes, cluster.pods, now), kind, name);
      return { items: rows, table: nodeTable(rows) };
    }
    const nodes = new Set(cluster.nodes.map((n) => n.name));
    const rows = selectNamespaced(podViews(cluster.pods, cluster.statuses, now, nodes), kind, sel);
    return { items: rows, table: podTable(rows, { namespaceColumn: namespace === undefined, wide: flags.output === 'wide' }) };
  });
  if (flags.output !== 'table' && flags.output !== 'wide') {
    process.stdout.write(renderData(listOrOne(found.items, name !== undefined), flags.output));
  } else if (found.items.length === 0) {
    // kubectl's words, on stderr, so a script reading stdout sees nothing.
    const where = namespace === undefined || kind.plural === 'nodes' ? '' : ` in namespace "${namespace}"`;
    process.stderr.write(`No resources found${where}.\n`);
  } else {
    process.stdout.write(renderTable(found.table));
  }
}
