/** Human output of km learn status (SPEC §7). Pure. */
import { countsLine, type LearnStatus } from '../learn/index.ts';
import { localMinuteZone } from '../sandbox/index.ts';

export function renderLearnStatus(s: LearnStatus, label: string, timeZone: string): string {
  if (s.session_id === null || s.started_at === null) return `${label} has no learn session; start one with km learn start ${label}\n`;
  const since = localMinuteZone(Date.parse(s.started_at), timeZone);
  const head = s.recording
    ? `${label}: recording since ${since} (learn session ${s.session_id})`
    : `${label}: not recording; learn session ${s.session_id} ran from ${since} to ${localMinuteZone(Date.parse(s.stopped_at ?? s.started_at), timeZone)}`;
  return `${head}\nobserved: ${countsLine(s.counts)}\n`;
}

