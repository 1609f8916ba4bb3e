/**
 * `tune cancel`: cancels a job on the local backend of a state folder and waits until every trial
 * process of it has ended, the way destroy does (components/vertex/adoption). It talks to the
 * server that owns the folder (a running `tune run` or `tune serve`), or starts one for the call
 * that resumes no job: its start ends what a dead server left running, and nothing new runs.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { VertexJob } from "../components/spec";
import { cancelAndWait } from "../components/vertex/adoption";
import { createVertexClient, type VertexClient } from "../components/vertex/client";
import { realClock } from "../components/vertex/clock";
import { isNotFound, isVertexApiError } from "../components/vertex/errors";
import type { RetryPolicy } from "../components/vertex/retry";
import { closeEmbeddedServers, ensureLocalBackend } from "../local/embedded";
import { LOCAL_LOCATION, LOCAL_PROJECT } from "./run";

/** How long `tune cancel` waits for the job's trials to end: a trial gets a grace period, then SIGKILL. */
const CANCEL_TIMEOUT_MS = 5 * 60_000;
/** Looks at the owning server before looking for the folder's server again. */
const ATTEMPTS_PER_SERVER: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 1_000 };
/** Servers in turn: the owner, then the one that replaces it (found, or started here). */
const SERVERS = 3;

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
 * Get and cancel on whichever server owns the state folder at the time of the call. The owner
 * may end while we wait (a `tune run` exits as soon as its job has ended, a `tune serve` may be
 * stopped): a call it no longer answers goes to the folder's next server, which this process
 * starts if no other has.
 */
function folderClient(stateDir: string, repoRoot: string): Pick<VertexClient, "get" | "cancel"> {
  async function call<T>(request: (client: VertexClient) => Promise<T>): Promise<T> {
    for (let server = 1; ; server++) {
      const backend = await ensureLocalBackend({ stateDir, repoRoot, resumeJobs: false });
      const client = createVertexClient({ project: LOCAL_PROJECT, location: LOCAL_LOCATION, apiEndpoint: backend.rootUrl, token: backend.token, retry: ATTEMPTS_PER_SERVER });
      try {
        return await request(client);
      } catch (error) {
        if (!isVertexApiError(error) || !error.transient || server >= SERVERS) throw error;
      }
    }
  }
  return { get: (name) => call((c) => c.get(name)), cancel: (name) => call((c) => c.cancel(name)) };
}

/** Cancels the job and returns it as it ended (a job that had already ended is returned as it is). */
export async function cancelLocalJob(options: { repoRoot: string; stateDir: string; job: string }): Promise<VertexJob> {
  const name = localJobName(options.job);
  const stateDir = resolve(options.stateDir);
  // Starting a server would make the folder: a mistyped --state must not leave one behind.
  if (!existsSync(join(stateDir, "journal.jsonl"))) throw new Error(`${stateDir} is not a local backend's state folder (it has no journal.jsonl)`);
  try {
    return await cancelAndWait(folderClient(stateDir, options.repoRoot), name, realClock, CANCEL_TIMEOUT_MS);
  } catch (error) {
    if (isNotFound(error)) throw new Error(`${name} does not exist on the local backend of ${stateDir}`);
    throw error;
  } finally {
    await closeEmbeddedServers();
  }
}
