/**
 * The provider tests' small job, run by the quadratic trainer. A module of its own, without
 * vitest, so the API budget's bench (bench/api-budget) runs the same job outside a test.
 */
import { join, resolve } from "node:path";
import type { VertexJob } from "../../components/spec";

const TRAINER = join(resolve(__dirname, "../.."), "test/provider/trainers/quadratic.js");

/** Options of the test job. */
export interface TestJobOptions {
  maxTrialCount?: number;
  parallelTrialCount?: number;
  /** Environment of the trainer (see trainers/quadratic.js). */
  env?: Record<string, string>;
  displayName?: string;
}

/** A small study: maximize `score` over x in [0, 1], run by the quadratic trainer. */
export function testJob(options: TestJobOptions = {}): VertexJob {
  return {
    displayName: options.displayName ?? "provider-test",
    maxTrialCount: options.maxTrialCount ?? 3,
    parallelTrialCount: options.parallelTrialCount ?? 1,
    maxFailedTrialCount: 0,
    studySpec: {
      metrics: [{ metricId: "score", goal: "MAXIMIZE" }],
      parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 0, maxValue: 1 }, scaleType: "UNIT_LINEAR_SCALE" }],
      algorithm: "RANDOM_SEARCH",
    },
    trialJobSpec: {
      workerPoolSpecs: [
        {
          machineSpec: { machineType: "n1-standard-4" },
          replicaCount: "1",
          containerSpec: {
            imageUri: "unused.invalid/trainer:latest",
            command: [process.execPath, TRAINER],
            env: Object.entries(options.env ?? {}).map(([name, value]) => ({ name, value })),
          },
        },
      ],
    },
  };
}
