/**
 * Test helper run as its own process: the preview (mocks, `preview = true`) of a stack whose
 * study is an Output of a bad study. A problem found in an Output's callback fails the program,
 * as the Pulumi runtime fails `pulumi preview`: this process then exits non-zero with it.
 *   node --import tsx test/component/outputStudyPreview.ts
 */
import * as pulumi from "@pulumi/pulumi";
import { HyperparameterTuningStudy, type StudyDefinition } from "../../components";
import { makeTrainer, stackStudy } from "./fixtures";
import { PROJECT, STACK } from "./mocks";

async function main(): Promise<void> {
  await pulumi.runtime.setMocks({ newResource: (args) => ({ id: undefined, state: args.inputs }), call: () => ({}) }, PROJECT, STACK, true);
  const bad = { ...stackStudy("dev").study, maxTrials: 2, parallelTrials: 3 } as StudyDefinition;
  new HyperparameterTuningStudy("pout", { study: pulumi.output(bad), project: "my-project", region: "us-central1", trainer: { source: makeTrainer() } });
}

void main();
