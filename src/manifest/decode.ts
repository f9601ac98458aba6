import type { ManifestError } from './types.js';

/** Text of a file's bytes, or the error that says why it is not a UTF-8 text file. */
export type Decoded = { text: string } | { error: ManifestError };

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes a manifest file as Kubernetes reads one: UTF-8, a leading byte order mark dropped (so
 * columns of line 1 are right). UTF-16/32 files, binary files (a NUL byte) and invalid UTF-8 are
 * refused with the line where the problem is, never silently replaced.
 */
export function decodeManifest(path: string, bytes: Uint8Array): Decoded {
  const at = (offset: number, message: string): Decoded => ({ error: { path, ...lineOf(bytes, offset), message } });
  const utf16 = utf16Order(bytes);
  if (utf16 !== undefined) return at(0, `file is ${utf16} text; berth reads manifests as UTF-8: save it as UTF-8`);
  const nul = bytes.indexOf(0);
  if (nul >= 0) return at(nul, 'binary file (a NUL byte here); manifests are UTF-8 text');
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  try {
    return { text: decoder.decode(body) };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    return at(bad, 'invalid UTF-8 (a byte sequence that is not UTF-8 here); save the file as UTF-8');
  }
}

/** The UTF-16/32 byte order a file's BOM (or its NUL-interleaved ASCII start) shows, if any. */
function utf16Order(b: Uint8Array): string | undefined {
  if (b[0] === 0xff && b[1] === 0xfe) return b[2] === 0 && b[3] === 0 ? 'UTF-32LE' : 'UTF-16LE';
  if (b[0] === 0xfe && b[1] === 0xff) return 'UTF-16BE';
  if (b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return 'UTF-32BE';
  // Without a BOM: ASCII text in UTF-16 has every other byte NUL.
  if (b.length >= 4 && b[0] !== 0 && b[1] === 0 && b[2] !== 0 && b[3] === 0) return 'UTF-16LE';
  if (b.length >= 4 && b[0] === 0 && b[1] !== 0 && b[2] === 0 && b[3] !== 0) return 'UTF-16BE';
  return undefined;
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (linear). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    const c1 = b[i + 1] ?? 0;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    i += n + 1;
  }
  return b.length;
}

/** 1-based line and column (in bytes) of `offset`. */
function lineOf(b: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < b.length; i++) {
    if (b[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: offset - start + 1 };
}
