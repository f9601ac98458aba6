// Descriptions → the text `berth describe` prints, laid out as `kubectl describe` lays it out:
// `Key:  value` lines aligned per indentation level, sections of tables. Pure.
import type { Condition } from '../store/records.js';
import type { ContainerDescription, DeploymentDescription, NodeDescription, PodDescription, SourceDescription, CommitDescription } from './describe.js';
import { oneLine, renderTable, type Table } from './tables.js';
import { formatCpu, formatMemory } from './units.js';
import type { EventView } from './views.js';

/** One line of a description: a field (`key:` and its value) or a table, at an indentation level. */
type Line = { level: number; key: string; value?: string } | { level: number; table: Table };

const field = (level: number, key: string, value?: string | number | boolean): Line =>
  ({ level, key, ...(value === undefined ? {} : { value: typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value) }) });
const table = (level: number, t: Table): Line => ({ level, table: t });

/** Lines as text: each level's keys padded to the widest key of that level, two spaces per level. */
function render(lines: readonly Line[]): string {
  const widths = new Map<number, number>();
  for (const l of lines) if ('key' in l && l.value !== undefined) widths.set(l.level, Math.max(widths.get(l.level) ?? 0, l.key.length + 1));
  return lines.map((l) => {
    const indent = '  '.repeat(l.level);
    if ('table' in l) return renderTable(l.table, indent).trimEnd();
    if (l.value === undefined) return `${indent}${l.key}:`;
    return `${indent}${`${l.key}:`.padEnd((widths.get(l.level) ?? 0) + 2)}${oneLine(l.value)}`.trimEnd();
  }).join('\n') + '\n';
}

const labelsText = (labels: Record<string, string>): string => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';

function conditionLines(level: number, conditions: readonly Condition[]): Line[] {
  if (conditions.length === 0) return [field(level, 'Conditions', '<none>')];
  return [field(level, 'Conditions'), table(level + 1, { columns: ['Type', 'Status', 'Reason', 'Message'], rows: conditions.map((c) => [c.type, c.status, c.reason, c.message ?? '']) })];
}

function eventLines(events: readonly EventView[]): Line[] {
  if (events.length === 0) return [field(0, 'Events', '<none>')];
  return [field(0, 'Events'), table(1, { columns: ['Type', 'Reason', 'Age', 'From', 'Object', 'Message'], rows: events.map((e) => [e.severity, e.reason, e.lastSeen, e.component, e.object, e.message]) })];
}

const amounts = (a: { cpu?: number; memory?: number }): Line[] =>
  [...(a.cpu === undefined ? [] : [field(3, 'cpu', formatCpu(a.cpu))]), ...(a.memory === undefined ? [] : [field(3, 'memory', formatMemory(a.memory))])];

function containerLines(title: string, containers: readonly ContainerDescription[], observed: boolean): Line[] {
  if (containers.length === 0) return [];
  const out: Line[] = [field(0, title)];
  for (const c of containers) {
    out.push(field(1, c.name), field(2, 'Image', c.image), field(2, 'Ports', c.ports.join(', ') || '<none>'));
    if (observed) {
      out.push(field(2, 'State', c.state.state));
      if (c.state.reason !== undefined) out.push(field(3, 'Reason', c.state.reason));
      if (c.state.message !== undefined) out.push(field(3, 'Message', c.state.message));
      if (c.state.exitCode !== undefined) out.push(field(3, 'Exit Code', c.state.exitCode));
      if (c.lastState) {
        out.push(field(2, 'Last State', 'Terminated'), field(3, 'Reason', c.lastState.reason), field(3, 'Exit Code', c.lastState.exitCode));
        if (c.lastState.startedAt !== undefined) out.push(field(3, 'Started', c.lastState.startedAt));
        if (c.lastState.finishedAt !== undefined) out.push(field(3, 'Finished', c.lastState.finishedAt));
      }
      out.push(field(2, 'Ready', c.ready), field(2, 'Restart Count', c.restarts));
    }
    const limits = amounts(c.limits);
    const requests = amounts(c.requests);
    if (limits.length > 0) out.push(field(2, 'Limits'), ...limits);
    if (requests.length > 0) out.push(field(2, 'Requests'), ...requests);
    if (c.probes.liveness !== undefined) out.push(field(2, 'Liveness', c.probes.liveness));
    if (c.probes.readiness !== undefined) out.push(field(2, 'Readiness', c.probes.readiness));
    if (c.probes.startup !== undefined) out.push(field(2, 'Startup', c.probes.startup));
  }
  return out;
}

function commitLines(title: string, c: CommitDescription | undefined, extra: Line[] = []): Line[] {
  if (!c) return [field(0, title, '<none>')];
  const out: Line[] = [field(0, title, `${c.commit} ${c.message}`), field(1, 'Author', c.author), ...extra];
  if (c.statuses.length === 0) return [...out, field(1, 'Statuses', '<none>')];
  return [...out, field(1, 'Statuses'), table(2, {
    columns: ['Context', 'State', 'Time', 'Delivered', 'Description'],
    rows: c.statuses.map((s) => [s.context, s.state, s.time, s.delivered ? 'yes' : 'waiting', s.description]),
  })];
}

/** `berth describe pod`. */
export function podText(d: PodDescription): string {
  return render([
    field(0, 'Name', d.name), field(0, 'Namespace', d.namespace), field(0, 'Source', d.source), field(0, 'Controlled By', d.controlledBy),
    field(0, 'Node', d.node === undefined ? '<none>' : `${d.node}${d.hostIP === undefined ? '' : `/${d.hostIP}`}`),
    field(0, 'Created', `${d.createdAt} (${d.age} ago)`), field(0, 'Status', d.status), field(0, 'IP', d.podIP ?? '<none>'),
    field(0, 'Commit', d.commit), field(0, 'Template Hash', d.templateHash),
    ...containerLines('Init Containers', d.initContainers, true),
    ...containerLines('Containers', d.containers, true),
    ...conditionLines(0, d.conditions),
    ...eventLines(d.events),
  ]);
}

/** `berth describe deployment`. */
export function deploymentText(d: DeploymentDescription): string {
  const r = d.replicas;
  return render([
    field(0, 'Name', d.name), field(0, 'Namespace', d.namespace), field(0, 'Source', d.source), field(0, 'File', d.file),
    field(0, 'Labels', labelsText(d.labels)), field(0, 'Changed By', d.changedBy),
    field(0, 'Replicas', `${r.desired} desired | ${r.updated} updated | ${r.total} total | ${r.available} available | ${r.unavailable} unavailable (${r.ready} ready)`),
    field(0, 'StrategyType', d.strategy), field(0, 'MinReadySeconds', d.minReadySeconds), field(0, 'ProgressDeadline', `${d.progressDeadlineSeconds}s`),
    ...commitLines('Commit In Force', d.commitInForce),
    field(0, 'Pod Template'), field(1, 'Labels', labelsText(d.template.labels)),
    ...containerLines('Containers', d.template.containers, false).map((l) => ({ ...l, level: l.level + 1 })),
    ...conditionLines(0, d.conditions),
    ...(d.pods.length === 0 ? [field(0, 'Pods', '<none>')] : [field(0, 'Pods'), table(1, {
      columns: ['Name', 'Ready', 'Status', 'Restarts', 'Node', 'Age'], rows: d.pods.map((p) => [p.name, p.ready, p.status, String(p.restarts), p.node ?? '<none>', p.age]),
    })]),
    ...eventLines(d.events),
  ]);
}

/** `berth describe node`. */
export function nodeText(d: NodeDescription): string {
  const percent = (used: number, of: number): string => (of > 0 ? ` (${Math.round((used / of) * 100)}%)` : '');
  const a = d.allocated;
  return render([
    field(0, 'Name', d.name), field(0, 'Status', d.status), field(0, 'Labels', labelsText(d.labels)), field(0, 'Address', d.address || '<unknown>'),
    field(0, 'Version', d.version || '<unknown>'), field(0, 'Started', d.startedAt === '' ? '<unknown>' : `${d.startedAt} (${d.age} ago)`),
    field(0, 'Unschedulable', d.unschedulable), ...(d.draining ? [field(0, 'Draining', true)] : []),
    field(0, 'Lease'), field(1, 'Held', d.lease.held),
    ...(d.lease.lostSince === undefined ? [] : [field(1, 'Lost Since', d.lease.lostSince)]),
    ...(d.lease.podsEvictedAt === undefined ? [] : [field(1, 'Pods Evicted', d.lease.podsEvictedAt)]),
    ...conditionLines(0, d.conditions),
    field(0, 'Capacity'), field(1, 'cpu', formatCpu(d.capacity.cpu)), field(1, 'memory', formatMemory(d.capacity.memory)), field(1, 'pods', d.capacity.pods),
    field(0, 'Allocatable'), field(1, 'cpu', formatCpu(d.allocatable.cpu)), field(1, 'memory', formatMemory(d.allocatable.memory)), field(1, 'pods', d.allocatable.pods),
    ...(d.pods.length === 0 ? [field(0, 'Pods', '<none>')] : [field(0, `Pods (${d.pods.length} in total)`), table(1, {
      columns: ['Namespace', 'Name', 'Status', 'CPU Requests', 'Memory Requests', 'Age'],
      rows: d.pods.map((p) => [p.namespace, p.name, p.status, formatCpu(p.cpuRequest), formatMemory(p.memoryRequest), p.age]),
    })]),
    field(0, 'Allocated resources'), table(1, {
      columns: ['Resource', 'Requests', 'Limits'],
      rows: [
        ['cpu', `${formatCpu(a.requests.cpu)}${percent(a.requests.cpu, d.allocatable.cpu)}`, `${formatCpu(a.limits.cpu)}${percent(a.limits.cpu, d.allocatable.cpu)}`],
        ['memory', `${formatMemory(a.requests.memory)}${percent(a.requests.memory, d.allocatable.memory)}`, `${formatMemory(a.limits.memory)}${percent(a.limits.memory, d.allocatable.memory)}`],
        ['pods', `${a.pods}${percent(a.pods, d.allocatable.pods)}`, ''],
      ],
    }),
    ...eventLines(d.events),
  ]);
}

/** `berth describe source`. */
export function sourceText(d: SourceDescription): string {
  const c = d.commitInForce;
  return render([
    field(0, 'Name', d.name), field(0, 'Repository', d.repo ?? '<unknown>'), field(0, 'Branch', d.branch ?? '<unknown>'),
    ...commitLines('Commit In Force', c, c ? [field(1, 'Applied', `${c.time} (${c.age} ago)`)] : []),
    ...(d.rejected ? [field(0, 'Rejected', `${d.rejected.commit} ${d.rejected.message}`), ...d.rejected.errors.map((e) => field(1, 'Error', e))] : []),
    field(0, 'Health', d.health ? `${d.health.state} (${d.health.reason}): ${d.health.description}` : '<none>'),
    ...conditionLines(0, d.conditions),
    ...(d.error ? [field(0, 'Sync Error', `${d.error.code}: ${d.error.message} (for ${d.error.age})`)] : []),
    field(0, 'Suspended', d.suspended ? `since ${d.suspended.since}${d.suspended.commit === undefined ? '' : `, kept on ${d.suspended.commit}`}` : 'False'),
    ...(d.deployments.length === 0 ? [field(0, 'Deployments', '<none>')] : [field(0, 'Deployments'), table(1, {
      columns: ['Namespace', 'Name', 'Ready', 'Up-to-date', 'Available', 'Commit'], rows: d.deployments.map((x) => [x.namespace, x.name, x.ready, String(x.upToDate), String(x.available), x.commit]),
    })]),
    ...(d.history.length === 0 ? [field(0, 'History', '<none>')] : [field(0, 'History'), table(1, {
      columns: ['Time', 'Commit', 'Outcome', 'Message'], rows: d.history.map((h) => [h.time, h.commit, h.outcome, h.message]),
    })]),
    ...eventLines(d.events),
  ]);
}
