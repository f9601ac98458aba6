// Every value that came from a repository is shown through these, so that no file name, kind or
// key can start a new line, move the cursor or forge a line of a log, a CI annotation or a note.

// C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control character written as an escape (`\n`, `\x1b`, `\u2028`): always one safe line. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** `text` quoted as a JSON string (cut to `max` characters with "…"), with every control character escaped. */
export function quote(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return escapeControl(JSON.stringify(cut));
}

/** `text` cut to `max` characters (with "…") and made one safe line: for names and paths inside messages. */
export function shown(text: string, max = 200): string {
  return escapeControl(text.length > max ? `${text.slice(0, max)}…` : text);
}

function hex(c: string, width: number): string {
  return c.charCodeAt(0).toString(16).padStart(width, '0');
}
