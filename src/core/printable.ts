/**
 * Text from a sandbox (mail subjects and bodies, repo and ref names, prompts, model names,
 * SNI names …) shown on the operator's terminal or in a file the operator reads. Control
 * characters in it could move the cursor, erase or rewrite lines (hiding an audit line or
 * forging one), retitle the terminal, write the clipboard (OSC 52), or start a new line in a
 * generated YAML comment; bidirectional overrides could reorder what is shown. `printable`
 * turns each such character into a visible escape (`\x1b`, `\u{202e}`) and leaves the rest.
 */

/** C0 controls but tab and line feed, DEL and C1 controls, the Unicode line/paragraph separators and bidi controls. */
const CONTROLS = '\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufeff';
const UNSAFE = new RegExp(`[${CONTROLS}\\n]`, 'g');
const UNSAFE_KEEPING_LINES = new RegExp(`[${CONTROLS}]`, 'g');

const escape = (ch: string): string => {
  const code = ch.codePointAt(0) as number;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
};

/**
 * `text` with every control character but tab shown as an escape. With `lines`, line feeds
 * (and CRLF, read as one) stay line breaks; a lone CR is escaped, since it rewrites the line.
 */
export function printable(text: string, opts: { lines?: boolean } = {}): string {
  if (!opts.lines) return text.replace(UNSAFE, escape);
  return text.replace(/\r\n/g, '\n').replace(UNSAFE_KEEPING_LINES, escape);
}
