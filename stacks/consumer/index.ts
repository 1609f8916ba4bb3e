/**
 * A consumer of a study: reads the best trial from the study stack's outputs through a
 * StackReference, as a final-training or serving stack would, and only from a study whose job
 * SUCCEEDED: a failed, cancelled or unfinished study stops this stack's `pulumi up` instead of
 * handing on parameters or a model of a partial study.
 */
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const studyStack = config.require("studyStack");
const study = new pulumi.StackReference(studyStack);

/** The study's job state, which must be JOB_STATE_SUCCEEDED for anything else to be read. */
const succeeded: pulumi.Output<string> = study.requireOutput("jobState").apply((state: string) => {
  if (state !== "JOB_STATE_SUCCEEDED") {
    throw new pulumi.RunError(
      `the study stack ${studyStack} has job state ${state}, not JOB_STATE_SUCCEEDED: ` +
        "wait for its study to finish (pulumi up on the study stack resumes waiting) before consuming it",
    );
  }
  return state;
});

/** An output of the study stack, required to exist, and only once the study succeeded. */
function fromSucceededStudy<T>(name: string): pulumi.Output<T> {
  return pulumi.all([succeeded, study.requireOutput(name)]).apply(([, value]) => value as T);
}

const bestParameters = fromSucceededStudy<Record<string, number | string>>("bestParameters");

/** The tuned learning rate, for the final training run. */
export const learningRate = bestParameters.apply((p) => p["learning-rate"]);
/** Every tuned parameter. */
export const parameters = bestParameters;
/** The best metric value, to gate a promotion on. */
export const bestMetricValue = fromSucceededStudy<number>("bestMetricValue");
/** Where the best trial's model is, to serve or fine-tune from. */
export const modelDir = fromSucceededStudy<string>("bestModelDir");
/** The study's job state: always JOB_STATE_SUCCEEDED here (anything else stops the program). */
export const jobState = succeeded;
