// `berth status`: per source, the commit in force (and a newer rejected one), then its Deployments.
import { deploymentTable } from '../api/tables.js';
import { formatTime } from '../api/units.js';
import { countErrors, escapeControl } from '../manifest/index.js';
import type { SourceStatusView } from '../api/views.js';
import { readResource, warnSkipped, type ReadFlags } from './connect.js';
import { renderData, renderTable } from './format.js';

/** `berth status`: what runs, from which commit, and how ready it is. */
export async function runStatus(flags: ReadFlags): Promise<void> {
  const listing = await readResource(flags, 'sources', {});
  warnSkipped(flags, listing.skipped);
  const sources = listing.items as SourceStatusView[];
  if (flags.output !== 'table') process.stdout.write(renderData({ sources }, flags.output));
  else if (sources.length === 0) process.stderr.write('No sources found: has sync seen a commit yet?\n');
  else process.stdout.write(sources.map(describe).join('\n'));
}

function describe(s: SourceStatusView): string {
  // Commit messages and authors come from whoever can push: one line each, control characters escaped.
  const one = (text: string): string => escapeControl(text.replace(/\s*\n\s*/g, ' '));
  const lines = [`source ${s.source}`];
  lines.push(
    s.commit === undefined
      ? '  commit:    none applied yet'
      : `  commit:    ${s.commit} ${one(s.message ?? '')} (${one(s.author ?? 'unknown')}, ${s.age ?? '?'} ago, ${formatTime(s.time ?? '')})`,
  );
  if (s.suspended) {
    const what = s.suspended.commit === undefined ? 'suspended' : `pinned to ${s.suspended.commit}`;
    lines.push(`  suspended: ${what} ${s.suspended.age} ago; new commits wait for \`berth resume ${s.source}\``);
  }
  if (s.error) {
    const retry = s.error.permanent ? `tried again with the next status, or \`berth sync ${s.source}\` once fixed` : 'sync keeps retrying';
    lines.push(`  error:     ${one(s.error.message)} (for ${s.error.age}; ${retry})`);
  }
  if (s.health) lines.push(`  health:    ${s.health.state} ${one(s.health.description)}`);
  if (s.rejected) {
    const n = countErrors(s.rejected.errors);
    lines.push(`  rejected:  ${s.rejected.commit} ${one(s.rejected.message)} (${n} error${n === 1 ? '' : 's'}; see \`berth history --source ${s.source} -o yaml\`)`);
  }
  const head = `${lines.join('\n')}\n`;
  if (s.deployments.length === 0) return `${head}  no deployments\n`;
  return `${head}\n${renderTable(deploymentTable(s.deployments, { sourceColumn: false }), '  ')}`;
}
