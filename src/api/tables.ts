// Views → tables of text cells, chosen server-side as Kubernetes prints tables: the CLI, and later
// the read API and dashboard, show the same columns with the same words.
import type { DeploymentView, EventView, HistoryView, NodeView, PodView, ServiceView } from './views.js';
import { countErrors } from '../manifest/index.js';
import { escapeControl } from '../manifest/text.js';
import { formatTime } from './units.js';
import { compareText } from '../text.js';

/** UPPERCASE column headers and one row of text cells per view. */
export interface Table {
  columns: string[];
  rows: string[][];
}

interface Column<T> {
  header: string;
  cell: (v: T) => string;
}

/** Options of the namespaced tables: the NAMESPACE column is left out when one namespace was asked for. */
export interface TableOptions {
  namespaceColumn?: boolean;
}

// kubectl's tabwriter pads columns with three spaces.
const GAP = '   ';

/** Columns padded to their widest cell, three spaces apart, no trailing blanks; one line per row. */
export function renderTable(table: Table, indent = ''): string {
  const rows = [table.columns, ...table.rows].map((r) => r.map(oneLine));
  const widths = table.columns.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(GAP).trimEnd()).join('\n') + '\n';
}

/** A cell on one line, with no control character: commit messages, names and paths come from a repository. */
export function oneLine(cell: string): string {
  return escapeControl(cell.replace(/\s*\n\s*/g, ' '));
}

function tableOf<T>(views: readonly T[], columns: readonly Column<T>[]): Table {
  return { columns: columns.map((c) => c.header), rows: views.map((v) => columns.map((c) => c.cell(v))) };
}

function withNamespace<T extends { namespace: string }>(columns: Column<T>[], opts: TableOptions): Column<T>[] {
  return opts.namespaceColumn === false ? columns : [{ header: 'NAMESPACE', cell: (v) => v.namespace }, ...columns];
}

/** `get pods`: NAMESPACE NAME READY STATUS RESTARTS AGE [IP] NODE DEPLOYMENT COMMIT (IP with `wide`, as kubectl's -o wide). */
export function podTable(views: readonly PodView[], opts: TableOptions & { wide?: boolean } = {}): Table {
  return tableOf(
    views,
    withNamespace<PodView>(
      [
        { header: 'NAME', cell: (v) => v.name },
        { header: 'READY', cell: (v) => v.ready },
        { header: 'STATUS', cell: (v) => v.status },
        { header: 'RESTARTS', cell: (v) => String(v.restarts) },
        { header: 'AGE', cell: (v) => v.age },
        ...(opts.wide === true ? [{ header: 'IP', cell: (v: PodView) => v.ip ?? '<none>' }] : []),
        { header: 'NODE', cell: (v) => v.node ?? '<none>' },
        { header: 'DEPLOYMENT', cell: (v) => v.deployment },
        { header: 'COMMIT', cell: (v) => v.commit },
      ],
      opts,
    ),
  );
}

/** `get deployments`: NAMESPACE NAME READY UP-TO-DATE AVAILABLE SOURCE COMMIT. */
export function deploymentTable(views: readonly DeploymentView[], opts: TableOptions & { sourceColumn?: boolean } = {}): Table {
  const columns: Column<DeploymentView>[] = [
    { header: 'NAME', cell: (v) => v.name },
    { header: 'READY', cell: (v) => v.ready },
    { header: 'UP-TO-DATE', cell: (v) => String(v.upToDate) },
    { header: 'AVAILABLE', cell: (v) => String(v.available) },
    ...(opts.sourceColumn === false ? [] : [{ header: 'SOURCE', cell: (v: DeploymentView) => v.source }]),
    { header: 'COMMIT', cell: (v) => v.commit },
  ];
  return tableOf(views, withNamespace(columns, opts));
}

/** `get nodes`: NAME STATUS PODS CPU MEMORY ADDRESS VERSION AGE LABELS (as kubectl's --show-labels: `k=v,…`). */
export function nodeTable(views: readonly NodeView[]): Table {
  return tableOf(views, [
    { header: 'NAME', cell: (v) => v.name },
    { header: 'STATUS', cell: (v) => v.status },
    { header: 'PODS', cell: (v) => `${v.pods}/${v.maxPods}` },
    { header: 'CPU', cell: (v) => v.cpu },
    { header: 'MEMORY', cell: (v) => v.memory },
    { header: 'ADDRESS', cell: (v) => v.address },
    { header: 'VERSION', cell: (v) => v.version },
    { header: 'AGE', cell: (v) => v.age },
    { header: 'LABELS', cell: (v) => labelText(v.labels) },
  ]);
}

/** `get services`: NAMESPACE NAME TYPE CLUSTER-IP PORT(S) ENDPOINTS SOURCE (no virtual IPs: CLUSTER-IP is None for a headless Service, else <name>). */
export function serviceTable(views: readonly ServiceView[], opts: TableOptions = {}): Table {
  return tableOf(
    views,
    withNamespace<ServiceView>(
      [
        { header: 'NAME', cell: (v) => v.name },
        { header: 'TYPE', cell: (v) => v.type },
        { header: 'CLUSTER-IP', cell: (v) => (v.headless ? 'None' : '<name>') },
        { header: 'PORT(S)', cell: (v) => (v.ports.length === 0 ? '<none>' : v.ports.join(',')) },
        { header: 'ENDPOINTS', cell: (v) => String(v.pods.length) },
        { header: 'SOURCE', cell: (v) => v.source },
      ],
      opts,
    ),
  );
}

/** `get endpoints`: NAMESPACE NAME ENDPOINTS (the first three `ip:port`, then `+ N more...`, as kubectl). */
export function endpointsTable(views: readonly ServiceView[], opts: TableOptions = {}): Table {
  const shown = (v: ServiceView): string =>
    v.endpoints.length === 0 ? '<none>' : v.endpoints.slice(0, 3).join(',') + (v.endpoints.length > 3 ? ` + ${v.endpoints.length - 3} more...` : '');
  return tableOf(views, withNamespace<ServiceView>([{ header: 'NAME', cell: (v) => v.name }, { header: 'ENDPOINTS', cell: shown }], opts));
}

/** `berth history`: TIME SOURCE COMMIT OUTCOME ERRORS AUTHOR MESSAGE (the errors themselves are in -o json/yaml). */
export function historyTable(views: readonly HistoryView[]): Table {
  return tableOf(views, [
    { header: 'TIME', cell: (v) => formatTime(v.time) },
    { header: 'SOURCE', cell: (v) => v.source },
    { header: 'COMMIT', cell: (v) => v.commit },
    { header: 'OUTCOME', cell: (v) => (v.rolledBackBy ? `${v.outcome}, rolled back by ${v.rolledBackBy}` : v.outcome) },
    { header: 'ERRORS', cell: (v) => String(countErrors(v.errors)) },
    { header: 'AUTHOR', cell: (v) => v.author },
    { header: 'MESSAGE', cell: (v) => v.message },
  ]);
}

/** `berth events`: LAST SEEN, TYPE, COMPONENT, REASON, OBJECT, MESSAGE. */
export function eventTable(views: readonly EventView[]): Table {
  return tableOf(views, [
    { header: 'LAST SEEN', cell: (v) => v.lastSeen },
    { header: 'TYPE', cell: (v) => v.severity },
    { header: 'COMPONENT', cell: (v) => v.component },
    { header: 'REASON', cell: (v) => v.reason },
    { header: 'OBJECT', cell: (v) => v.object },
    { header: 'MESSAGE', cell: (v) => v.message },
  ]);
}

/** `a=1,b=2` in key order, or `<none>`. */
function labelText(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort(compareText);
  return keys.length === 0 ? '<none>' : keys.map((k) => `${k}=${labels[k] ?? ''}`).join(',');
}
