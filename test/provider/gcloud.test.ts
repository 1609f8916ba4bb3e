/**
 * gcloud, pointed at the local backend with its token, sees and controls a job the resource
 * created: list, describe, cancel (research/vertex-api.md §3.4). Skipped, and says so, where
 * gcloud is not on PATH.
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeTuningJobProvider } from "../../components/tuningJob";
import type { LocalServer } from "../../local/server";
import { fastClock, startLocalBackend, testClient, testInputs, testJob, thrown, type LocalBackend } from "./helpers";

const hasGcloud = spawnSync("gcloud", ["--version"], { stdio: "ignore" }).status === 0;
if (!hasGcloud) console.log("gcloud.test.ts: SKIPPED: gcloud is not on PATH");

let backend: LocalBackend | undefined;
const config = mkdtempSync(join(tmpdir(), "gcloud-config-"));
afterAll(async () => {
  await backend?.stop();
  rmSync(config, { recursive: true, force: true });
});

/**
 * Runs gcloud against the server: its own config folder, the endpoint override, the server's
 * token. Asynchronously: the server answers from this very process.
 */
async function gcloud(server: LocalServer, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)("gcloud", [...args, "--region=us-central1"], {
    encoding: "utf8",
    env: {
      ...process.env,
      CLOUDSDK_CONFIG: config,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM: server.url,
      CLOUDSDK_AUTH_ACCESS_TOKEN: server.token,
      CLOUDSDK_CORE_PROJECT: "p",
      CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
    },
  });
  return stdout;
}

describe.skipIf(!hasGcloud)("gcloud against the local backend", () => {
  it("lists, describes and cancels a job created by the resource", async () => {
    backend = await startLocalBackend();
    const server = backend.server;
    const release = join(server.stateDir, "release");
    const provider = makeTuningJobProvider({ clock: fastClock(), log: () => {} });
    const inputs = testInputs(server, testJob({ maxTrialCount: 1, env: { TRAINER_WAIT_FOR_FILE: release } }), "gcloud", { waitTimeoutMinutes: 1 });
    const { id } = await thrown<{ id: string }>(provider.create(inputs));

    const listed = JSON.parse(await gcloud(server, ["ai", "hp-tuning-jobs", "list", "--format=json"])) as Array<{ name: string; labels: Record<string, string> }>;
    expect(listed.map((j) => j.name)).toEqual([id]);
    expect(listed[0].labels).toMatchObject({ "pulumi-resource": "gcloud", "pulumi-spec": inputs.specHash });

    const described = JSON.parse(await gcloud(server, ["ai", "hp-tuning-jobs", "describe", id.split("/").pop()!, "--format=json"])) as { state: string; displayName: string };
    expect(described).toMatchObject({ state: "JOB_STATE_RUNNING", displayName: "provider-test" });

    await gcloud(server, ["ai", "hp-tuning-jobs", "cancel", id.split("/").pop()!]);
    const client = testClient(server);
    let state = "";
    for (let i = 0; i < 100 && state !== "JOB_STATE_CANCELLED"; i++) {
      state = (await client.get(id)).state ?? "";
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(state).toBe("JOB_STATE_CANCELLED");
    writeFileSync(release, "");
  }, 120_000);
});
