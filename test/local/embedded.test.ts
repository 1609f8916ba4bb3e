/** `ensureLocalBackend`, the entry of the tuning-job provider and `tune run`. */
import { mkdirSync, readFileSync, realpathSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { closeEmbeddedServers, ensureLocalBackend } from "../../local/embedded";
import { startServer } from "../../local/server";
import { client, holdLock, REPO_ROOT, tempDir } from "./helpers";

/** Another repository: any folder other than this one. */
const OTHER_REPO = tempDir("other-repo-");

afterAll(() => closeEmbeddedServers());

describe("ensureLocalBackend", () => {
  it("starts one server per state folder in this process and reuses it", async () => {
    const stateDir = tempDir();
    const [a, b] = await Promise.all([ensureLocalBackend({ stateDir, repoRoot: REPO_ROOT }), ensureLocalBackend({ stateDir, repoRoot: REPO_ROOT })]);
    expect(a).toEqual(b);
    expect(a.rootUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await client({ url: a.rootUrl, token: a.token }).list()).status).toBe(200);
  });

  it("finds a live server through server.json and the lock instead of starting a second one", async () => {
    const stateDir = tempDir();
    const server = await startServer({ stateDir, repoRoot: REPO_ROOT });
    try {
      expect(await ensureLocalBackend({ stateDir, repoRoot: REPO_ROOT })).toEqual({ rootUrl: server.url, token: server.token });
    } finally {
      await server.close();
    }
    // Once that server is gone, a new one starts (its server.json and lock were removed).
    const fresh = await ensureLocalBackend({ stateDir, repoRoot: REPO_ROOT });
    expect(fresh.token).not.toBe(server.token);
    expect((await client({ url: fresh.rootUrl, token: fresh.token }).list()).status).toBe(200);
  });

  it("waits for a server that holds the folder's lock while it starts, and starts its own once the lock is free", async () => {
    const stateDir = tempDir();
    // Another process takes the lock, as a starting server does before it writes server.json,
    // and lets it go after 1.5 s.
    await holdLock(stateDir, 1500);
    const started = Date.now();
    const backend = await ensureLocalBackend({ stateDir, repoRoot: REPO_ROOT });
    expect(Date.now() - started).toBeGreaterThan(1000);
    expect((await client({ url: backend.rootUrl, token: backend.token }).list()).status).toBe(200);
  });

  it("uses the server that held the folder's lock while it started, once its server.json appears", async () => {
    const stateDir = tempDir();
    const holder = await holdLock(stateDir, 20_000, 1000);
    try {
      expect(await ensureLocalBackend({ stateDir, repoRoot: REPO_ROOT })).toEqual({ rootUrl: "http://127.0.0.1:9/", token: "held-token" });
    } finally {
      holder.kill();
    }
  });

  it("does not wait on a lock older than a start without server.json: it names the holder at once", async () => {
    const stateDir = tempDir();
    const holder = await holdLock(stateDir, 20_000);
    try {
      // Written 40 s ago: past a server's start, and not before its holder could have started.
      const before = new Date(Date.now() - 40_000);
      utimesSync(join(stateDir, "lock"), before, before);
      const started = Date.now();
      await expect(ensureLocalBackend({ stateDir, repoRoot: REPO_ROOT })).rejects.toThrow(`is in use by another local backend (pid ${holder.pid})`);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      holder.kill();
    }
  });

  it("takes over at once a lock whose pid a process started since has (a dead server's pid reused, as a container's restart does)", async () => {
    const stateDir = tempDir();
    const stranger = await holdLock(stateDir, 20_000);
    try {
      // A dead server's lock: its start is not that of the process with its pid now (and, for a
      // lock that records none, it was written an hour before that process started).
      writeFileSync(join(stateDir, "lock"), `${stranger.pid} 1`);
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(join(stateDir, "lock"), hourAgo, hourAgo);
      const started = Date.now();
      const backend = await ensureLocalBackend({ stateDir, repoRoot: REPO_ROOT });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await client({ url: backend.rootUrl, token: backend.token }).list()).status).toBe(200);
    } finally {
      stranger.kill();
    }
  });

  it("refuses a state folder of another repository, whose trainer its trials would run: served now, or before", async () => {
    const refusal = (stateDir: string) => `the state folder ${stateDir} belongs to the repository ${REPO_ROOT}, whose trainer its trials run; ${OTHER_REPO} needs a state folder of its own`;
    const live = tempDir();
    const server = await startServer({ stateDir: live, repoRoot: REPO_ROOT });
    try {
      await expect(ensureLocalBackend({ stateDir: live, repoRoot: OTHER_REPO })).rejects.toThrow(refusal(live));
    } finally {
      await server.close();
    }
    // No server on it now; the folder still belongs to the first repository.
    await expect(ensureLocalBackend({ stateDir: live, repoRoot: OTHER_REPO })).rejects.toThrow(refusal(live));
    // This process's own server is held to the same rule.
    const mine = tempDir();
    await ensureLocalBackend({ stateDir: mine, repoRoot: REPO_ROOT });
    await expect(ensureLocalBackend({ stateDir: mine, repoRoot: OTHER_REPO })).rejects.toThrow(refusal(mine));
  });

  it("lets a state folder inside its repository follow the repository when the clone is moved", async () => {
    const parent = tempDir();
    const before = join(parent, "clone");
    mkdirSync(join(before, ".tune"), { recursive: true });
    const first = await startServer({ stateDir: join(before, ".tune", "state"), repoRoot: before });
    await first.close();
    const after = join(parent, "moved");
    renameSync(before, after);
    const second = await startServer({ stateDir: join(after, ".tune", "state"), repoRoot: after });
    await second.close();
    expect(readFileSync(join(after, ".tune", "state", "repository"), "utf8").trim()).toBe(realpathSync(after));
  });
});
