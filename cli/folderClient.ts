/**
 * A Vertex client for a local backend's state folder rather than for one server: each call goes
 * to whichever server owns the folder at the time. The owner may end while `tune` waits (another
 * `tune run` on the folder exits as soon as its own job has ended, a `tune serve` may be
 * stopped); a call it no longer answers goes to the folder's next server, which this process
 * starts if no other has.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createVertexClient, type VertexClient } from "../components/vertex/client";
import { isVertexApiError, neverSent } from "../components/vertex/errors";
import type { RetryPolicy } from "../components/vertex/retry";
import { closeEmbeddedServers, ensureLocalBackend, serverLetGo } from "../local/embedded";

/** The project and location of `tune`'s jobs (see LOCAL_PROJECT in run.ts). */
export interface FolderClientOptions {
  stateDir: string;
  repoRoot: string;
  project: string;
  location: string;
  /** Whether a server this process starts resumes the folder's unfinished jobs (ServerOptions). */
  resumeJobs: boolean;
}

/** Looks at the owning server before looking for the folder's server again. */
const ATTEMPTS_PER_SERVER: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 1_000 };
/** Servers in turn: the owner, then the one that replaces it (found, or started here). */
const SERVERS = 3;

/**
 * The client. Calls that may be repeated (get, list, cancel, delete, an operation's wait) move
 * to the next server on a transient failure; create is sent once per call, as the resource's
 * client sends it, and `createOrAdopt` resolves a create whose answer was lost (its next calls
 * reach the next server).
 */
export function folderClient(options: FolderClientOptions): VertexClient {
  async function call<T>(request: (client: VertexClient) => Promise<T>, repeatable: boolean): Promise<T> {
    for (let server = 1; ; server++) {
      // The folder deleted since its last server answered (rm -rf .tune/state; that server, if
      // this process's, closed on it): a server started now would make it anew, with an empty
      // journal that answers only that the job does not exist.
      if (server > 1 && !existsSync(join(options.stateDir, "journal.jsonl"))) {
        throw new Error(`the state folder ${resolve(options.stateDir)} was deleted while tune used it (it has no journal.jsonl any more): its jobs and their trials' records went with it`);
      }
      const backend = await ensureLocalBackend({ stateDir: options.stateDir, repoRoot: options.repoRoot, resumeJobs: options.resumeJobs });
      const client = createVertexClient({ project: options.project, location: options.location, apiEndpoint: backend.rootUrl, token: backend.token, retry: ATTEMPTS_PER_SERVER });
      try {
        return await request(client);
      } catch (error) {
        if (!repeatable || !isVertexApiError(error) || !error.transient || server >= SERVERS) throw error;
        // A server that no longer listens is closing (or dead): the next one can take the folder
        // only once it has let go, which its close does after the trials it stops have ended.
        if (neverSent(error)) await serverLetGo(options.stateDir, backend.rootUrl);
      }
    }
  }
  return {
    parent: `projects/${options.project}/locations/${options.location}`,
    create: (job) => call((c) => c.create(job), false),
    get: (name, fields) => call((c) => c.get(name, fields), true),
    list: (filter) => call((c) => c.list(filter), true),
    cancel: (name) => call((c) => c.cancel(name), true),
    delete: (name) => call((c) => c.delete(name), true),
    waitForOperation: (operation, timeoutMs) => call((c) => c.waitForOperation(operation, timeoutMs), true),
  };
}

/**
 * Runs `call` with a client for a state folder that exists, through the server that owns it, or
 * one started for the call that resumes no job (`tune cancel`, `tune status`): its start records
 * what a dead server's trials did meanwhile and starts no trial. Any server this process started
 * is closed at the end.
 */
export async function withFolderClient<T>(options: Omit<FolderClientOptions, "resumeJobs">, call: (client: VertexClient) => Promise<T>): Promise<T> {
  const stateDir = resolve(options.stateDir);
  // Starting a server would make the folder: a mistyped --state must not leave one behind.
  if (!existsSync(join(stateDir, "journal.jsonl"))) throw new Error(`${stateDir} is not a local backend's state folder (it has no journal.jsonl)`);
  try {
    return await call(folderClient({ ...options, stateDir, resumeJobs: false }));
  } finally {
    await closeEmbeddedServers();
  }
}
