/**
 * Fast-forward proof for a ref update (SPEC §4.3): walk parents from `new` through the
 * commits in the pushed pack looking for `old`; where the walk leaves the pack, ask the
 * upstream whether `old` is an ancestor of the boundary commit. Anything short of a proof
 * is "not proven" and the update counts as a force push.
 */

export type AncestorQuery = (ancestor: string, descendant: string) => Promise<boolean | undefined>;

export interface FastForwardResult {
  proven: boolean;
  /** How it was proven (or why not): 'pack' | 'upstream' | 'not-ancestor' | 'unknown'. */
  via: 'pack' | 'upstream' | 'not-ancestor' | 'unknown';
}

const MAX_WALK = 200_000;
const MAX_BOUNDARY_QUERIES = 8;

function walk(commits: ReadonlyMap<string, string[]>, oldOid: string, newOid: string): { found: boolean; boundary: string[]; truncated: boolean } {
  const seen = new Set<string>([newOid]);
  const queue = [newOid];
  const boundary: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    if (i >= MAX_WALK) return { found: false, boundary, truncated: true };
    const id = queue[i] as string;
    if (id === oldOid) return { found: true, boundary, truncated: false };
    const parents = commits.get(id);
    if (parents === undefined) {
      boundary.push(id);
      continue;
    }
    for (const p of parents) {
      if (!seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return { found: false, boundary, truncated: false };
}

export async function proveFastForward(
  commits: ReadonlyMap<string, string[]>,
  oldOid: string,
  newOid: string,
  ask: AncestorQuery | undefined,
): Promise<FastForwardResult> {
  if (oldOid === newOid) return { proven: true, via: 'pack' };
  const w = walk(commits, oldOid, newOid);
  if (w.found) return { proven: true, via: 'pack' };
  if (w.boundary.length === 0 && !w.truncated) return { proven: false, via: 'not-ancestor' };
  if (ask === undefined || w.boundary.length > MAX_BOUNDARY_QUERIES) return { proven: false, via: 'unknown' };
  let sawNo = false;
  for (const b of w.boundary) {
    const r = await ask(oldOid, b).catch(() => undefined);
    if (r === true) return { proven: true, via: 'upstream' };
    if (r === false) sawNo = true;
  }
  return { proven: false, via: sawNo && !w.truncated && w.boundary.length === 1 ? 'not-ancestor' : 'unknown' };
}
