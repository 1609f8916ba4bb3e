/** `ensureLocalBackend`, the entry of the tuning-job provider and `tune run`. */
import { afterAll, describe, expect, it } from "vitest";
import { closeEmbeddedServers, ensureLocalBackend } from "../../local/embedded";
import { startServer } from "../../local/server";
import { client, REPO_ROOT, tempDir } from "./helpers";

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
});
