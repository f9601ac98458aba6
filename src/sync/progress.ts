// What a long fetch tells a person at a terminal: isomorphic-git's progress events as one line.

/** One progress event of a fetch (isomorphic-git's GitProgressEvent). */
export interface FetchProgress {
  phase: string;
  loaded: number;
  /** 0 when the server does not say. */
  total: number;
}

/** The line for `p`: `Receiving objects: 42% (420/1000)`, or the count alone when the total is not known. */
export function progressLine(repo: string, p: FetchProgress): string {
  const count = p.total > 0 ? `${Math.floor((p.loaded / p.total) * 100)}% (${p.loaded}/${p.total})` : String(p.loaded);
  return `fetching ${repo}: ${p.phase}: ${count}`;
}
