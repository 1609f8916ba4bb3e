/**
 * gcloud against the local server (research/vertex-api.md §3.4): create from a config file,
 * describe, list with a filter. Runs where gcloud is on PATH and says so when it is skipped.
 */
import { execFile, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type LocalServer } from "../../local/server";
import { REPO_ROOT, tempDir, TRIAL_SCRIPT } from "./helpers";

const hasGcloud = spawnSync("gcloud", ["--version"], { stdio: "ignore" }).status === 0;
if (!hasGcloud) console.warn("gcloud.test.ts: SKIPPED, gcloud is not on PATH");

const run = promisify(execFile);
let server: LocalServer;

beforeAll(async () => {
  if (hasGcloud) server = await startServer({ stateDir: tempDir(), repoRoot: REPO_ROOT, pollMs: 50 });
});
afterAll(() => server?.close());

async function gcloud(...args: string[]): Promise<string> {
  const { stdout } = await run("gcloud", [...args, "--region=us-central1"], {
    env: {
      ...process.env,
      CLOUDSDK_CONFIG: tempDir("gcloud-config-"),
      CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM: server.url,
      CLOUDSDK_AUTH_ACCESS_TOKEN: server.token,
      CLOUDSDK_CORE_PROJECT: "local",
      CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
    },
  });
  return stdout.trim();
}

describe.skipIf(!hasGcloud)("gcloud ai hp-tuning-jobs", () => {
  it("creates a job from a config file, describes it and lists it by state", async () => {
    const config = join(tempDir(), "hp.yaml");
    writeFileSync(
      config,
      `studySpec:
  metrics: [{metricId: accuracy, goal: MAXIMIZE}]
  parameters: [{parameterId: x, doubleValueSpec: {minValue: 0.1, maxValue: 0.9}, scaleType: UNIT_LINEAR_SCALE}]
  algorithm: RANDOM_SEARCH
trialJobSpec:
  workerPoolSpecs:
  - machineSpec: {machineType: n1-standard-4}
    replicaCount: 1
    containerSpec: {imageUri: local/test, command: [python3, ${TRIAL_SCRIPT}], args: ["--steps=2", "--sleep=0"]}
`,
    );
    const created = await gcloud("ai", "hp-tuning-jobs", "create", "--display-name=from-gcloud", `--config=${config}`, "--max-trial-count=2", "--parallel-trial-count=1", "--labels=via=gcloud", "--format=value(name)");
    expect(created).toMatch(/^projects\/local\/locations\/us-central1\/hyperparameterTuningJobs\/\d+$/);
    const deadline = Date.now() + 20_000;
    let described = "";
    while (Date.now() < deadline) {
      described = await gcloud("ai", "hp-tuning-jobs", "describe", created.split("/").pop()!, "--format=value(state,displayName)");
      if (described.startsWith("JOB_STATE_SUCCEEDED")) break;
    }
    expect(described).toBe("JOB_STATE_SUCCEEDED\tfrom-gcloud");
    const listed = await gcloud("ai", "hp-tuning-jobs", "list", "--filter=labels.via=gcloud AND state=JOB_STATE_SUCCEEDED", "--format=value(name)");
    expect(listed).toBe(created);
    // The token never leaves the token file: gcloud sent it, the server logged only method, path, status.
    expect(JSON.stringify(server.requestLog)).not.toContain(server.token);
  });
});
