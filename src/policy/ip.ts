/** IP address parsing for destination checks (pure). */

export function parseIPv4(text: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

function hexGroups(s: string): number[] | null {
  if (s === '') return [];
  const out: number[] = [];
  for (const g of s.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const v = parseInt(g, 16);
    out.push(v >> 8, v & 0xff);
  }
  return out;
}

/** 16 bytes of an IPv6 address (brackets and an embedded IPv4 tail accepted), or null. */
export function parseIPv6(text: string): number[] | null {
  let t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!t.includes(':') || !/^[0-9a-fA-F:.]+$/.test(t)) return null;
  if (t.includes('.')) {
    const at = t.lastIndexOf(':');
    const v4 = parseIPv4(t.slice(at + 1));
    if (v4 === null) return null;
    const hi = (((v4[0] ?? 0) << 8) | (v4[1] ?? 0)).toString(16);
    const lo = (((v4[2] ?? 0) << 8) | (v4[3] ?? 0)).toString(16);
    t = `${t.slice(0, at + 1)}${hi}:${lo}`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return null;
  const head = hexGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? hexGroups(halves[1] ?? '') : [];
  if (head === null || tail === null) return null;
  const fill = 16 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 2) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** A canonical key for an address (v4 or v6), or null when the text is not an address. */
export function ipKey(text: string): string | null {
  const b = parseIPv4(text) ?? parseIPv6(text);
  return b === null ? null : b.join('.') + (b.length === 4 ? '/4' : '/6');
}
