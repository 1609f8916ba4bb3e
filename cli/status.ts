/**
 * `tune status`: the jobs of a state folder, or one job with its trials, from another terminal
 * or after the `tune run` that started them was killed. Read as `tune cancel` reads them, through
 * the server that owns the folder (a running `tune run` or `tune serve`), or one started for the
 * call that resumes no job (withFolderClient).
 */
import { existsSync } from "node:fs";
import { bestTrial, endedTrialCount, hasEnded, plainText, printable, type VertexJob } from "../components/spec";
import { isTerminal } from "../components/vertex/outputs";
import { startedHere } from "../local/embedded";
import { localJobName, onLocalJob } from "./cancel";
import { withFolderClient } from "./folderClient";
import { bestLine, isRunning, metricIdOf, trialFilesLine, trialLine } from "./progress";
import { LOCAL_LOCATION, LOCAL_PROJECT } from "./run";

/** What `tune status` shows: the jobs, and whether no other server runs the folder's jobs. */
export interface LocalStatus {
  /** Without a job: `tune run`'s jobs of the folder (project `local`), without their trials, as `list` gives them. With one: that job with its trials. */
  jobs: VertexJob[];
  /**
   * No `tune run` or `tune serve` owns the folder (this call started its server): an unfinished
   * job there is not running, whatever its state says, until the next one resumes it.
   */
  idle: boolean;
}

/** The folder's jobs, or the one named (its id, or its full name as `cancel` takes it). */
export async function localStatus(options: { repoRoot: string; stateDir: string; job?: string }): Promise<LocalStatus> {
  // No tune run has made the folder yet (a fresh clone's default one): it has no jobs, and the
  // list says so with the folder's path, which also shows a mistyped --state. A folder that is
  // there without being a state folder (--state .tune, the state folder's parent) is refused as
  // before: "no jobs" would tell its user that the jobs they look for are gone.
  if (options.job === undefined && !existsSync(options.stateDir)) return { jobs: [], idle: false };
  return withFolderClient({ stateDir: options.stateDir, repoRoot: options.repoRoot, project: LOCAL_PROJECT, location: LOCAL_LOCATION }, async (client) => {
    let jobs: VertexJob[];
    if (options.job === undefined) {
      jobs = await client.list();
    } else {
      const name = localJobName(options.job);
      jobs = [await onLocalJob(name, options.stateDir, () => client.get(name))];
    }
    return { jobs, idle: startedHere(options.stateDir) };
  });
}

/** The hint for an unfinished job nothing runs. */
function idleNote(status: LocalStatus, stateDir: string): string {
  return status.idle && status.jobs.some((j) => !isTerminal(j))
    ? `no tune run or tune serve runs ${stateDir} now: its unfinished jobs wait for the next one, which resumes them\n`
    : "";
}

/** `tune status`'s text: a line per job, or the one job's trial lines and best trial. */
export function statusText(status: LocalStatus, stateDir: string, oneJob: boolean): string {
  if (!oneJob) {
    if (!status.jobs.length) return `no jobs of tune run in ${stateDir}\n`;
    const lines = status.jobs.map((j) => {
      const stack = j.labels?.["tune-stack"];
      return printable(`${j.name!.split("/").pop()}  ${j.state}  ${j.displayName ?? ""}${stack ? `  (stack ${stack})` : ""}  created ${j.createTime ?? "?"}`);
    });
    return `${lines.join("\n")}\n${idleNote(status, stateDir)}`;
  }
  const job = status.jobs[0]!;
  const metricId = metricIdOf(job);
  const trials = job.trials ?? [];
  const ended = trials.filter(hasEnded);
  const running = trials.filter(isRunning).length;
  const lines = [printable(`${job.name} ${job.state} (${job.displayName ?? ""}): ${endedTrialCount(trials)} of ${job.maxTrialCount ?? "?"} trials ended, ${running} running`)];
  for (const t of ended) lines.push(trialLine(t, metricId));
  const best = bestTrial(job);
  if (best) lines.push(bestLine(best, metricId));
  if (job.error?.message) lines.push(`error: ${plainText(job.error.message)}`);
  lines.push(trialFilesLine(stateDir, job));
  return `${lines.join("\n")}\n${idleNote(status, stateDir)}`;
}
