/**
 * The entry the tuning-job provider and `tune run` use: a local backend for a state folder,
 * whichever way it is available. One server owns a state folder (lock), so this reuses
 * this process's server, else a live one found through `<state>/server.json`, and only then
 * starts one in this process on an ephemeral loopback port.
 */
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { lockOwner } from "./lock";
import { canonicalPath, otherRepositoryError, startServer, type LocalServer } from "./server";

/** Where to reach a local backend. */
export interface LocalBackend {
  /** API root for googleapis (`rootUrl`) and gcloud, e.g. `http://127.0.0.1:41234/`. */
  rootUrl: string;
  /** Bearer token (from the state folder's token file). */
  token: string;
}

/** A server this process started, the repository it runs trials from, and why it closed by itself, if it lost its folder (ServerOptions.onLost). */
interface OwnServer {
  server: Promise<LocalServer>;
  repoRoot: string;
  lost?: Error;
}

/** This process's servers by state folder. */
const own = new Map<string, OwnServer>();

/**
 * A live server on this state folder, if `server.json` and the lock agree: another process's,
 * or one this process started with `startServer` directly (a test's).
 */
function findRunning(stateDir: string): (LocalBackend & { repoRoot?: string }) | undefined {
  try {
    const info = JSON.parse(readFileSync(join(stateDir, "server.json"), "utf8")) as { url?: string; pid?: number; repoRoot?: string };
    if (!info.url || !info.pid || lockOwner(stateDir) !== info.pid) return undefined;
    return { rootUrl: info.url, token: readFileSync(join(stateDir, "token"), "utf8").trim(), repoRoot: info.repoRoot };
  } catch {
    return undefined;
  }
}

/** How long to wait for a server that holds the folder's lock but has not written server.json yet. */
const STARTING_SERVER_WAIT_MS = 30_000;

/**
 * The live server of a folder whose lock another process holds while it starts (the lock comes
 * first, server.json once its trials are recovered and it listens): waited for, rather than
 * refused as a second server. Undefined once no other process holds the lock (this process then
 * starts one), or after the wait, when startServer names the owner.
 */
async function startingServer(stateDir: string): Promise<(LocalBackend & { repoRoot?: string }) | undefined> {
  for (;;) {
    const running = findRunning(stateDir);
    if (running) return running;
    const owner = lockOwner(stateDir);
    if (owner === undefined || owner === process.pid) return undefined;
    // Only a lock taken moments ago is a server starting. An older one without server.json is a
    // server's stuck before it listens, or a dead server's whose pid another process now has (a
    // container restarted; on Linux lockOwner already knows that process for a later one):
    // startServer then names that pid at once instead of after a wait.
    if (Date.now() - lockTakenAt(stateDir) > STARTING_SERVER_WAIT_MS) return undefined;
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 100));
  }
}

/** When the folder's lock file was written (0 if it is gone). */
function lockTakenAt(stateDir: string): number {
  try {
    return statSync(join(stateDir, "lock")).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * How long a client waits for a server that no longer listens to let go of its folder: a closing
 * server ends its trials first, each given a grace period (5 s) after SIGTERM before SIGKILL.
 */
const CLOSING_SERVER_WAIT_MS = 30_000;

/**
 * Returns once the server at `rootUrl` no longer owns `stateDir` (its server.json and the lock
 * no longer agree on it), or after CLOSING_SERVER_WAIT_MS. A server stops listening as its close
 * begins and lets go of the folder only once the trials it stops have ended, seconds later when a
 * trial saves a checkpoint on SIGTERM: until then no next server can take the folder, and a
 * client that moved on at once found the closing one again and failed with ECONNREFUSED.
 */
export async function serverLetGo(stateDir: string, rootUrl: string): Promise<void> {
  const deadline = Date.now() + CLOSING_SERVER_WAIT_MS;
  while (findRunning(resolve(stateDir))?.rootUrl === rootUrl && Date.now() < deadline) {
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 100));
  }
}

/** Lookups in progress by state folder: concurrent calls wait for the first instead of racing it. */
const inFlight = new Map<string, Promise<LocalBackend>>();

/**
 * A local backend for `stateDir` running trials from `repoRoot`: this process's server, another
 * live server's (waited for while it starts), or a new one in this process (resuming the folder's
 * unfinished jobs unless `resumeJobs` is false; see ServerOptions).
 */
export async function ensureLocalBackend(options: { stateDir: string; repoRoot: string; resumeJobs?: boolean }): Promise<LocalBackend> {
  const stateDir = resolve(options.stateDir);
  const repoRoot = canonicalPath(options.repoRoot);
  const mine = own.get(stateDir);
  if (mine) {
    if (mine.repoRoot !== repoRoot) throw otherRepositoryError(stateDir, mine.repoRoot, repoRoot);
    const server = await mine.server;
    // Its folder lost, it is closing or closed: not replaced by a server started in a folder made
    // anew, whose empty journal would only answer that this process's jobs do not exist.
    if (mine.lost) throw mine.lost;
    return { rootUrl: server.url, token: server.token };
  }
  const pending = inFlight.get(stateDir);
  if (pending) {
    // Then again from the top: the first lookup's server is found (or started) by then.
    await pending.catch(() => undefined);
    return ensureLocalBackend(options);
  }
  const lookup = findOrStart(stateDir, repoRoot, options.resumeJobs).finally(() => inFlight.delete(stateDir));
  inFlight.set(stateDir, lookup);
  return lookup;
}

async function findOrStart(stateDir: string, repoRoot: string, resumeJobs: boolean | undefined): Promise<LocalBackend> {
  const running = await startingServer(stateDir);
  if (running) {
    if (running.repoRoot !== undefined && running.repoRoot !== repoRoot) throw otherRepositoryError(stateDir, running.repoRoot, repoRoot);
    return { rootUrl: running.rootUrl, token: running.token };
  }
  const mine: OwnServer = { repoRoot, server: startServer({ stateDir, repoRoot, resumeJobs, onLost: (error) => (mine.lost = error) }) };
  own.set(stateDir, mine);
  const starting = mine.server;
  starting.catch(() => own.delete(stateDir));
  const server = await starting;
  return { rootUrl: server.url, token: server.token };
}

/**
 * Whether this process started the server of `stateDir` through `ensureLocalBackend`: a `tune
 * status` that did found no other server on the folder, so nothing runs its jobs but that one.
 */
export function startedHere(stateDir: string): boolean {
  return own.has(resolve(stateDir));
}

/** Stops every server this process started through `ensureLocalBackend`. */
export async function closeEmbeddedServers(): Promise<void> {
  const servers = [...own.values()];
  own.clear();
  await Promise.all(servers.map(async (s) => (await s.server).close()));
}
