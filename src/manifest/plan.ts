import { objectKey, type DesiredObject } from './types.js';

/** What applying a commit changes in desired state, each list sorted by objectKey. */
export interface DesiredPlan {
  create: DesiredObject[];
  update: { from: DesiredObject; to: DesiredObject }[];
  delete: DesiredObject[];
}

/**
 * Diffs a commit's objects against current desired state. An object is updated when its meaning
 * (hash) changed or when it moved to another file: a pure move rewrites the record so the stored
 * path stays true (consumers compare `from.hash` with `to.hash` to tell a move from a change).
 * A shifted line alone is not an update: it would rewrite every object below an added comment.
 */
export function planDesired(desired: readonly DesiredObject[], current: readonly DesiredObject[]): DesiredPlan {
  const before = new Map(current.map((o) => [objectKey(o), o]));
  const after = new Map(desired.map((o) => [objectKey(o), o]));
  const plan: DesiredPlan = { create: [], update: [], delete: [] };
  for (const [key, to] of after) {
    const from = before.get(key);
    if (from === undefined) plan.create.push(to);
    else if (from.hash !== to.hash || from.path !== to.path) plan.update.push({ from, to });
  }
  for (const [key, from] of before) if (!after.has(key)) plan.delete.push(from);
  const byKey = (a: DesiredObject, b: DesiredObject): number => (objectKey(a) < objectKey(b) ? -1 : objectKey(a) > objectKey(b) ? 1 : 0);
  plan.create.sort(byKey);
  plan.update.sort((a, b) => byKey(a.to, b.to));
  plan.delete.sort(byKey);
  return plan;
}
