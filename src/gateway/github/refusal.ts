/**
 * The gateway's own answer to a refused push (SPEC §4.3): a receive-pack result that git
 * understands — `unpack ok`, `ng <ref> <reason>` for every ref — wrapped in side-band when
 * the client negotiated it, with the explanation on the progress band so git prints it as
 * `remote: …`. Pure.
 */
import { FLUSH_PKT, pkt } from './pktline.ts';

export interface RefusedRef {
  ref: string;
  reason: string;
}

export interface ReceivePackRefusal {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** True when the client asked for a status report (otherwise git would think it succeeded). */
export function canReportStatus(capabilities: readonly string[]): boolean {
  return capabilities.includes('report-status') || capabilities.includes('report-status-v2');
}

function sideband(band: 1 | 2, data: Buffer, max: number): Buffer[] {
  const out: Buffer[] = [];
  const room = max - 5;
  for (let i = 0; i < data.length; i += room) {
    out.push(pkt(Buffer.concat([Buffer.of(band), data.subarray(i, i + room)])));
  }
  return out;
}

export function receivePackRefusal(capabilities: readonly string[], refs: RefusedRef[], messages: string[]): ReceivePackRefusal {
  const report = Buffer.concat([
    pkt('unpack ok\n'),
    ...refs.map((r) => pkt(`ng ${r.ref} ${r.reason.replace(/[\r\n]/g, ' ')}\n`)),
    FLUSH_PKT,
  ]);
  const max = capabilities.includes('side-band-64k') ? 65520 : capabilities.includes('side-band') ? 1000 : 0;
  const body =
    max === 0
      ? report
      : Buffer.concat([
          ...messages.flatMap((m) => sideband(2, Buffer.from(m.endsWith('\n') ? m : `${m}\n`), max)),
          ...sideband(1, report, max),
          FLUSH_PKT,
        ]);
  return {
    status: 200,
    headers: {
      'content-type': 'application/x-git-receive-pack-result',
      'cache-control': 'no-cache',
      'content-length': String(body.length),
    },
    body,
  };
}
