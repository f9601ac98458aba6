// What only a node's operator may allow: a repository may ask for it, and the agent runs it only
// when it was started with `--allow <rule>`. Pure: a pod template and the allowed rules in, the
// rules it breaks out.
import { UsageError } from '../errors.js';
import type { PodTemplate } from '../manifest/types.js';
import type { BindingRecord } from '../store/records.js';
import type { Problem } from './status.js';

/** The rules `--allow` takes, each named after the Kubernetes field it lets through. */
export const ALLOW_RULES = ['privileged', 'capabilities', 'hostNetwork', 'hostPID', 'hostIPC', 'seccompUnconfined', 'hostPath'] as const;
/** One rule of `--allow`. */
export type AllowRule = (typeof ALLOW_RULES)[number];

/** One field of a pod that needs a rule its node did not allow. */
export interface Violation {
  rule: AllowRule;
  /** Where in the pod spec, as Kubernetes paths read: `containers[app].securityContext.privileged`. */
  field: string;
}

/** Parse `--allow` values (repeated or comma-separated); an unknown rule is an error naming the known ones. */
export function parseAllow(values: readonly string[]): Set<AllowRule> {
  const out = new Set<AllowRule>();
  for (const v of values.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '')) {
    const rule = ALLOW_RULES.find((r) => r === v);
    if (rule === undefined) {
      throw new UsageError('EALLOW', `--allow "${v}": not a rule berth knows`, { hint: `pass --allow with some of ${ALLOW_RULES.join(', ')}` });
    }
    out.add(rule);
  }
  return out;
}

/** The fields of `t` that need a rule missing from `allowed`, in the pod spec's order. */
export function violations(t: Pick<PodTemplate, 'containers' | 'initContainers' | 'securityContext' | 'hostNetwork' | 'hostPID' | 'hostIPC' | 'volumes'>, allowed: ReadonlySet<AllowRule>): Violation[] {
  const found: Violation[] = [];
  const need = (rule: AllowRule, field: string): void => {
    if (!allowed.has(rule)) found.push({ rule, field });
  };
  if (t.hostNetwork === true) need('hostNetwork', 'hostNetwork');
  if (t.hostPID === true) need('hostPID', 'hostPID');
  if (t.hostIPC === true) need('hostIPC', 'hostIPC');
  if (t.securityContext?.seccompProfile?.type === 'Unconfined') need('seccompUnconfined', 'securityContext.seccompProfile');
  for (const v of t.volumes ?? []) if ('hostPath' in v) need('hostPath', `volumes[${v.name}].hostPath`);
  const all = [...(t.initContainers ?? []).map((c) => ({ c, list: 'initContainers' })), ...t.containers.map((c) => ({ c, list: 'containers' }))];
  for (const { c, list } of all) {
    const s = c.securityContext;
    if (s?.privileged === true) need('privileged', `${list}[${c.name}].securityContext.privileged`);
    if ((s?.capabilities?.add ?? []).length > 0) need('capabilities', `${list}[${c.name}].securityContext.capabilities.add`);
    if (s?.seccompProfile?.type === 'Unconfined') need('seccompUnconfined', `${list}[${c.name}].securityContext.seccompProfile`);
  }
  return found;
}

/** The pod status message for a pod its node refuses: the fields, the rules, and the flag that allows them. */
export function refusal(found: readonly Violation[], node: string): string {
  const rules = [...new Set(found.map((v) => v.rule))];
  return `${found.map((v) => v.field).join(', ')} ${found.length === 1 ? 'needs' : 'need'} what only the operator of node ${node} may allow (${rules.join(', ')}); it runs them with berth agent --allow ${rules.join(',')}`;
}

/** Kubernetes' word for a request that policy refuses; the pod's Ready reason and its event. */
export const FORBIDDEN = 'Forbidden';

/** The pods of `bindings` this node refuses (by `<namespace>/<pod>`), with the problem of each container. */
export function refusedPods(bindings: readonly BindingRecord[], allowed: ReadonlySet<AllowRule>, node: string): Map<string, Map<string, Problem>> {
  const out = new Map<string, Map<string, Problem>>();
  for (const b of bindings) {
    const found = violations(b.template, allowed);
    if (found.length === 0) continue;
    const problem: Problem = { reason: FORBIDDEN, message: refusal(found, node) };
    // `<namespace>/<pod>` as labels.ts's podRef writes it; not imported, so the CLI can list the rules without loading the agent.
    out.set(`${b.namespace}/${b.pod}`, new Map(b.template.containers.map((c) => [c.name, problem])));
  }
  return out;
}
