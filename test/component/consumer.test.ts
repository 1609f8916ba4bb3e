/**
 * The consumer stack reads the best trial from the study stack through a StackReference, and
 * refuses a study whose job did not succeed.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { BEST_TRIAL, installMocks, promiseOf } from "./mocks";

const STUDY_OUTPUTS = {
  bestTrial: BEST_TRIAL,
  bestParameters: BEST_TRIAL.parameters,
  bestMetricValue: 0.91,
  bestModelDir: "gs://study-staging-4f2a9c/bayesian-hp-tuning/0123456789ab/2/model/",
  jobState: "JOB_STATE_SUCCEEDED",
};
/** The outputs of a study stack without a best trial: those of the best trial are undefined, which Pulumi leaves out. */
const { bestTrial: _best, bestModelDir: _dir, bestMetricValue: _value, ...withoutBest } = STUDY_OUTPUTS;
const NO_BEST_TRIAL = { ...withoutBest, bestParameters: {} };

/** The SDK's promises inside an output (not public API: `apply` never sees a rejection). */
type OutputInternals = { promise(): Promise<unknown>; isKnown: Promise<boolean>; isSecret: Promise<boolean> };

/**
 * How an output failed. Its known and secret flags fail alike; they are handled here, as the
 * engine would, or the test runner would report them as unhandled rejections.
 */
function rejectionOf(output: pulumi.Output<unknown>): Promise<Error> {
  const internals = output as unknown as OutputInternals;
  for (const flag of [internals.isKnown, internals.isSecret]) flag.catch(() => undefined);
  return internals.promise().then(
    () => new Error("expected the output to fail"),
    (error: Error) => error,
  );
}

describe("the consumer stack (stacks/consumer)", () => {
  it("exports the best learning rate and model dir of the referenced study stack", async () => {
    const recorded = await installMocks(STUDY_OUTPUTS, "consumer");
    pulumi.runtime.setAllConfig({ "consumer:studyStack": "my-org/vertex-tuning/dev" });
    const program = await import("../../stacks/consumer/index");
    expect(await promiseOf(program.learningRate)).toBe(0.0031);
    const reference = recorded.find((r) => r.type === "pulumi:pulumi:StackReference");
    expect(reference?.name).toBe("my-org/vertex-tuning/dev");
    expect(await promiseOf(program.parameters)).toEqual(BEST_TRIAL.parameters);
    expect(await promiseOf(program.modelDir)).toBe(STUDY_OUTPUTS.bestModelDir);
    expect(await promiseOf(program.bestMetricValue)).toBe(0.91);
    expect(await promiseOf(program.jobState)).toBe("JOB_STATE_SUCCEEDED");
  });

  it("refuses a study that succeeded without a best trial (no trial reported the metric), saying so rather than that an output is missing", async () => {
    // What a study stack with wait: false exports after `pulumi up --refresh` of such a job.
    await installMocks(NO_BEST_TRIAL, "consumer");
    pulumi.runtime.setAllConfig({ "consumer:studyStack": "my-org/vertex-tuning/dev" });
    const empty: string = "../../stacks/consumer/index?empty";
    const program = (await import(empty)) as typeof import("../../stacks/consumer/index");
    const outputs = [program.learningRate, program.parameters, program.modelDir, program.bestMetricValue, program.jobState];
    for (const error of await Promise.all(outputs.map(rejectionOf))) {
      expect(error.message).toMatch(/^the study stack my-org\/vertex-tuning\/dev has job state JOB_STATE_SUCCEEDED but no best trial: no trial succeeded with a value of the study's metric/);
      expect(pulumi.RunError.isInstance(error)).toBe(true);
    }
  });

  it("refuses a study whose job has not succeeded: every output fails, naming the state", async () => {
    // Running with wait: false, before any trial succeeded: no best trial's outputs yet.
    await installMocks({ ...NO_BEST_TRIAL, jobState: "JOB_STATE_RUNNING" }, "consumer");
    pulumi.runtime.setAllConfig({ "consumer:studyStack": "my-org/vertex-tuning/dev" });
    // A query makes a second instance of the module (a typed-away specifier: tsc cannot resolve it).
    const running: string = "../../stacks/consumer/index?running";
    const program = (await import(running)) as typeof import("../../stacks/consumer/index");
    const outputs = [program.learningRate, program.parameters, program.modelDir, program.bestMetricValue, program.jobState];
    const errors = outputs.map(rejectionOf);
    for (const error of await Promise.all(errors)) {
      expect(error.message).toBe(
        "the study stack my-org/vertex-tuning/dev has job state JOB_STATE_RUNNING, not JOB_STATE_SUCCEEDED: " +
          "wait for its study to finish (pulumi up on the study stack resumes waiting) before consuming it",
      );
      expect(pulumi.RunError.isInstance(error)).toBe(true);
    }
  });
});
