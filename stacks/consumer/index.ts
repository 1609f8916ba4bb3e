/**
 * A consumer of a study: reads the best trial from the study stack's outputs through a
 * StackReference, as a final-training or serving stack would.
 */
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const study = new pulumi.StackReference(config.require("studyStack"));

const bestParameters = study.getOutput("bestParameters") as pulumi.Output<Record<string, number | string> | undefined>;

/** The tuned learning rate, for the final training run. */
export const learningRate = bestParameters.apply((p) => p?.["learning-rate"]);
/** Every tuned parameter. */
export const parameters = bestParameters;
/** The best metric value, to gate a promotion on. */
export const bestMetricValue = study.getOutput("bestMetricValue");
/** Where the best trial's model is, to serve or fine-tune from. */
export const modelDir = study.getOutput("bestModelDir");
/** The study's job state: a consumer can refuse to proceed unless it is JOB_STATE_SUCCEEDED. */
export const jobState = study.getOutput("jobState");
