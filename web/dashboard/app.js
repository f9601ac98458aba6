// The berth dashboard: plain DOM, no build step, no third-party code. Every value shown comes from
// the API's JSON (commit messages and names come from whoever can push) and is set as text, never as HTML.
/* global document, window, Node, EventSource, fetch, sessionStorage, prompt, alert, setTimeout, clearTimeout */

const state = { sources: [], history: [], pods: [], events: [], stories: new Map() };
/** Stories refreshed on each change: the newest commits of each source. */
const STORIES_PER_SOURCE = 6;

/** An element with attributes and children (strings become text nodes). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const badge = (text, s) => h('span', { class: 'badge', 'data-state': s ?? text }, text);

// One EventSource per list; each snapshot or update replaces the list and redraws.
let open = 0;
function follow(path, key) {
  const source = new EventSource(`/api/v1/${path}?watch=1`);
  const take = (e) => {
    state[key] = JSON.parse(e.data).items;
    changed();
  };
  source.addEventListener('snapshot', take);
  source.addEventListener('update', take);
  source.addEventListener('open', () => connection(++open));
  source.addEventListener('error', () => connection((open = Math.max(0, open - 1))));
}
function connection(n) {
  const el = document.getElementById('conn');
  const live = n >= 4;
  el.dataset.state = live ? 'live' : 'offline';
  el.textContent = live ? 'live' : 'reconnecting…';
}

let timer;
function changed() {
  render();
  clearTimeout(timer);
  timer = setTimeout(refreshStories, 300);
}

/** Each source's newest commits' stories (statuses, drift), read again after a change. */
async function refreshStories() {
  const wanted = [];
  for (const s of state.sources) {
    const commits = unique(state.history.filter((x) => x.source === s.source).map((x) => x.commitSha).reverse()).slice(0, STORIES_PER_SOURCE);
    for (const c of commits) wanted.push([s.source, c]);
  }
  await Promise.all(wanted.map(async ([source, commit]) => {
    const res = await fetch(`/api/v1/sources/${encodeURIComponent(source)}/commits/${commit}`).catch(() => undefined);
    if (res?.ok) state.stories.set(`${source}/${commit}`, await res.json());
  }));
  render();
}
const unique = (list) => [...new Set(list)];

function render() {
  const root = document.getElementById('sources');
  if (state.sources.length === 0) {
    root.replaceChildren(h('p', { class: 'muted' }, 'No sources yet: has sync seen a commit?'));
  } else {
    root.replaceChildren(...state.sources.map(sourceView));
  }
  const rows = [...state.events].reverse().slice(0, 40).map((e) =>
    h('tr', {}, h('td', {}, e.lastSeen), h('td', {}, badge(e.severity, e.severity === 'Warning' ? 'failure' : 'success')), h('td', {}, e.reason), h('td', {}, e.object), h('td', {}, e.message)));
  document.querySelector('#events tbody').replaceChildren(...rows);
}

function sourceView(s) {
  const health = s.health?.state;
  return h('article', { class: 'source', 'data-source': s.source, 'data-commit': s.commitSha ?? '', 'data-health': health ?? '', 'data-suspended': s.suspended ? 'true' : 'false' },
    h('h2', {}, `source ${s.source} `, health ? badge(health) : '', s.suspended ? [' ', badge(s.suspended.commit ? `rolled back to ${s.suspended.commit}` : 'suspended', 'suspended')] : ''),
    s.commitSha
      ? h('p', {}, 'in force: ', h('code', {}, s.commit), ` ${s.message ?? ''} `, h('span', { class: 'muted' }, `— ${s.author ?? ''}, ${s.age ?? '?'} ago`))
      : h('p', { class: 'muted' }, 'no commit applied yet'),
    s.health ? h('p', { class: 'health' }, 'health: ', badge(s.health.state), ` ${s.health.description}`) : '',
    s.error ? h('p', { class: 'error' }, badge('error'), ` ${s.error.message} (for ${s.error.age})`) : '',
    s.suspended ? h('p', {}, 'new commits wait until ', h('button', { onclick: () => write(s.source, 'resume') }, 'resume')) : '',
    s.rejected ? h('p', {}, badge('rejected'), ' newer commit ', h('code', {}, s.rejected.commit), ` ${s.rejected.message}: ${s.rejected.errors[0] ?? ''}`) : '',
    h('h3', {}, 'Deployments'),
    deploymentsView(s),
    h('h3', {}, 'Commits'),
    timelineView(s),
  );
}

function deploymentsView(s) {
  if (s.deployments.length === 0) return h('p', { class: 'muted' }, 'none');
  const rows = s.deployments.flatMap((d) => {
    const pods = state.pods.filter((p) => p.source === s.source && p.namespace === d.namespace && p.deployment === d.name);
    return [
      h('tr', { 'data-deployment': `${d.namespace}/${d.name}` }, h('td', {}, `${d.namespace}/${d.name}`), h('td', {}, d.ready), h('td', {}, String(d.upToDate)), h('td', {}, String(d.available)), h('td', {}, h('code', {}, d.commit))),
      h('tr', {}, h('td', { colspan: 5 }, h('ul', { class: 'pods' }, pods.map((p) =>
        h('li', { 'data-pod': p.name }, h('code', {}, p.name), ` ${p.ready} `, badge(p.status, p.status === 'Running' ? 'success' : 'pending'), ` on ${p.node ?? '(unscheduled)'}`, p.restarts ? ` · ${p.restarts} restarts` : ''))))),
    ];
  });
  return h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, ['Deployment', 'Ready', 'Up-to-date', 'Available', 'Commit'].map((t) => h('th', {}, t)))), h('tbody', {}, rows)));
}

function timelineView(s) {
  // Newest first; a commit seen twice (applied again when pinned by `berth suspend --at`) is one entry.
  const seen = new Set();
  const commits = [...state.history].reverse().filter((x) => x.source === s.source && !seen.has(x.commitSha) && seen.add(x.commitSha));
  if (commits.length === 0) return h('p', { class: 'muted' }, 'none yet');
  return h('ol', { class: 'timeline' }, commits.slice(0, 30).map((c) => {
    const story = state.stories.get(`${s.source}/${c.commitSha}`);
    const inForce = c.commitSha === s.commitSha;
    return h('li', { 'data-commit': c.commitSha, 'data-outcome': c.outcome, 'data-inforce': inForce ? 'true' : 'false' },
      h('div', {}, h('code', {}, c.commit), ' ', badge(c.outcome), c.pinned ? [' ', badge('pinned', 'suspended')] : '', inForce ? [' ', badge('in force', 'success')] : '',
        ` ${c.message} `, h('span', { class: 'muted' }, `— ${c.author}, ${c.age} ago`),
        c.outcome === 'applied' && !inForce ? [' ', h('button', { onclick: () => write(s.source, 'rollback', { to: c.commitSha }) }, 'roll back here')] : ''),
      c.errors.length > 0 ? h('ul', { class: 'errors' }, c.errors.slice(0, 10).map((e) => h('li', {}, h('code', {}, e)))) : '',
      story ? storyView(story) : '');
  }));
}

function storyView(story) {
  return [
    h('ul', { class: 'statuses' }, story.statuses.map((x) =>
      h('li', { 'data-context': x.context, 'data-state': x.state }, h('span', { class: 'muted hide-narrow' }, `${x.time.slice(11, 19)} `), `${x.context} `, badge(x.state), ` ${x.description}`, x.delivered ? '' : h('span', { class: 'muted' }, ' (not yet in the git note)')))),
    story.drift.length > 0
      ? h('p', { class: 'drift' }, story.drift.map((d) => `drift at ${d.drifted.slice(11, 19)}${d.healed ? `, healed in ${d.healSeconds}s` : ', not healed yet'}`).join('; '))
      : '',
  ];
}

/** A write needs the API token: asked once, kept for this tab only. */
async function write(source, verb, body) {
  let token = sessionStorage.getItem('berth-token');
  if (!token) token = prompt('The API token (berth up keeps it in <data-dir>/api-token):');
  if (!token) return;
  const res = await fetch(`/api/v1/sources/${encodeURIComponent(source)}/${verb}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 401) sessionStorage.removeItem('berth-token');
  else sessionStorage.setItem('berth-token', token);
  if (!res.ok) alert((await res.json().catch(() => ({}))).message ?? `${verb} failed: ${res.status}`);
}

follow('sources', 'sources');
follow('history', 'history');
follow('pods', 'pods');
follow('events', 'events');
window.berth = state;
