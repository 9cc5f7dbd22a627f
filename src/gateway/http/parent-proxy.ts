/**
 * Optional parent HTTP proxy for upstream connections (operator `gateway.upstream_proxy`,
 * SPEC §3.6): every upstream connection is a CONNECT through it, except names matching
 * `gateway.upstream_proxy_bypass` (NO_PROXY style: `*`, exact names, `.suffix` or `suffix`).
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { KmError } from '../../core/errors.ts';

export interface ParentProxy {
  host: string;
  port: number;
  /** Basic credentials for the parent, from the URL's user info. */
  authorization: string | null;
  bypass: string[];
}

export function parseParentProxy(url: string, bypass: readonly string[] = []): ParentProxy {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new KmError('config_invalid', `gateway.upstream_proxy "${url}" is not a URL`, { hint: 'use http://host:port' });
  }
  if (u.protocol !== 'http:') {
    throw new KmError('config_invalid', `gateway.upstream_proxy must be an http:// URL, got ${u.protocol}`, { hint: 'use http://host:port' });
  }
  const user = decodeURIComponent(u.username);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 80 : Number(u.port),
    authorization: user ? `Basic ${Buffer.from(`${user}:${decodeURIComponent(u.password)}`).toString('base64')}` : null,
    bypass: bypass.map((b) => b.trim().toLowerCase().replace(/^\*?\./, '')).filter((b) => b !== ''),
  };
}

export function bypassesParent(p: ParentProxy, name: string): boolean {
  const n = name.toLowerCase();
  return p.bypass.some((b) => b === '*' || n === b || n.endsWith(`.${b}`));
}

/** Opens a byte stream to host:port through the parent (CONNECT); rejects on non-2xx. */
export function dialViaParent(p: ParentProxy, host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: p.host, port: p.port, noDelay: true });
    const authority = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    let buf = Buffer.alloc(0);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(Object.assign(new Error(`parent proxy: CONNECT ${authority} timed out`), { code: 'KM_TIMEOUT' })), timeoutMs);
    s.once('error', (err) => fail(err));
    s.once('connect', () => {
      const auth = p.authorization ? `Proxy-Authorization: ${p.authorization}\r\n` : '';
      s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    });
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 65_536) fail(new Error('parent proxy: response head too large'));
        return;
      }
      s.off('data', onData);
      s.pause();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (status < 200 || status > 299) {
        return fail(Object.assign(new Error(`parent proxy answered ${status || 'garbage'} to CONNECT ${authority}`), { code: 'KM_PARENT_PROXY' }));
      }
      clearTimeout(timer);
      s.removeAllListeners('error');
      const rest = buf.subarray(end + 4);
      if (rest.length) s.unshift(rest);
      // Neither paused nor flowing: the next consumer's 'data' listener starts the flow.
      (s as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
      resolve(s);
    };
    s.on('data', onData);
  });
}
