/**
 * The local backend's HTTP server: a Vertex-compatible `hyperparameterTuningJobs` service on
 * loopback, for googleapis (rootUrl), gcloud (endpoint override) and the tests.
 *
 * This module owns the HTTP side: who may call (token, Host, Content-Type, size), fault
 * injection for tests, and the lifecycle of the state folder (lock, token, server.json, journal,
 * recovery, schedulers). What each route does is in routes.ts.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { join, resolve, sep } from "node:path";
import { ApiError, errorBody, statusForCode } from "./errors";
import { acquireLock, lockOwner } from "./lock";
import { recoverInterruptedTrials } from "./recovery";
import { route, type ApiRequest, type RouteContext } from "./routes";
import { JobScheduler } from "./scheduler";
import { Store, TERMINAL_STATES, type JobRecord } from "./store";
import type { Suggest } from "../optimizer";

/**
 * A rule that makes the server misbehave on matching requests, for tests of clients' retries.
 * Rules are checked in order; the first that matches and has `times` left applies.
 */
export interface FaultRule {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Pattern tested against the request path, query included (any when absent). */
  path?: RegExp;
  /** How many matching requests it applies to. Default 1. */
  times?: number;
  /** Answer this HTTP status in Google's error shape instead of handling the request. */
  status?: number;
  /**
   * Destroy the connection without answering: before handling, or after handling and committing;
   * or, with `midBody`, after committing and sending the head and part of a chunked body.
   */
  dropConnection?: "before" | "after" | "midBody";
  /** Answer this much later (the request is handled after the delay). */
  delayMs?: number;
}

/** One answered (or dropped: status 0) request. */
export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
}

/** Options of `startServer`. */
export interface ServerOptions {
  /** The state folder: journal, token, lock, trial folders. Created if missing. */
  stateDir: string;
  /** Where trial commands run. Default: the current directory. */
  repoRoot?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Address to bind. Default 127.0.0.1; anything beyond loopback needs `allowRemote`. */
  host?: string;
  /** Allow binding beyond loopback (and then any Host header). */
  allowRemote?: boolean;
  /** Fault rules (also mutable later through `LocalServer.faults`). */
  faults?: FaultRule[];
  /** Largest request body, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most jobs running at once. Default 16. */
  maxActiveJobs?: number;
  /** How often a trial's metrics file is read, ms. Default 250. */
  pollMs?: number;
  /** SIGTERM → SIGKILL grace when stopping a trial, ms. Default 5000. */
  graceMs?: number;
  /** Cores shared by a job's parallel trials. Default: this machine's. */
  cores?: number;
  /** Replaces the optimizer (tests). */
  suggest?: Suggest;
  /**
   * Resume the folder's unfinished jobs at start (run their trials). Default true. `tune cancel`
   * and `tune status` pass false: they only end or read jobs, and resuming the others would start
   * their trials just to stop them when they exit. Their schedulers are held (JobScheduler.hold):
   * the trials a killed server left running are followed and left running at exit; a cancel still
   * ends such a job.
   */
  resumeJobs?: boolean;
  /**
   * Called when the server finds it has lost its state folder (deleted, its journal replaced, its
   * lock taken: see the watchdog in startServer), with why, as its stderr line says it, as it
   * begins to close by itself.
   */
  onLost?: (error: Error) => void;
}

/** A running local backend. */
export interface LocalServer {
  /** Root URL for clients, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  /** The bearer token every request needs (also in `<stateDir>/token`). */
  token: string;
  stateDir: string;
  /** Fault rules, mutable while the server runs. */
  faults: FaultRule[];
  /** Every request answered so far, in order. */
  requestLog: RequestLogEntry[];
  /** Trial processes running now, over all jobs (tests check it). */
  runningTrials(): number;
  /**
   * Stops the server: no more requests, trial processes ended without recording their end (the
   * next server on this state folder records them as interrupted and reruns them), lock released.
   */
  close(): Promise<void>;
}

/** The names of this machine a server answers to without `allowRemote` (the Host header's name). */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

/** True for a loopback address or name: 127.0.0.0/8 is loopback whole, not 127.0.0.1 alone. */
function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * An address as `listen` takes it: an IPv6 address without the brackets a URL writes it in
 * (`[::1]`, as the server's own URL shows it), which `listen` looked up as a host name.
 */
function listenAddress(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1");
}

/** Why the server may not listen on `host`, or undefined: beyond loopback only when allowed (`tune serve` checks it first). */
export function bindingRefusal(host: string, allowRemote: boolean | undefined): string | undefined {
  return isLoopback(listenAddress(host)) || allowRemote ? undefined : `binding to ${host} exposes the backend beyond this machine: pass allowRemote (--allow-remote) to do it anyway`;
}

/** `Bearer <token>`: the scheme in any case, as RFC 7235 (2.1) makes auth schemes case-insensitive. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const credentials = /^bearer[ \t]+(.*)$/i.exec(header ?? "");
  const given = Buffer.from(credentials ? credentials[1].trim() : "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Reads the body up to `max` bytes; a larger one is refused with 413 before it is all read. One
 * whose size shows only while it is read (chunked) stops being read where it passes `max` (its end
 * may never come), and the connection closes once the 413 is sent: with the rest of the body
 * unread, it cannot carry another request.
 */
function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > max) {
      reject(new ApiError("INVALID_ARGUMENT", `the request body is larger than ${max} bytes`, 413));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        // Not req.destroy(): that closes the connection before the 413 is written. Unhooked, so
        // no later chunk can touch the answer once it is under way.
        req.off("data", onData);
        req.pause();
        res.setHeader("Connection", "close");
        reject(new ApiError("INVALID_ARGUMENT", `the request body is larger than ${max} bytes`, 413));
      } else chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolvePromise(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** A folder's one spelling (symlinks resolved), or its absolute path while it does not exist. */
export function canonicalPath(path: string): string {
  try {
    return realpathSync(resolve(path));
  } catch {
    return resolve(path);
  }
}

/**
 * The error for a state folder that belongs to another repository. A server runs every trial of
 * its folder (those it resumes after a restart too) from its repository's trainer, so a folder
 * serves one repository: sharing one would run a study with another repository's trainer.
 */
export function otherRepositoryError(stateDir: string, owner: string, repoRoot: string): Error {
  return new Error(
    `the state folder ${stateDir} belongs to the repository ${owner}, whose trainer its trials run; ` +
      `${repoRoot} needs a state folder of its own (--state, or localStateDir)`,
  );
}

/**
 * Records the repository of a state folder on its first server, and refuses a server for another.
 * A folder inside the repository (the default `.tune/state`) moved with it: the clone was moved or
 * renamed, not swapped, so the folder follows it.
 */
function claimForRepository(stateDir: string, repoRoot: string): void {
  const file = join(stateDir, "repository");
  let owner: string | undefined;
  try {
    owner = readFileSync(file, "utf8").trim();
  } catch {
    // No claim yet.
  }
  if (owner === repoRoot) return;
  if (owner !== undefined && !stateDir.startsWith(`${repoRoot}${sep}`)) throw otherRepositoryError(stateDir, owner, repoRoot);
  writeFileSync(file, `${repoRoot}\n`, { mode: 0o600 });
}

/** Starts a local backend over `options.stateDir`; refuses if another live server holds that folder. */
export async function startServer(options: ServerOptions): Promise<LocalServer> {
  const host = listenAddress(options.host ?? "127.0.0.1");
  const refusal = bindingRefusal(host, options.allowRemote);
  if (refusal) throw new Error(refusal);
  mkdirSync(resolve(options.stateDir), { recursive: true, mode: 0o700 });
  // The folder's one spelling, symlinks resolved: trials carry paths inside it in their
  // environment, and recovery finds a dead server's trials by those paths, whichever way the
  // next server was pointed at the folder.
  const stateDir = canonicalPath(options.stateDir);
  const repoRoot = canonicalPath(options.repoRoot ?? process.cwd());
  const release = acquireLock(stateDir);
  let store: Store;
  try {
    claimForRepository(stateDir, repoRoot);
    store = new Store(stateDir);
  } catch (error) {
    release();
    throw error;
  }
  /** Lets go of the state folder (its journal closed, its lock released): at close, and when the start fails. */
  const letGoOfFolder = () => {
    store.close();
    release();
  };
  const tokenPath = join(stateDir, "token");
  const token = randomBytes(32).toString("hex");
  // Unlink first: the mode of writeFileSync applies only to a file it creates.
  try {
    unlinkSync(tokenPath);
  } catch {
    // There was none.
  }
  try {
    writeFileSync(tokenPath, `${token}\n`, { mode: 0o600 });
  } catch (error) {
    // The disk full: the folder is let go, or this process (a provider's, which lives on) kept
    // its lock, and every server after, this process's too, was refused the folder.
    letGoOfFolder();
    throw error;
  }

  const schedulers = new Map<string, JobScheduler>();
  const schedulerOptions = {
    repoRoot,
    cores: options.cores ?? availableParallelism(),
    pollMs: options.pollMs ?? 250,
    graceMs: options.graceMs ?? 5000,
    suggest: options.suggest,
  };
  const schedule = (record: JobRecord, fresh: boolean) => {
    const scheduler = new JobScheduler(store, record, schedulerOptions);
    schedulers.set(record.id, scheduler);
    if (fresh) {
      scheduler.begin();
      return;
    }
    scheduler.recoverTrials();
    if (options.resumeJobs === false) {
      scheduler.hold();
      scheduler.log("not resumed: the new server was started to cancel or look at a job (its running trials are followed, and left running at its exit)");
      // A job hold() leaves to this server (its cancel or failure begun) ends here once no trial
      // runs: a CANCELLING job whose trials had all ended (a run's second Ctrl-C closes its
      // server before it records the cancel's end) stayed CANCELLING, and `tune cancel` waited
      // for it until its timeout. A held job's pump does nothing.
      scheduler.pump();
    } else {
      scheduler.log("resumed by a new server");
      scheduler.pump();
    }
  };
  const ctx: RouteContext = {
    store,
    schedule: (record) => schedule(record, true),
    scheduler: (id) => schedulers.get(id),
    maxActiveJobs: options.maxActiveJobs ?? 16,
  };

  const faults: FaultRule[] = options.faults ?? [];
  const requestLog: RequestLogEntry[] = [];
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  let port = 0;

  const answer = (res: ServerResponse, method: string, path: string, status: number, body: string) => {
    requestLog.push({ method, path, status });
    res.writeHead(status, { "Content-Type": "application/json; charset=UTF-8", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  };
  const drop = (req: IncomingMessage, method: string, path: string) => {
    requestLog.push({ method, path, status: 0 });
    req.socket.destroy();
  };

  /** Answers one request; throws ApiError to refuse it, and anything else is a 500 (see the server's callback). */
  const handle = async (req: IncomingMessage, res: ServerResponse, method: string, url: URL) => {
    const path = url.pathname;
    const hostHeader = (req.headers.host ?? "").toLowerCase();
    // The loopback names, and the address bound (127.0.0.2 is loopback too, and its URL names it).
    const allowedHosts = [...new Set([...LOOPBACK, host])].map((h) => `${h.includes(":") ? `[${h}]` : h}:${port}`);
    if (!options.allowRemote && !allowedHosts.includes(hostHeader)) {
      throw new ApiError("PERMISSION_DENIED", `Host ${JSON.stringify(req.headers.host ?? "")} is not this server: use http://127.0.0.1:${port}/`);
    }
    if (!tokenMatches(req.headers.authorization, token)) {
      throw new ApiError("UNAUTHENTICATED", `send Authorization: Bearer <the token in ${tokenPath}>`);
    }
    const fault = faults.find((f) => (f.times ?? 1) > 0 && (!f.method || f.method === method) && (!f.path || f.path.test(`${path}${url.search}`)));
    if (fault) fault.times = (fault.times ?? 1) - 1;
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.dropConnection === "before") return drop(req, method, path);
    if (fault?.status) {
      const status = statusForCode(fault.status);
      return answer(res, method, path, fault.status, errorBody(fault.status, status, `injected fault: ${status}`));
    }
    const raw = await readBody(req, res, maxBody);
    let body: unknown;
    if (raw.length > 0) {
      const type = String(req.headers["content-type"] ?? "");
      if (!/^application\/json\b/i.test(type)) {
        throw new ApiError("INVALID_ARGUMENT", `the body must be JSON (Content-Type: application/json; got ${JSON.stringify(type)})`, 415);
      }
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        throw new ApiError("INVALID_ARGUMENT", "the body is not valid JSON");
      }
    }
    const apiRequest: ApiRequest = { method, path, query: url.searchParams, body };
    const result = route(ctx, apiRequest);
    if (fault?.dropConnection === "after") return drop(req, method, path);
    if (fault?.dropConnection === "midBody") {
      const body = JSON.stringify(result);
      res.writeHead(200, { "Content-Type": "application/json; charset=UTF-8" });
      res.write(body.slice(0, Math.floor(body.length / 2)));
      // Once the first chunk is on its way: a client sees a 200 whose body stops short.
      return void setTimeout(() => drop(req, method, path), 20);
    }
    answer(res, method, path, 200, JSON.stringify(result));
  };

  // Every failure of a request is answered here, a malformed target's too: a throw left to the
  // promise would be an unhandled rejection, which ends the process (and every job's scheduler).
  const server = createServer((req, res) => {
    const method = req.method ?? "GET";
    // The target as sent until it parses: the request log names a malformed one as it came.
    let path = req.url ?? "/";
    (async () => {
      let url: URL;
      try {
        url = new URL(path, "http://localhost");
      } catch {
        throw new ApiError("INVALID_ARGUMENT", `the request target ${JSON.stringify(path)} is not a valid URL`);
      }
      path = url.pathname;
      await handle(req, res, method, url);
    })().catch((thrown: unknown) => {
      // Past its head, an answer can only be cut short.
      if (res.headersSent) return drop(req, method, path);
      const error = thrown instanceof ApiError ? thrown : new ApiError("INTERNAL", `internal error of the local backend: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
      answer(res, method, path, error.httpCode, errorBody(error.httpCode, error.status, error.message));
    });
  });
  /** Stops accepting connections and drops the open ones; resolves once the server is closed. */
  const stopListening = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolvePromise());
  }).catch((error) => {
    letGoOfFolder();
    throw error;
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const url = `http://${urlHost}:${port}/`;

  const serverJson = join(stateDir, "server.json");
  try {
    // Recovery before the first request can see a half-dead trial.
    recoverInterruptedTrials(store);
    for (const record of store.list()) {
      if (!TERMINAL_STATES.has(record.job.state)) schedule(record, false);
    }
    writeFileSync(serverJson, `${JSON.stringify({ url, pid: process.pid, repoRoot })}\n`, { mode: 0o600 });
  } catch (error) {
    // A start that fails here (the journal's disk full) ends as a kill would: trials are left
    // running, unfollowed, for the next server. Left listening, with its lock and the trials'
    // polls, the server kept its process from exiting after the error (tune run, tune serve hung)
    // and any other server from the folder.
    await stopListening();
    for (const scheduler of schedulers.values()) scheduler.abandon();
    letGoOfFolder();
    throw error;
  }

  let closed: Promise<void> | undefined;
  /** Why the server no longer owns its folder, once its watchdog saw it. */
  let lost: Error | undefined;
  const close = () =>
    (closed ??= (async () => {
      clearInterval(watchdog);
      await stopListening();
      await Promise.all([...schedulers.values()].map((s) => s.shutdown(!lost)));
      // A lost folder's server.json is gone with it, or is the next server's (which the folder,
      // made anew, now has): removed, tune status and the next run no longer found that server.
      if (!lost) {
        try {
          unlinkSync(serverJson);
        } catch {
          // Already gone.
        }
      }
      letGoOfFolder();
    })());
  // A state folder deleted while the server runs (rm -rf .tune/state), or its lock taken: the
  // journal's open file takes every append still, and mkdir made the folder again for job.log and
  // each trial, so the server ran the study on into a skeleton of a folder that no server after it
  // could read (no journal, lock, token or server.json), beside whichever server took the folder
  // next. Commits see it (StateFolderLost) and refuse; this sees it while trials run and nothing
  // commits, as often as their metrics are read, and ends the server as close() does: trials
  // stopped, nothing more recorded, since nothing recorded now would ever be read.
  const watchdog = setInterval(() => {
    const why = store.journalLost() ?? (lockOwner(stateDir) === process.pid ? undefined : `the lock ${join(stateDir, "lock")} was deleted or taken by another process`);
    if (!why || closed) return;
    lost = new Error(`${why} while its local backend ran (pid ${process.pid}): the server stops its trials and closes, writing nothing more there`);
    process.stderr.write(`local backend: ${lost.message}\n`);
    options.onLost?.(lost);
    void close();
  }, schedulerOptions.pollMs);
  watchdog.unref();
  return {
    url,
    token,
    stateDir,
    faults,
    requestLog,
    runningTrials: () => [...schedulers.values()].reduce((n, s) => n + s.runningCount, 0),
    close,
  };
}
