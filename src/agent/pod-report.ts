// The end of an agent round: each bound pod's status from what Docker shows and what the round did,
// the writes of the statuses that changed, and the events Kubernetes records about them (Drifted,
// Healed, SandboxChanged, a refusal); drift and heal times also go to /metrics.
import { driftEvents, healSeconds } from '../metrics.js';
import type { EventInput } from '../events/recorder.js';
import type { PutOp } from '../store/store.js';
import type { BindingRecord, PodStatusRecord } from '../store/records.js';
import { encode } from '../store/records.js';
import { statusKey } from '../store/keys.js';
import type { ApplyResult } from './apply.js';
import { podRef } from './labels.js';
import { byName, namesIn, recreated, strandedNow } from './pod-slots.js';
import type { ProbeVerdict } from './probe-core.js';
import type { Container } from './runtime.js';
import { runningSandbox, type SandboxOptions, type SandboxPlan } from './sandbox.js';
import { containersOf, podNetwork, podStatus, sameStatus, type Problem } from './status.js';

/** What a round knows when it reports. */
export interface RoundOutcome {
  bindings: readonly BindingRecord[];
  previous: ReadonlyMap<string, PodStatusRecord>;
  /** This node's containers after the round, sandboxes included. */
  running: Container[];
  /** The same without sandboxes and stranded containers: the pods' own. */
  members: Container[];
  result: ApplyResult;
  sandboxes: SandboxPlan;
  /** Pods that run as their one container (no sandbox): it holds their address and ports. */
  alone: ReadonlyMap<string, unknown>;
  /** Pods refused by the node's policy, with why, per container. */
  refused: ReadonlyMap<string, Map<string, Problem>>;
  /** Per pod, per container name: what drifted. */
  drift: ReadonlyMap<string, Map<string, string>>;
  verdicts: ReadonlyMap<string, Map<string, ProbeVerdict>>;
  /** Pods whose status was written while pulling: written again even when unchanged. */
  pulled: ReadonlySet<string>;
  /** When the round began (drift is timed from it) and now. */
  began: Date;
  at: Date;
}

/** Turns rounds into status writes and events; remembers when each pod's drift was first seen. */
export class PodReporter {
  /** When each pod's drift was first seen, for the heal time on /metrics (an agent restart forgets it). */
  private readonly driftSeen = new Map<string, number>();

  constructor(
    private readonly node: string,
    /** The node's address: each pod's hostIP, and a hostNetwork pod's podIP. */
    private readonly address: string,
    private readonly sandbox: SandboxOptions,
  ) {}

  /** The status writes of the round; its events are pushed onto `events`. */
  report(o: RoundOutcome, events: EventInput[]): PutOp[] {
    const { node } = this;
    const puts: PutOp[] = [];
    for (const b of o.bindings) {
      const ref = podRef(b.namespace, b.pod);
      const prev = o.previous.get(ref);
      const podDrift = o.drift.get(ref) ?? new Map<string, string>();
      const status = podStatus(b, o.members, o.at, {
        ...(prev ? { previous: prev } : {}),
        restarted: namesIn(b, o.result.restarted, [...recreated(b, prev, o.result.created), ...strandedNow(b, prev, o.sandboxes.stranded)]),
        problems: o.refused.get(ref) ?? byName(b, o.result.problems),
        backOff: byName(b, o.result.backOff),
        ended: byName(b, o.result.ended),
        drift: podDrift,
        probes: o.verdicts.get(ref) ?? new Map<string, ProbeVerdict>(),
        network: podNetwork(this.networkOwner(b, o), this.address, b.template.hostNetwork === true ? b.template.containers : undefined),
      });
      if (!prev || !sameStatus(prev, status) || o.pulled.has(ref)) {
        puts.push({ key: statusKey(node, b.namespace, b.pod), value: encode(status) });
        const no = o.refused.get(ref)?.values().next().value;
        if (no !== undefined) events.push({ object: `pod/${ref}`, reason: no.reason, message: no.message, severity: 'Warning' });
      }
      for (const what of podDrift.values()) events.push({ object: `pod/${ref}`, reason: 'Drifted', message: what, severity: 'Warning' });
      if (podDrift.size > 0) {
        driftEvents.inc({ node });
        if (!this.driftSeen.has(ref)) this.driftSeen.set(ref, o.began.getTime());
      }
      if (o.sandboxes.changed.has(ref)) events.push({ object: `pod/${ref}`, reason: 'SandboxChanged', message: 'Pod sandbox changed, it will be killed and re-created.' });
      this.healed(ref, status, prev, o.began, events);
    }
    return puts;
  }

  /** The container that holds `b`'s network: its sandbox, or its one container when it runs alone. */
  private networkOwner(b: BindingRecord, o: RoundOutcome): Container | undefined {
    if (!o.alone.has(podRef(b.namespace, b.pod))) return runningSandbox(b, o.running, this.sandbox);
    return containersOf(b, o.members).values().next().value;
  }

  /** A Healed event when the pod's Drifted condition newly says so, and the heal time since the drift was seen. */
  private healed(ref: string, status: PodStatusRecord, prev: PodStatusRecord | undefined, began: Date, events: EventInput[]): void {
    const healed = status.conditions.find((c) => c.type === 'Drifted' && c.reason === 'Healed');
    const wasHealed = prev?.conditions.find((c) => c.type === 'Drifted' && c.reason === 'Healed');
    if (!healed || healed.message === wasHealed?.message) return;
    events.push({ object: `pod/${ref}`, reason: 'Healed', message: healed.message });
    const seen = this.driftSeen.get(ref);
    this.driftSeen.delete(ref);
    if (seen !== undefined) healSeconds.observe({ node: this.node }, Math.max(0, began.getTime() - seen) / 1000);
  }
}
