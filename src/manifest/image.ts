import { quote } from './text.js';
// Image references as Docker reads them (github.com/distribution/reference):
//   [domain[:port]/]path-component[/path-component...][:tag][@algorithm:hex]
// Kubernetes itself only checks that an image is non-empty and leaves the rest to the runtime,
// where a bad reference becomes a pod stuck in InvalidImageName; berth says so at the push.

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST_HEX: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/** What is wrong with an image reference (`redis:alpine:7` has two tags), or undefined if Docker can pull it by that name. */
export function checkImage(ref: string): string | undefined {
  const problem = imageProblem(ref);
  return problem === undefined ? undefined : `invalid image reference ${quote(ref, 512)}: ${problem}`;
}

function imageProblem(ref: string): string | undefined {
  if (ref === '') return 'must not be empty';
  if (/\s/.test(ref)) return 'must not contain whitespace';
  const [named = '', digest, ...moreDigests] = ref.split('@');
  if (moreDigests.length > 0) return "more than one '@digest'";
  if (digest !== undefined) {
    const problem = digestProblem(digest);
    if (problem !== undefined) return problem;
  }

  // A tag can only follow the last '/': a ':' before it belongs to a registry port.
  const lastSlash = named.lastIndexOf('/');
  const [last = '', tag, ...moreTags] = named.slice(lastSlash + 1).split(':');
  if (moreTags.length > 0) {
    return `more than one tag (":${[tag, ...moreTags].join(':')}"); a reference is name[:tag][@digest], e.g. "redis:7-alpine"`;
  }
  if (tag !== undefined && !TAG.test(tag)) {
    return `tag ${quote(tag, 512)} must be 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'`;
  }

  const name = `${named.slice(0, lastSlash + 1)}${last}`;
  if (name.length > 255) return 'the repository name is longer than 255 characters';
  const components = name.split('/');
  const first = components[0] ?? '';
  // Docker's rule: the first component is a registry if it has a '.' or ':', is "localhost", or has capitals.
  const hasDomain = components.length > 1 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  if (hasDomain) {
    if (!DOMAIN.test(first)) return `registry ${quote(first, 512)} is not a valid host[:port]`;
    components.shift();
  }
  for (const c of components) {
    if (c === '') return 'the repository name has an empty path component (a leading, trailing or doubled "/")';
    if (c !== c.toLowerCase()) return `the repository name must be lowercase (${quote(c, 512)})`;
    if (!PATH_COMPONENT.test(c)) {
      return `path component ${quote(c, 512)} must be lowercase letters and digits, separated by '.', '_', '__' or '-'`;
    }
  }
  return undefined;
}

function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  const algorithm = colon === -1 ? digest : digest.slice(0, colon);
  const hex = colon === -1 ? '' : digest.slice(colon + 1);
  const length = Object.hasOwn(DIGEST_HEX, algorithm) ? DIGEST_HEX[algorithm] : undefined;
  if (length === undefined) return `digest algorithm ${quote(algorithm, 512)} is not one of sha256, sha384, sha512`;
  if (hex.length !== length || !/^[0-9a-f]+$/.test(hex)) return `a ${algorithm} digest is ${length} lowercase hex characters`;
  return undefined;
}
