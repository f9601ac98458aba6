// Attacker's files, built in the tests (and by bench/hostile.ts, which times them): each returns
// the file's bytes or text; nothing here is read from disk.

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n';

/** `n` aliases of one small anchor: resolution must be linear in the file, not per alias. */
export function manyAliases(n: number): string {
  return `${CM}data:\n  a: &a "x"\n${Array.from({ length: n }, (_, i) => `  k${i}: *a\n`).join('')}`;
}

/** Aliases that multiply a bad value: `n` containers, each an alias of one whose `args` alias `n` numbers (n² errors from ~8n bytes). */
export function billionLaughs(n = 300): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: laughs}
x: &a [${Array.from({ length: n }, () => '1').join(', ')}]
y: &c {name: c, image: busybox, args: *a}
spec:
  selector: {matchLabels: {app: l}}
  template:
    metadata: {labels: {app: l}}
    spec:
      containers: [${Array.from({ length: n }, () => '*c').join(', ')}]
`;
}

/** One anchor of `anchorBytes` used `uses` times: the expanded size, not the file, is what hurts. */
export function bigAnchor(anchorBytes: number, uses: number): string {
  return `${CM}data:\n  a: &a "${'x'.repeat(anchorBytes)}"\n${Array.from({ length: uses }, (_, i) => `  k${i}: *a\n`).join('')}`;
}

/** A valid ConfigMap of about `bytes` bytes, in many small keys (YAML). */
export function bigConfigMap(bytes: number): string {
  const n = Math.ceil(bytes / 24);
  return `${CM}data:\n${Array.from({ length: n }, (_, i) => `  key-${String(i).padStart(8, '0')}: "v${i}"\n`).join('')}`;
}

/** A valid ConfigMap as one-line JSON with `keys` keys: yaml's own duplicate-key check is quadratic in it. */
export function oneLineJsonConfigMap(keys: number): string {
  const data: Record<string, string> = {};
  for (let i = 0; i < keys; i++) data[`key-${i}`] = `value-${i}`;
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'json' }, data });
}

/** A ConfigMap in JSON with one unknown key of `bytes` characters (JSON keys have no length limit in the yaml library). */
export function hugeUnknownJsonKey(bytes: number, name = 'c'): string {
  return `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "${name}"}, "${'q'.repeat(bytes)}": 1}`;
}

/** `depth` nested flow lists. */
export function deepNesting(depth: number): string {
  return `${CM}data: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
}

/** `n` documents in one file. */
export function manyDocuments(n: number): string {
  return Array.from({ length: n }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\n`).join('---\n');
}

/** A `kind` holding a newline and a forged CI annotation. */
export const FORGED_KIND = 'apiVersion: v1\nkind: "Evil\\n::error file=README.md::forged"\nmetadata: {name: x}\n';

/** An unterminated double quote opened on line 4 of a long file. */
export function unterminatedQuote(): string {
  return `${CM}  namespace: "oops\ndata:\n${Array.from({ length: 150 }, (_, i) => `  k${i}: v\n`).join('')}`;
}

/** A UTF-8 BOM before a document whose line 1 has an error at a known column. */
export const BOM_FILE = '\uFEFFkind: Nope\napiVersion: v1\nmetadata: {name: x}\n';

/** Invalid UTF-8 (a lone 0xff) on line 3. */
export function invalidUtf8(): Buffer {
  return Buffer.concat([Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '), Buffer.from([0xff]), Buffer.from('x}\n')]);
}

/** A ConfigMap saved as UTF-16LE with a BOM (as some Windows editors do). */
export function utf16(): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\n', 'utf16le')]);
}

/** YAML 1.1 spellings that Kubernetes reads as booleans or octal numbers. */
export const YAML11 = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y11}\ndata:\n  a: yes\n  b: NO\n  c: on\n  d: "010"\n';
