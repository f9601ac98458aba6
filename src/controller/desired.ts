import { deploymentInputs } from '../manifest/index.js';
import { decodeAll, readAllSealed, type Sealed, type SealRecord, type Store } from '../store/index.js';
import type { DesiredService } from './endpoints.js';
import type { DesiredDeployment } from './pods.js';

/** The Deployments of every sealed source, each read at its seal's revision. */
export interface SealedView {
  deployments: DesiredDeployment[];
  /** Sources whose sealed state was read in full: the controller speaks for their pods. */
  read: string[];
  /** The seal of each source in `read`, with the modRevision of its key (to guard a write on it). */
  seals: { seal: SealRecord; modRevision: number }[];
  /** Every source that has a seal key, read or not. */
  sealed: string[];
  /** Sources whose state could not be read this time; their pods are left as they are. */
  skipped: { source: string; reason: string }[];
}

/**
 * Every source's desired state as of its seal (readAllSealed), so a commit whose objects are still
 * being written is invisible: nobody acts on half a commit. A source read only in part (a corrupt
 * seal or object, or a compacted seal while a newer commit is half-written) is skipped whole:
 * acting on a partial view would delete pods that should run.
 */
export async function readSealedDeployments(store: Store): Promise<SealedView> {
  const view: SealedView = { deployments: [], read: [], seals: [], sealed: [], skipped: [] };
  const { sealed, corrupt } = await readAllSealed(store);
  view.skipped.push(...corrupt);
  for (const s of sealed) {
    const read = sealedDeployments(s);
    if ('reason' in read) {
      view.skipped.push({ source: s.source, reason: read.reason });
      continue;
    }
    view.deployments.push(...read.deployments);
    view.read.push(s.source);
    view.seals.push({ seal: s.seal, modRevision: s.sealRevision });
  }
  view.sealed = [...sealed.map((s) => s.source), ...corrupt.map((c) => c.source)].sort();
  return view;
}

/**
 * The Deployments and Services of one source's sealed state (readSealed), or why it cannot be acted
 * on: a compacted seal with a newer commit half-written, or an object that does not decode.
 */
export function sealedDeployments(s: Sealed): { deployments: DesiredDeployment[]; services: DesiredService[] } | { reason: string } {
  if (!s.exact) return { reason: `seal revision ${s.seal.revision} was compacted and a newer commit is being applied` };
  const { items, corrupt } = decodeAll('desired', s.entries);
  const first = corrupt[0];
  if (first) return { reason: first.reason };
  const inputs = deploymentInputs(items.map((i) => i.record.object));
  const deployments: DesiredDeployment[] = [];
  const services: DesiredService[] = [];
  for (const { record } of items) {
    if (record.object.kind === 'Service') services.push({ source: s.source, object: record.object });
    if (record.object.kind !== 'Deployment') continue;
    const read = inputs.get(record.object);
    deployments.push({ source: s.source, object: record.object, commit: record.commit, ...(read === undefined ? {} : { inputs: read }) });
  }
  return { deployments, services };
}
