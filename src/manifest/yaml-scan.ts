import type { CST } from 'yaml';

// Bounds checked on the raw text and on the yaml library's token tree (CST), before any document is
// composed: composing recurses once per nesting level, so a deep enough file would overflow the
// stack (and a 1 MiB run of `[` took seconds even in the tokenizer).

/**
 * Offset where flow brackets (`[`, `{`) nest deeper than `max`, by a linear scan of the text; undefined if never.
 * Brackets inside quotes, comments and block scalars (`key: |` and the lines indented under it) are text, not
 * nesting, and are not counted.
 */
export function flowDepthExceeded(text: string, max: number): number | undefined {
  let depth = 0;
  let quote = '';
  /** Indentation of the line that opened a block scalar, or -1 outside one. */
  let blockIndent = -1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    if (i === lineStart && blockIndent >= 0) {
      // Inside a block scalar: skip every line indented deeper than its header's (and blank lines).
      const end = text.indexOf('\n', i);
      const line = text.slice(i, end < 0 ? text.length : end);
      if (line.trim() === '' || indentOf(line) > blockIndent) {
        if (end < 0) break;
        lineStart = end + 1;
        i = end;
        continue;
      }
      blockIndent = -1;
    }
    const c = text[i];
    if (c === '\n') {
      // A block scalar starts after a line ending in its header, outside any flow collection.
      if (depth === 0 && quote === '') {
        const line = text.slice(lineStart, i);
        if (BLOCK_HEADER.test(line)) blockIndent = indentOf(line);
      }
      quote = ''; // a quoted scalar may span lines, but counting its brackets only over-counts
      lineStart = i + 1;
    } else if (quote !== '') {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || text[i - 1] === ' ' || text[i - 1] === '\t')) {
      const end = text.indexOf('\n', i);
      if (end < 0) break;
      i = end - 1;
    } else if (c === '[' || c === '{') {
      depth++;
      if (depth > max) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

/** A line that ends in a block scalar's header (`key: |`, `- >-`, `|2+`), before an optional comment. */
const BLOCK_HEADER = /(?:^|[\s:-])[|>][1-9+-]{0,2}[ \t]*(?:#.*)?\r?$/;

function indentOf(line: string): number {
  let n = 0;
  while (line[n] === ' ') n++;
  return n;
}

/** What a document's token tree shows before it is composed. */
export interface TokenScan {
  /** Offset of the first token nested deeper than the limit. */
  tooDeep?: number;
  /** Offsets where quoted scalars start, in order (to point at the opening quote of an unterminated one). */
  quotes: number[];
}

/** Walks a document's token tree without recursion: nesting depth against `max`, and where quoted scalars open. */
export function scanTokens(doc: CST.Token, max: number): TokenScan {
  const quotes: number[] = [];
  const stack: { token: CST.Token; depth: number }[] = [{ token: doc, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { token, depth } = next;
    if (depth > max) return { tooDeep: token.offset, quotes };
    switch (token.type) {
      case 'document':
        if (token.value) stack.push({ token: token.value, depth });
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        for (const item of token.items) {
          if (item.value) stack.push({ token: item.value, depth: depth + 1 });
          if (item.key) stack.push({ token: item.key, depth: depth + 1 });
        }
        break;
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
        quotes.push(token.offset);
        break;
      default:
        break;
    }
  }
  quotes.sort((a, b) => a - b);
  return { quotes };
}
