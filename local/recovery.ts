/**
 * Start-up after a crash (or `kill -9`): the journal may show trials that were running when the
 * last server died. A trial whose command ended meanwhile left its exit status, and one still
 * running under its recording shell goes on: both are kept for their scheduler
 * (`JobScheduler.recoverTrials`) to record as they end, never run again. Any other trial's
 * processes are ended, and the trial is recorded INFEASIBLE as interrupted (the scheduler then
 * runs its parameters again).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT_STATUS_FILE, killProcesses, processesOfTrial, readExitStatus, readStopReason } from "./runner";
import { INTERRUPTED_REASON } from "../components/spec/trials";
import type { Store } from "./store";

/**
 * Whether `pid` is the shell that records the exit status of the trial in `trialDir` (Linux: its
 * command line names that file; a pid reused by an unrelated process does not).
 */
function isRecordingShell(pid: number, trialDir: string): boolean {
  try {
    // Decoded as UTF-8, as Node encoded the arguments it passed to execve: read as latin1, a folder
    // whose path is not ASCII (/home/josé) never matched, and its running trial was ended as interrupted.
    return readFileSync(join("/proc", String(pid), "cmdline"), "utf8").split("\u0000").includes(join(trialDir, EXIT_STATUS_FILE));
  } catch {
    return false;
  }
}

/**
 * Ends what the last server left running and records those trials as interrupted, except those
 * that finished meanwhile (whatever they left behind in their group is ended too) and those
 * still running under their recording shell, unless a clean stop was ending them. Returns how
 * many were interrupted.
 */
export function recoverInterruptedTrials(store: Store): number {
  let count = 0;
  for (const record of store.list()) {
    for (const t of record.trials) {
      if (t.outcome !== undefined) continue;
      const trialDir = join(store.jobDir(record.id), "trials", t.trial.id);
      const metricsFile = join(trialDir, "output.metrics");
      const running = t.pid !== undefined && !readExitStatus(trialDir) && isRecordingShell(t.pid, trialDir);
      if (running && readStopReason(trialDir) !== "shutdown") continue;
      // On Linux only processes that carry the trial's marker are ended: a recorded pid may have
      // been reused by an unrelated process since the last server died.
      const found = processesOfTrial(metricsFile);
      const targets = found ?? (t.pid ? [t.pid] : []);
      killProcesses(targets);
      if (readExitStatus(trialDir)) continue;
      store.endTrial(record.id, t.trial.id, "interrupted", INTERRUPTED_REASON);
      count++;
    }
  }
  return count;
}
