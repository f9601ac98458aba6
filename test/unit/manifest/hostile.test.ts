import { describe, expect, it } from 'vitest';
import { checkFiles, formatError, formatErrors, parseFiles, type ParseResult, type RawFile } from '../../../src/manifest/index.js';
import * as h from '../../support/hostile.js';

// Each attacker's file is built here; each case asserts the bound (generous: "finished, not hung"),
// the size of what is reported, and where. Times are measured around the pure parse only.

const MiB = 1024 * 1024;

function timed(run: () => ParseResult): { result: ParseResult; ms: number; lines: string[] } {
  const started = performance.now();
  const result = run();
  const ms = performance.now() - started;
  return { result, ms, lines: result.errors.map(formatError) };
}

const parse = (text: string, path = 'a.yaml'): ReturnType<typeof timed> => timed(() => parseFiles([{ path, text }]));
const check = (files: RawFile[]): ReturnType<typeof timed> => timed(() => checkFiles(files));

describe('aliases are resolved in linear time and their expansion is bounded', () => {
  it('10,000 aliases of one anchor: stopped at the 1,001st use, at its line, in well under a second of work per alias', () => {
    const { result, ms, lines } = parse(h.manyAliases(10_000));
    expect(ms).toBeLessThan(10_000); // before: 55 s
    expect(lines).toEqual(['a.yaml:1007:10: more than 1000 alias uses in this file; berth bounds alias expansion (write the values out)']);
    expect(result.objects).toEqual([]);
  });

  it('a 1 MiB anchor used 5 times: the expanded size is bounded, not only the count', () => {
    const text = h.bigAnchor(MiB - 200, 5);
    const { lines, ms } = timed(() => parseFiles([{ path: 'a.yaml', text }], { limits: { fileBytes: 2 * MiB } }));
    expect(ms).toBeLessThan(10_000);
    expect(lines).toEqual(['a.yaml:8:7: aliases in this file expand to more than 1 MiB; berth bounds alias expansion (write the values out)']);
  });

  it('aliases that multiply a bad value: the errors kept are capped and the rest counted', () => {
    const text = h.billionLaughs(300);
    expect(text.length).toBeLessThan(3000);
    const { result, ms } = parse(text);
    expect(ms).toBeLessThan(10_000);
    expect(result.errors).toHaveLength(1000);
    expect(result.errors.length + result.omitted).toBeGreaterThan(80_000);
    const shown = formatErrors(result.errors, result.omitted, 20);
    expect(shown).toHaveLength(21);
    expect(shown.at(-1)).toMatch(/^… and \d+ more errors$/);
    expect(shown.join('\n').length).toBeLessThan(5_000);
  });

  it('an alias of an anchor defined after it, or of none, is named', () => {
    expect(parse('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: *n}\nx: &n a\n').lines).toEqual([
      'a.yaml:3:18: metadata.name: alias *n has no anchor &n before it',
      'a.yaml:4:1: x: unknown field (supported here: apiVersion, kind, metadata, data)',
    ]);
  });
});

describe('sizes are checked before parsing', () => {
  it.each([
    ['a 48 MiB file', 48 * MiB, 'a.yaml:1:1: file is 48 MiB; manifest files are at most 1 MiB'],
    ['a 1 MiB + 1 file', MiB + 1, 'a.yaml:1:1: file is 1.0 MiB; manifest files are at most 1 MiB'],
  ])('%s is refused at the file, unread', (_, size, line) => {
    const bytes = Buffer.alloc(size, 'a');
    const { lines, ms } = check([{ path: 'a.yaml', bytes }]);
    expect(ms).toBeLessThan(1_000);
    expect(lines).toEqual([line]);
  });

  it('a commit over its limit: the file that crosses it is named, and nothing after it is read', () => {
    const files = Array.from({ length: 10 }, (_, i) => ({ path: `f${i}.yaml`, bytes: Buffer.from(h.bigConfigMap(400_000).replace('name: cfg', `name: c${i}`)) }));
    const { lines, result } = timed(() => checkFiles(files, { limits: { commitBytes: 2 * MiB } }));
    expect(lines).toEqual(['f5.yaml:1:1: the manifest files up to this one hold more than 2 MiB, the most berth reads per commit; the files after it are not read']);
    expect(result.objects.map((o) => o.name)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
  });

  it('a file over its own limit does not count towards the commit\'s, so the files after it are still checked', () => {
    const { lines } = check([
      { path: 'a.yaml', bytes: new Uint8Array(0), size: 48 * MiB },
      { path: 'b.yaml', bytes: Buffer.from('apiVersion: v1\nkind: Nope\n') },
    ]);
    expect(lines.map((l) => l.slice(0, 30))).toEqual(['a.yaml:1:1: file is 48 MiB; ma', 'b.yaml:2:7: kind Nope is not s']);
  });

  it('a valid 1 MiB one-line JSON ConfigMap of 40,000 keys: duplicate keys are checked in linear time', () => {
    const text = h.oneLineJsonConfigMap(40_000);
    const { result, ms, lines } = parse(text.slice(0, MiB - 100).replace(/,"[^,]*$/, '}}'), 'cm.json');
    expect(lines).toEqual([]);
    expect(result.objects).toHaveLength(1);
    expect(ms).toBeLessThan(20_000); // before: 80 s
  });

  it('duplicate keys are still refused, at the second one', () => {
    expect(parse('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, name: b}\n').lines).toEqual(['a.yaml:3:21: invalid YAML: Map keys must be unique']);
  });

  it('five ~1 MiB unknown keys: no suggestion is computed for them and none is echoed whole', () => {
    const files = Array.from({ length: 5 }, (_, i) => ({ path: `k${i}.json`, bytes: Buffer.from(h.hugeUnknownJsonKey(MiB - 200, `c${i}`)) }));
    const { lines, ms } = check(files);
    expect(ms).toBeLessThan(10_000); // before: 33 s
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l.length).toBeLessThan(300);
  });

  it('a key over 1 KiB and a value over the value limit are refused where they start', () => {
    const key = timed(() => parseFiles([{ path: 'a.yaml', text: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  "${'k'.repeat(200)}": v\n` }], { limits: { keyBytes: 100 } }));
    expect(key.lines).toEqual([`a.yaml:5:3: key "${'k'.repeat(40)}…" is 200 B; keys are at most 100 B`]);
    const big = timed(() => parseFiles([{ path: 'a.yaml', text: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  k: "${'v'.repeat(2000)}"\n` }], { limits: { valueBytes: 1024 } }));
    expect(big.lines).toEqual(['a.yaml:5:6: value is 2.0 KiB; values are at most 1 KiB']);
  });

  it('deep nesting is refused before the yaml library recurses into it', () => {
    const { lines, ms } = parse(h.deepNesting(100_000));
    expect(ms).toBeLessThan(1_000);
    expect(lines).toEqual(['a.yaml:5:107: nested deeper than 100 levels; berth reads at most 100']);
    const block = `a:\n${Array.from({ length: 120 }, (_, i) => `${' '.repeat(i + 1)}b${i}:`).join('\n')}\n`;
    expect(parse(block).lines).toEqual(['a.yaml:101:101: nested deeper than 100 levels; berth reads at most 100']);
  });

  it('brackets in a block scalar are text, not nesting: a script or JSON held in a ConfigMap passes', () => {
    const script = Array.from({ length: 150 }, (_, i) => `    echo "[${i}" {`).join('\n');
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  run.sh: |\n${script}\n\n${script}\n  other: >-\n${script}\n`;
    expect(parse(text).lines).toEqual([]);
    expect(parse(text).result.objects).toHaveLength(1);
    // The same brackets as flow collections still nest, and are still refused at the 101st.
    const flow = `a: ${'['.repeat(150)}${']'.repeat(150)}\n`;
    expect(parse(flow).lines).toEqual(['a.yaml:1:104: nested deeper than 100 levels; berth reads at most 100']);
  });

  it('more than 1,000 documents in a file are refused at the 1,001st', () => {
    const { lines, result, ms } = parse(h.manyDocuments(1_500));
    expect(ms).toBeLessThan(10_000);
    expect(lines).toEqual(['a.yaml:4000:1: more than 1000 documents in one file; split it']);
    expect(result.objects).toHaveLength(1000);
  });

  it('more objects than a source may hold are refused once, at the first one past the limit', () => {
    const files = Array.from({ length: 4 }, (_, i) => ({ path: `c${i}.yaml`, text: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\n` }));
    expect(parseFiles(files, { limits: { objects: 2 } }).errors.map(formatError)).toEqual(['c2.yaml:3:18: more than 2 objects in this source; berth reads at most 2']);
  });
});

describe('nothing from the repository can forge a line', () => {
  it('a kind with a newline and a CI annotation stays on its error line, escaped', () => {
    const { lines } = parse(h.FORGED_KIND);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      'a.yaml:2:7: kind Evil\\n::error file=README.md::forged is not supported by berth (supported: Deployment, ConfigMap, Secret, Service, ServiceAccount); remove it, or skip the kind on purpose with --skip-kind Evil\\n::error file=README.md::forged',
    );
    expect(lines.join('\n').split('\n')).toHaveLength(1);
  });

  it.each([
    ['a path with a newline', 'x\n::error::y.yaml', 'x\\n::error::y.yaml:2:7: kind Nope'],
    ['a path with an escape sequence', 'x\u001b[2Jy.yaml', 'x\\x1b[2Jy.yaml:2:7: kind Nope'],
    ['a path with a line separator', 'x\u2028y.yaml', 'x\\u2028y.yaml:2:7: kind Nope'],
  ])('%s', (_, path, start) => {
    const [line] = parse('apiVersion: v1\nkind: Nope\n', path).lines;
    expect(line?.startsWith(start)).toBe(true);
    // eslint-disable-next-line no-control-regex -- no control character may reach the line
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  });

  it('values echoed in messages are quoted, escaped and cut', () => {
    const [line] = parse(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "a\\u001b]0;pwned\\u0007${'b'.repeat(500)}"}\n`).lines;
    expect(line).toMatch(/^a\.yaml:3:18: metadata\.name: "a\\u001b\]0;pwned\\u0007b+…" is not a valid DNS-1123 subdomain/);
    expect(line?.length).toBeLessThan(400);
  });
});

describe('positions and encodings', () => {
  it('an unterminated quote is reported where it opens', () => {
    expect(parse(h.unterminatedQuote()).lines).toEqual(['a.yaml:5:14: invalid YAML: the quote opened here is never closed']);
  });

  it('a byte order mark does not shift the columns of line 1', () => {
    const { lines } = check([{ path: 'a.yaml', bytes: Buffer.from(h.BOM_FILE) }]);
    expect(lines[0]).toMatch(/^a\.yaml:1:7: kind Nope is not supported/);
    expect(parse(h.BOM_FILE).lines[0]).toMatch(/^a\.yaml:1:7: /);
  });

  it.each([
    ['invalid UTF-8', h.invalidUtf8(), 'a.yaml:3:18: invalid UTF-8 (a byte sequence that is not UTF-8 here); save the file as UTF-8'],
    ['UTF-16 with a BOM', h.utf16(), 'a.yaml:1:1: file is UTF-16LE text; berth reads manifests as UTF-8: save it as UTF-8'],
    ['UTF-16BE without a BOM', Buffer.from('apiVersion: v1\n', 'utf16le').swap16(), 'a.yaml:1:1: file is UTF-16BE text; berth reads manifests as UTF-8: save it as UTF-8'],
    ['a binary file', Buffer.from('apiVersion: v1\nkind: \u0000\u0001'), 'a.yaml:2:7: binary file (a NUL byte here); manifests are UTF-8 text'],
  ])('%s is refused, naming the line', (_, bytes, line) => {
    expect(check([{ path: 'a.yaml', bytes }]).lines).toEqual([line]);
  });
});

describe('YAML 1.1 spellings that Kubernetes reads differently', () => {
  it('are warnings, not errors', () => {
    const text = `${h.YAML11}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  replicas: 010\n  selector: {matchLabels: {app: w}}\n  template:\n    metadata: {labels: {app: w}}\n    spec: {containers: [{name: w, image: busybox}]}\n`;
    const { result, lines } = parse(text);
    expect(lines).toEqual([]);
    expect(result.objects).toHaveLength(2);
    expect(result.warnings.map(formatError)).toEqual([
      'a.yaml:5:6: yes is the string "yes" here, but Kubernetes (YAML 1.1) reads it as the boolean true; write "yes" or true',
      'a.yaml:6:6: NO is the string "NO" here, but Kubernetes (YAML 1.1) reads it as the boolean false; write "NO" or false',
      'a.yaml:7:6: on is the string "on" here, but Kubernetes (YAML 1.1) reads it as the boolean true; write "on" or true',
      'a.yaml:14:13: 010 is the number 10 here, but Kubernetes (YAML 1.1) reads it as octal 8; write 8, or quote it',
    ]);
  });
});
