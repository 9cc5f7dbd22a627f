/**
 * The in-sandbox launcher of an agent run (SPEC §10.2) and the run directory it works in.
 * tmux runs `/bin/sh <runDir>/launch.sh <runDir>`; the script
 *
 * - rebuilds the agent's argv from one file per element (`argv/0`, `argv/1`, …; read with
 *   `$(cat …; printf x)` so trailing newlines survive) — the prompt is only ever the value of
 *   a variable, never shell text, so quotes, `$()`, backticks and newlines arrive intact;
 * - applies the run's environment (`env/<NAME>` files, `unset` names);
 * - starts the agent with SIGINT restored to default, stdin from the prompt file (big prompts)
 *   or /dev/null, stdout to `output.json` and stderr to `stderr.log`; records `started_at`, and
 *   `agent.pid` only once SIGINT is no longer ignored, so an immediate cancel is not lost;
 * - enforces `--run-timeout` itself (SIGTERM, then SIGKILL after 10 s), so a run times out
 *   even with no km process watching;
 * - writes `exit_code`, `ended_at` and `status` (succeeded, failed, timed_out, cancelled — the
 *   last when `km agent cancel` left a `stop_reason`), each atomically (tmp + rename).
 *
 * Times are epoch milliseconds (GNU date). Pure: text only.
 */
export const RUNS_DIR = '/workspace/.km-agent/runs';
export const TMUX_SOCKET = '/workspace/.km-agent/tmux.sock';
export const KILL_GRACE_S = 10;

export const runDirOf = (runId: string): string => `${RUNS_DIR}/${runId}`;
export const sessionOf = (runId: string): string => `km-agent-${runId}`;

export const LAUNCHER = `#!/bin/sh
# km agent run launcher: $1 is the run directory.
d=$1
umask 077
put() { printf '%s\\n' "$2" > "$d/$1.tmp" && mv -f "$d/$1.tmp" "$d/$1"; }
val() { v=$(cat "$1"; printf x); v=\${v%x}; }
now() { date +%s%3N; }
if [ -f "$d/unset" ]; then
  while IFS= read -r k; do [ -n "$k" ] && unset "$k"; done < "$d/unset"
fi
for f in "$d"/env/*; do
  [ -f "$f" ] || continue
  val "$f"; export "\${f##*/}=$v"
done
n=$(cat "$d/argc")
set --
i=0
while [ "$i" -lt "$n" ]; do val "$d/argv/$i"; set -- "$@" "$v"; i=$((i + 1)); done
input=/dev/null
[ -f "$d/stdin_from_prompt" ] && input="$d/prompt.txt"
timeout_s=$(cat "$d/timeout_s")
put started_at "$(now)"
# A background job of a non-interactive shell starts with SIGINT ignored; env gives the agent
# the default disposition back so km agent cancel's SIGINT reaches it. The pid is published
# only after that: a shell run by env (same pid) marks .ready and then execs the agent, so a
# cancel sent as soon as agent.pid appears is not lost while SIGINT is still ignored. The wait
# is bounded (5 s; none where sleep takes no fractions).
ready=
if env --default-signal=INT true 2>/dev/null; then
  ready="$d/.ready"
  set -- env --default-signal=INT,QUIT -- /bin/sh -c 'printf x > "$0"; exec "$@"' "$ready" "$@"
fi
"$@" < "$input" > "$d/output.json" 2> "$d/stderr.log" &
pid=$!
if [ -n "$ready" ]; then
  t=0
  while [ "$t" -lt 500 ] && [ ! -s "$ready" ] && kill -0 "$pid" 2>/dev/null; do
    sleep 0.01 2>/dev/null || break
    t=$((t + 1))
  done
  rm -f "$ready"
fi
put agent.pid "$pid"
put status running
printf 'km: agent running (pid %s); output goes to %s\\n' "$pid" "$d/output.json"
(
  deadline=$(( $(date +%s) + timeout_s ))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      [ -f "$d/stop_reason" ] || put stop_reason timed_out
      kill -TERM "$pid" 2>/dev/null
      g=0
      while [ "$g" -lt ${KILL_GRACE_S} ] && kill -0 "$pid" 2>/dev/null; do sleep 1; g=$((g + 1)); done
      kill -KILL "$pid" 2>/dev/null
      exit 0
    fi
    sleep 1
  done
) &
while :; do
  wait "$pid"
  code=$?
  kill -0 "$pid" 2>/dev/null || break
done
put exit_code "$code"
put ended_at "$(now)"
if [ -f "$d/stop_reason" ]; then st=$(cat "$d/stop_reason")
elif [ "$code" -eq 0 ]; then st=succeeded
else st=failed
fi
put status "$st"
printf 'km: agent exited with %s (%s)\\n' "$code" "$st"
`;

/** The files of a new run directory (relative path → content). */
export interface RunFilesInput {
  argv: readonly string[];
  prompt: string;
  stdinFromPrompt: boolean;
  env: Readonly<Record<string, string>>;
  unset: readonly string[];
  timeoutS: number;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function runFiles(input: RunFilesInput): Map<string, string> {
  const files = new Map<string, string>();
  files.set('launch.sh', LAUNCHER);
  files.set('prompt.txt', input.prompt);
  files.set('argc', `${input.argv.length}\n`);
  input.argv.forEach((a, i) => files.set(`argv/${i}`, a));
  for (const [k, v] of Object.entries(input.env)) {
    if (!ENV_NAME.test(k)) throw new RangeError(`invalid environment variable name ${JSON.stringify(k)}`);
    files.set(`env/${k}`, v);
  }
  const unset = input.unset.filter((k) => ENV_NAME.test(k) && input.env[k] === undefined);
  if (unset.length > 0) files.set('unset', unset.join('\n') + '\n');
  if (input.stdinFromPrompt) files.set('stdin_from_prompt', '');
  files.set('timeout_s', `${Math.max(1, Math.floor(input.timeoutS))}\n`);
  return files;
}
