/**
 * The entry the tuning-job provider and `tune run` use: a local backend for a state folder,
 * whichever way it is available. One server owns a state folder (lock), so this reuses
 * this process's server, else a live one found through `<state>/server.json`, and only then
 * starts one in this process on an ephemeral loopback port.
 */
import { readFileSync } from "node:fs";
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

/** This process's servers by state folder, with the repository each runs trials from. */
const own = new Map<string, { server: Promise<LocalServer>; repoRoot: string }>();

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

/**
 * A local backend for `stateDir` running trials from `repoRoot`: this process's server, another
 * live server's, or a new one in this process (resuming the folder's unfinished jobs unless
 * `resumeJobs` is false; see ServerOptions).
 */
export async function ensureLocalBackend(options: { stateDir: string; repoRoot: string; resumeJobs?: boolean }): Promise<LocalBackend> {
  const stateDir = resolve(options.stateDir);
  const repoRoot = canonicalPath(options.repoRoot);
  const mine = own.get(stateDir);
  if (mine) {
    if (mine.repoRoot !== repoRoot) throw otherRepositoryError(stateDir, mine.repoRoot, repoRoot);
    const server = await mine.server;
    return { rootUrl: server.url, token: server.token };
  }
  const running = findRunning(stateDir);
  if (running) {
    if (running.repoRoot !== undefined && running.repoRoot !== repoRoot) throw otherRepositoryError(stateDir, running.repoRoot, repoRoot);
    return { rootUrl: running.rootUrl, token: running.token };
  }
  const starting = startServer({ stateDir, repoRoot, resumeJobs: options.resumeJobs });
  own.set(stateDir, { server: starting, repoRoot });
  starting.catch(() => own.delete(stateDir));
  const server = await starting;
  return { rootUrl: server.url, token: server.token };
}

/** Stops every server this process started through `ensureLocalBackend`. */
export async function closeEmbeddedServers(): Promise<void> {
  const servers = [...own.values()];
  own.clear();
  await Promise.all(servers.map(async (s) => (await s.server).close()));
}
