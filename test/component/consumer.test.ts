/** The consumer stack reads the best trial from the study stack through a StackReference. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { BEST_TRIAL, installMocks, promiseOf } from "./mocks";

describe("the consumer stack (stacks/consumer)", () => {
  it("exports the best learning rate and model dir of the referenced study stack", async () => {
    const studyOutputs = {
      bestParameters: BEST_TRIAL.parameters,
      bestMetricValue: 0.91,
      bestModelDir: "gs://study-staging-4f2a9c/bayesian-hp-tuning/2/model/",
      jobState: "JOB_STATE_SUCCEEDED",
    };
    const recorded = await installMocks(studyOutputs, "consumer");
    pulumi.runtime.setAllConfig({ "consumer:studyStack": "my-org/vertex-tuning/dev" });
    const program = await import("../../stacks/consumer/index");
    expect(await promiseOf(program.learningRate)).toBe(0.0031);
    const reference = recorded.find((r) => r.type === "pulumi:pulumi:StackReference");
    expect(reference?.name).toBe("my-org/vertex-tuning/dev");
    expect(await promiseOf(program.parameters)).toEqual(BEST_TRIAL.parameters);
    expect(await promiseOf(program.modelDir)).toBe(studyOutputs.bestModelDir);
    expect(await promiseOf(program.bestMetricValue)).toBe(0.91);
    expect(await promiseOf(program.jobState)).toBe("JOB_STATE_SUCCEEDED");
  });
});
