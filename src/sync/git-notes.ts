import fs from 'node:fs';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { BerthError, UnavailableError } from '../errors.js';
import { redactUrl } from '../log.js';
import type { OutboxRecord } from '../store/index.js';
import type { StatusReporter } from './reporter.js';
import { appendStatusLines, groupByCommit } from './status.js';
import { causeText, codeOf, remoteError } from './git-errors.js';
import { splitUrlCredentials, urlCredentials, type CredentialProvider } from './credentials.js';

/** The notes ref berth's statuses live under (`git log --notes=berth`, `git notes --ref=berth show`). */
export const NOTES_REF = 'refs/notes/berth';

/** Where a git-notes reporter writes. */
export interface GitNotesOptions {
  /** The repository written to: a local source's own gitdir, or a remote source's mirror. */
  gitdir: string;
  /** For a remote source: the URL the notes ref is fetched from and pushed back to (credentials in it are sent through onAuth). */
  url?: string;
  /** For a remote source that needs them: the source's credentials (see credentialProvider; default: the URL's own). */
  credentials?: CredentialProvider;
  /** Who the notes commits are by (default `berth <berth@localhost>`). */
  author?: { name: string; email: string };
  /** Pushes tried per report when another writer moves the remote notes ref in between (default 5). */
  maxAttempts?: number;
}

/**
 * Statuses as git notes under `refs/notes/berth`, one line appended per update. For a remote source
 * the notes ref is fetched, appended to and pushed back; a push that loses a race with another
 * writer is retried on top of theirs. Any other failure throws UnavailableError, so the outbox
 * keeps the entries for the next attempt.
 * NOTE: isomorphic-git reads and writes notes at the top of the notes tree only; a notes ref that
 * git itself fanned out (`ab/cdef…`, after hundreds of notes) is not read through.
 */
export class GitNotesReporter implements StatusReporter {
  private readonly author: { name: string; email: string };
  private readonly maxAttempts: number;
  private readonly credentials: CredentialProvider | undefined;

  constructor(private readonly opts: GitNotesOptions) {
    this.author = opts.author ?? { name: 'berth', email: 'berth@localhost' };
    this.maxAttempts = opts.maxAttempts ?? 5;
    this.credentials = opts.credentials ?? (opts.url === undefined ? undefined : urlCredentials(opts.url));
  }

  async report(entries: OutboxRecord[]): Promise<void> {
    try {
      await this.deliver(entries);
    } catch (cause) {
      if (cause instanceof BerthError) throw cause;
      // What is left is the local repository failing a read or a write.
      throw new UnavailableError('ENOTESWRITE', `cannot write ${NOTES_REF} in ${this.opts.gitdir}: ${causeText(cause)}`, {
        hint: 'check that the repository is there and writable by berth; the statuses wait in the outbox',
        cause,
      });
    }
  }

  private async deliver(entries: OutboxRecord[]): Promise<void> {
    if (this.opts.url === undefined) {
      await this.append(entries);
      return;
    }
    const { url } = splitUrlCredentials(this.opts.url);
    const shown = redactUrl(this.opts.url);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      // Start from the remote's notes every time: a local notes commit that was never pushed is
      // rebuilt from the outbox, which still holds its entries.
      const remote = await this.fetchNotes(url, shown);
      await this.append(entries);
      if ((await this.localNotes()) === remote) return; // every line is there already
      try {
        await git.push({ fs, http, gitdir: this.opts.gitdir, url, ref: NOTES_REF, remoteRef: NOTES_REF, ...this.auth() });
        return;
      } catch (cause) {
        if (!isLostRace(cause)) {
          throw remoteError(cause, { url: shown, credentials: this.credentials }, () => new UnavailableError('ENOTESPUSH', `cannot push ${NOTES_REF} to ${shown}: ${causeText(cause)}`, {
            hint: 'check that the Git server is up and that berth may push to it; the statuses wait in the outbox',
            cause,
          }));
        }
      }
    }
    throw new UnavailableError('ENOTESRACE', `${NOTES_REF} of ${shown} kept moving during ${this.maxAttempts} pushes`, {
      hint: 'another writer pushes notes under the same ref; berth retries later',
    });
  }

  /** Append each commit's lines to its note in the local gitdir (a note with nothing new is not rewritten). */
  private async append(entries: OutboxRecord[]): Promise<void> {
    const { gitdir } = this.opts;
    for (const { commit, entries: mine } of groupByCommit(entries)) {
      const existing = await this.readNote(commit);
      const note = appendStatusLines(existing, mine);
      if (note === (existing ?? '')) continue;
      const timestamp = Math.floor(Date.now() / 1000);
      await git.addNote({ fs, gitdir, ref: NOTES_REF, oid: commit, note, force: true, author: { ...this.author, timestamp, timezoneOffset: 0 } });
    }
  }

  private async readNote(commit: string): Promise<string | undefined> {
    try {
      return Buffer.from(await git.readNote({ fs, gitdir: this.opts.gitdir, ref: NOTES_REF, oid: commit })).toString('utf8');
    } catch (err) {
      if (codeOf(err) === 'NotFoundError') return undefined;
      throw err;
    }
  }

  private async localNotes(): Promise<string | undefined> {
    try {
      return await git.resolveRef({ fs, gitdir: this.opts.gitdir, ref: NOTES_REF });
    } catch (err) {
      if (codeOf(err) === 'NotFoundError') return undefined;
      throw err;
    }
  }

  /** isomorphic-git's onAuth, when the source has credentials: asked only after the server answers 401. */
  private auth(): { onAuth?: () => Promise<{ username: string; password: string }> } {
    const { credentials } = this;
    return credentials ? { onAuth: () => credentials.get() } : {};
  }

  /** Make the local notes ref what the remote has (absent included); returns its commit. */
  private async fetchNotes(url: string, shown: string): Promise<string | undefined> {
    const { gitdir } = this.opts;
    let oid: string | undefined;
    try {
      const res = await git.fetch({ fs, http, gitdir, url, ref: NOTES_REF, remoteRef: NOTES_REF, singleBranch: true, tags: false, ...this.auth() });
      oid = res.fetchHead ?? undefined;
    } catch (cause) {
      // The remote has no notes yet: the first report creates them.
      if (codeOf(cause) !== 'NotFoundError') {
        throw remoteError(cause, { url: shown, credentials: this.credentials }, () => new UnavailableError('ENOTESFETCH', `cannot fetch ${NOTES_REF} from ${shown}: ${causeText(cause)}`, {
          hint: 'check that the Git server is up; the statuses wait in the outbox',
          cause,
        }));
      }
    }
    if (oid === undefined) await git.deleteRef({ fs, gitdir, ref: NOTES_REF }); // a missing ref is no error
    else await git.writeRef({ fs, gitdir, ref: NOTES_REF, value: oid, force: true });
    return oid;
  }
}

/**
 * A push refused because the remote notes ref moved since it was read: isomorphic-git's own
 * fast-forward check, or the server's ref update failing (another push landed in between).
 */
function isLostRace(err: unknown): boolean {
  const code = codeOf(err);
  if (code === 'PushRejectedError') return true;
  // NOTE: the wording of the server's refusal differs between Git versions and forges; a refusal for
  // any other reason (a hook, a protected ref) is not a race and is not retried here.
  return code === 'GitPushError' && err instanceof Error && STALE_REF.test(err.message);
}

const STALE_REF = /failed to (update|lock) ref|cannot lock ref|fetch first|non-fast-forward|stale info|incorrect old value/i;
