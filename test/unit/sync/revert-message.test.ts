import { describe, expect, it } from 'vitest';
import { automaticParagraph, automaticReason, restoreMessage, revertMessage, revertedBy, rolledBackNote } from '../../../src/sync/revert-message.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('revert messages', () => {
  it.each([
    ['Git\'s own revert message', revertMessage('scale web', A), `Revert "scale web"\n\nThis reverts commit ${A}.\n`],
    ['a revert of a revert, as Git 2.43 words it', revertMessage('Revert "scale web"', A), `Reapply "scale web"\n\nThis reverts commit ${A}.\n`],
    ['an automatic revert with its reason', revertMessage('scale web', A, automaticParagraph('crash loop:\n web-0 exited')), `Revert "scale web"\n\nThis reverts commit ${A}.\n\nberth reverted it automatically: crash loop: web-0 exited\n`],
    ['--to, naming what it undoes', restoreMessage('v1', A, [B]), `Roll back to "v1"\n\nThis restores the tree of commit ${A}.\n\nThis reverts commit ${B}.\n`],
  ])('%s', (_what, message, expected) => {
    expect(message).toBe(expected);
  });

  it.each([
    ['git revert', `Revert "x"\n\nThis reverts commit ${A}.\n`, [A]],
    ['--to over two commits', restoreMessage('v1', 'c'.repeat(40), [B, A]), [B, A]],
    ['an ordinary commit', 'scale web\n\nmentions This reverts commit nothing', []],
    ['a short id is not enough', 'This reverts commit abc1234.', []],
  ])('revertedBy reads %s', (_what, message, commits) => {
    expect(revertedBy(message)).toEqual(commits);
  });

  it('says on the reverted commit who rolled it back, and why when berth did it by itself', () => {
    expect(rolledBackNote(B, revertMessage('x', A))).toBe(`rolled back by ${B.slice(0, 7)}`);
    const auto = revertMessage('x', A, automaticParagraph('image pull failed: web-0'));
    expect(automaticReason(auto)).toBe('image pull failed: web-0');
    expect(rolledBackNote(B, auto)).toBe(`rolled back automatically by ${B.slice(0, 7)}: image pull failed: web-0`);
  });
});
