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

/**
 * The study's job state, which must be JOB_STATE_SUCCEEDED, with a best trial, for anything else
 * to be read. A job can succeed without one (no trial reported the metric): the study stack then
 * leaves the best trial's outputs out (with `wait: false`, after `pulumi up --refresh`), and
 * requiring them would only say that an output does not exist.
 */
const succeeded: pulumi.Output<string> = pulumi.all([study.requireOutput("jobState"), study.getOutput("bestTrial")]).apply(([state, best]: [string, unknown]) => {
  if (state !== "JOB_STATE_SUCCEEDED") {
    throw new pulumi.RunError(
      `the study stack ${studyStack} has job state ${state}, not JOB_STATE_SUCCEEDED: ` +
        "wait for its study to finish (pulumi up on the study stack resumes waiting) before consuming it",
    );
  }
  if (best === undefined || best === null) {
    throw new pulumi.RunError(
      `the study stack ${studyStack} has job state JOB_STATE_SUCCEEDED but no best trial: no trial succeeded with a value of the study's metric ` +
        "(the trainer must report it under the study's metric id); fix the cause and run the study again",
    );
  }
  return state;
});

/**
 * An output of the study stack, required to exist, and only once the study succeeded: required
 * after the check, not beside it, as a running or failed study has no best trial's outputs, and
 * their absence would otherwise be the error reported rather than the study's state.
 */
function fromSucceededStudy<T>(name: string): pulumi.Output<T> {
  return succeeded.apply(() => study.requireOutput(name)) as pulumi.Output<T>;
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
