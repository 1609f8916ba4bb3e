/**
 * `tune cancel`: cancels a job on the local backend of a state folder and waits until every trial
 * process of it has ended, the way destroy does (components/vertex/adoption). It talks to the
 * server that owns the folder (a running `tune run` or `tune serve`), or one started for the call
 * that resumes no job (withFolderClient): it follows the trials a dead server left running and
 * starts none, and the cancel ends the job's.
 */
import { resolve } from "node:path";
import type { VertexJob } from "../components/spec";
import { cancelAndWait } from "../components/vertex/adoption";
import { realClock } from "../components/vertex/clock";
import { isNotFound } from "../components/vertex/errors";
import { isTerminal } from "../components/vertex/outputs";
import { withFolderClient } from "./folderClient";
import { LOCAL_LOCATION, LOCAL_PROJECT } from "./run";

/** How long `tune cancel` waits for the job's trials to end: a trial gets a grace period, then SIGKILL. */
const CANCEL_TIMEOUT_MS = 5 * 60_000;

/**
 * The job's full name: `job` as given when it is one (any project and location, as the
 * tuning-job resource creates them), else the id of one of `tune run`'s jobs.
 */
export function localJobName(job: string): string {
  if (job.includes("/")) return job;
  if (!/^\d+$/.test(job)) throw new Error(`the job must be a numeric id or a full name projects/.../hyperparameterTuningJobs/ID (got ${JSON.stringify(job)})`);
  return `projects/${LOCAL_PROJECT}/locations/${LOCAL_LOCATION}/hyperparameterTuningJobs/${job}`;
}

/**
 * Cancels the job and returns it as it ended, and whether it was still running (a job that had
 * already ended is returned as it is).
 */
export async function cancelLocalJob(options: { repoRoot: string; stateDir: string; job: string }): Promise<{ job: VertexJob; wasRunning: boolean }> {
  const name = localJobName(options.job);
  return withFolderClient({ stateDir: options.stateDir, repoRoot: options.repoRoot, project: LOCAL_PROJECT, location: LOCAL_LOCATION }, (client) =>
    onLocalJob(name, options.stateDir, async () => {
      const wasRunning = !isTerminal(await client.get(name, "state"));
      return { job: await cancelAndWait(client, name, realClock, CANCEL_TIMEOUT_MS), wasRunning };
    }),
  );
}

/** `call`'s result, a job that does not exist named with the state folder it was looked for in. */
export async function onLocalJob<T>(name: string, stateDir: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isNotFound(error)) throw new Error(`${name} does not exist on the local backend of ${resolve(stateDir)}`);
    throw error;
  }
}
