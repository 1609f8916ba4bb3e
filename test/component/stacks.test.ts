/**
 * The stack programs under mocks: the study stack with Pulumi.dev.yaml's configuration exports
 * the study's outputs; the consumer reads them back through a StackReference.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { BEST_TRIAL, JOB_TYPE, installMocks, promiseOf } from "./mocks";
import { stackConfigFile } from "./fixtures";

/** Config values as the engine hands them to a program: strings, objects as JSON. */
function asEngineConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

describe("the study stack (stacks/study)", () => {
  it("runs Pulumi.dev.yaml's study on Vertex AI and exports every output", async () => {
    const recorded = await installMocks();
    pulumi.runtime.setAllConfig(asEngineConfig(stackConfigFile("dev")));
    const program = await import("../../stacks/study/index");
    const names = ["jobName", "jobState", "consoleUrl", "trialCounts", "bestTrial", "bestParameters", "bestMetricValue", "bestModelDir", "bucketName", "serviceAccountEmail", "imageUri"] as const;
    const outputs = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await promiseOf<unknown>(program[n])] as const))) as Record<(typeof names)[number], any>;
    expect(outputs).toMatchObject({
      jobName: "projects/p/locations/us-central1/hyperparameterTuningJobs/123",
      jobState: "JOB_STATE_SUCCEEDED",
      bestTrial: BEST_TRIAL,
      bestParameters: BEST_TRIAL.parameters,
      bestMetricValue: 0.91,
      bucketName: "study-staging-4f2a9c",
      serviceAccountEmail: "vertex-tuning-study-dev-trials@your-project-id.iam.gserviceaccount.com",
    });
    // Each spec has its own output folder under the display name.
    expect(outputs.bestModelDir).toMatch(/^gs:\/\/study-staging-4f2a9c\/bayesian-hp-tuning\/[0-9a-f]{12}\/2\/model\/$/);
    expect(outputs.consoleUrl).toContain("your-project-id");
    expect(outputs.imageUri).toMatch(/^us-central1-docker\.pkg\.dev\/your-project-id\/vertex-tuning-study-dev\/trainer:[0-9a-f]{16}$/);
    const job = recorded.find((r) => r.type === JOB_TYPE)!;
    expect(job.inputs.job.labels).toEqual({ team: "ml-platform" });
    expect(job.inputs.job.studySpec.parameters.map((p: { parameterId: string }) => p.parameterId)).toEqual(["learning-rate", "num-units", "dropout-rate", "batch-size"]);
  });
});

/**
 * Runs a fresh instance of the study program (a query makes a second instance of the module; the
 * specifier is typed away, as tsc cannot resolve it) and returns its error's lines, trimmed.
 */
async function programErrorLines(instance: string): Promise<string[]> {
  const program: string = `../../stacks/study/index?${instance}`;
  const error = await import(program).then(
    () => new Error("expected the program to fail"),
    (err: Error) => err,
  );
  return error.message.split("\n").map((l) => l.trim());
}

describe("the study stack's configuration errors", () => {
  it("fails with every config problem listed, each at its key", async () => {
    // Same mock runtime (the study above stays registered); a fresh instance of the program.
    pulumi.runtime.setAllConfig({
      "vertex-tuning:backend": "cloud",
      "vertex-tuning:study": JSON.stringify({ metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE" }], maxTrial: 3 }),
    });
    const lines = await programErrorLines("invalid");
    expect(lines[0]).toBe("the stack's study configuration is invalid:");
    expect(lines.slice(1).map((l) => l.split(":").slice(0, 2).join(":"))).toEqual([
      "vertex-tuning:backend",
      "vertex-tuning:study.parameters[0].min",
      "vertex-tuning:study.parameters[0].max",
      "vertex-tuning:study.maxTrial",
      "vertex-tuning:study.maxTrials",
    ]);
  });

  it("fails on a key of the project's namespace it does not know, naming the closest, beside the other problems", async () => {
    const { ["vertex-tuning:labels"]: labels, ["vertex-tuning:study"]: study, ...dev } = stackConfigFile("dev");
    pulumi.runtime.setAllConfig(asEngineConfig({
      ...dev,
      "vertex-tuning:lables": labels,
      "vertex-tuning:waitTimeoutMinute": 50,
      "vertex-tuning:study": { ...(study as object), maxTrials: 200_000 },
    }));
    const lines = await programErrorLines("typo");
    expect(lines[0]).toBe("the stack's study configuration is invalid:");
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^vertex-tuning:lables: unknown key: did you mean vertex-tuning:labels\?/),
      expect.stringMatching(/^vertex-tuning:waitTimeoutMinute: unknown key: did you mean vertex-tuning:waitTimeoutMinutes\?/),
      expect.stringMatching(/^vertex-tuning:study.maxTrials: /),
    ]);
  });

  it("names a bad setting beside a misspelt key, at its config key, where it came a run later from the component", async () => {
    const { ["vertex-tuning:labels"]: labels, ...dev } = stackConfigFile("dev");
    pulumi.runtime.setAllConfig(asEngineConfig({
      ...dev,
      "vertex-tuning:lables": labels,
      "vertex-tuning:waitTimeoutMinutes": 0,
      "vertex-tuning:bucket": { stagingObjectAgeDays: 0.5 },
      "vertex-tuning:buildServiceAccountEmail": "builder",
    }));
    const lines = await programErrorLines("settings");
    expect(lines.slice(1).map((l) => l.split(": ")[0])).toEqual([
      "vertex-tuning:lables",
      "vertex-tuning:waitTimeoutMinutes",
      "vertex-tuning:bucket.stagingObjectAgeDays",
      "vertex-tuning:buildServiceAccountEmail",
    ]);
  });
});
