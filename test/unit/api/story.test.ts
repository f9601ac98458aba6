import { describe, expect, it } from 'vitest';
import { commitStory, driftEpisodes, matchCommits, type StatusView } from '../../../src/api/story.js';
import type { OutboxRecord } from '../../../src/store/records.js';
import { NOW, ago, history } from './fixtures.js';

const health = (state: StatusView['state'], description: string, secondsAgo: number): StatusView => ({ context: 'berth/health', state, description, time: ago(secondsAgo), delivered: true });
const sync = (state: StatusView['state'], secondsAgo: number): StatusView => ({ context: 'berth/sync', state, description: 'applied: 1 object', time: ago(secondsAgo), delivered: true });

describe('driftEpisodes', () => {
  it.each<[string, StatusView[], ReturnType<typeof driftEpisodes>]>([
    ['none without a drift', [sync('success', 100), health('pending', 'rolling out: 0/1 ready', 99), health('success', '1/1 ready', 90)], []],
    ['a drift and its heal, with the seconds between', [health('success', '1/1 ready', 100), health('failure', 'drift: web-0 removed', 60), health('success', 'healed: web-0; 1/1 ready', 45)], [
      { drifted: ago(60), description: 'drift: web-0 removed', healed: ago(45), healDescription: 'healed: web-0; 1/1 ready', healSeconds: 15 },
    ]],
    ['a drift not healed yet', [health('failure', 'drift: web-0 removed', 10)], [{ drifted: ago(10), description: 'drift: web-0 removed' }]],
    ['another failure neither opens nor closes one', [health('failure', 'crash loop: web-0', 50), health('success', 'healed: web-0', 40)], []],
    ['a repeated drift report stays one episode; the next drift is another', [
      health('failure', 'drift: web-0 removed', 50), health('failure', 'drift: web-1 removed', 48), health('success', 'healed', 40),
      sync('success', 39), health('failure', 'drift: web-0 stopped', 30), health('success', 'healed again', 20),
    ], [
      { drifted: ago(50), description: 'drift: web-0 removed', healed: ago(40), healDescription: 'healed', healSeconds: 10 },
      { drifted: ago(30), description: 'drift: web-0 stopped', healed: ago(20), healDescription: 'healed again', healSeconds: 10 },
    ]],
  ])('%s', (_name, statuses, episodes) => {
    expect(driftEpisodes(statuses)).toEqual(episodes);
  });
});

describe('matchCommits', () => {
  const records = [history('main', 'abc1', ago(3)), history('main', 'abc2', ago(2), { outcome: 'rejected' }), history('main', 'abc1', ago(1), { pinned: true })];
  it.each<[string, (r: (typeof records)[number]) => boolean, string[]]>([
    ['ab', () => true, ['abc1', 'abc2']],
    ['ABC1', () => true, ['abc1']],
    ['ab', (h) => h.outcome === 'applied', ['abc1']],
    ['abd', () => true, []],
  ])('%s names %j', (prefix, ok, commits) => {
    expect(matchCommits(records, prefix, ok)).toEqual(commits);
  });
});

describe('commitStory', () => {
  const out = (commit: string, description: string, secondsAgo: number): OutboxRecord => ({
    type: 'outbox', source: 'main', commit, context: 'berth/sync', state: 'success', description, time: ago(secondsAgo),
  });
  it('merges kept and pending statuses of its own commit in time order, and shows health only while in force', () => {
    const input = {
      source: 'main', commit: 'c2', now: NOW,
      history: [history('main', 'c1', ago(30)), history('main', 'c2', ago(20))],
      delivered: [out('c1', 'one', 30), out('c2', 'kept', 20)],
      pending: [out('c2', 'waiting', 10)],
      health: { type: 'health' as const, source: 'main', commit: 'c2', state: 'success' as const, reason: 'Running', description: '1/1 ready', conditions: [], time: ago(5) },
    };
    const story = commitStory(input);
    expect(story.statuses.map((s) => [s.description, s.delivered])).toEqual([['kept', true], ['waiting', false]]);
    expect(story).toMatchObject({ commit: 'c2', inForce: false, pinned: false, message: 'c2 message', history: [{ commitSha: 'c2' }] });
    expect(story.health).toBeUndefined();
    const inForce = commitStory({ ...input, seal: { type: 'seal', source: 'main', commit: 'c2', revision: 1, time: ago(20), author: 'Ada', message: 'm', counts: { objects: 1, created: 1, updated: 0, deleted: 0 } } });
    expect(inForce).toMatchObject({ inForce: true, health: { state: 'success', description: '1/1 ready', age: '5s' } });
  });
});
