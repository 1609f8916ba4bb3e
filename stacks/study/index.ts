/**
 * The study stack: reads the study from `Pulumi.<stack>.yaml` through the one config parser and
 * runs it with `HyperparameterTuningStudy` (`pulumi up -s dev` on Vertex AI, `-s local` here).
 */
import * as pulumi from "@pulumi/pulumi";
import { HyperparameterTuningStudy, engineConfigValue, formatIssues, readStudyConfig } from "../../components";

const config = new pulumi.Config();

/** One config key's value, decoded as `engineConfigValue` says (`getObject` refuses plain strings). */
function configValue(key: string): unknown {
  const raw = config.get(key);
  return raw === undefined ? undefined : engineConfigValue(raw);
}

// Every key the stack sets, so that one of this project's namespace that nothing reads (a typo
// such as `vertex-tuning:lables`) is reported with the rest rather than ignored.
const result = readStudyConfig(configValue, config.name, Object.keys(pulumi.runtime.allConfig()));
if (!result.ok) {
  throw new pulumi.RunError(`the stack's study configuration is invalid:\n${formatIssues(result.issues)}`);
}
// Every key of the config maps one to one onto the component's args.
const tuning = new HyperparameterTuningStudy("study", result.config);

export const jobName = tuning.jobName;
export const jobState = tuning.state;
export const consoleUrl = tuning.consoleUrl;
export const trialCounts = tuning.trialCounts;
export const bestTrial = tuning.bestTrial;
export const bestParameters = tuning.bestParameters;
export const bestMetricValue = tuning.bestMetricValue;
export const bestModelDir = tuning.bestModelDir;
export const bucketName = tuning.bucketName;
export const serviceAccountEmail = tuning.serviceAccountEmail;
export const imageUri = tuning.imageUri;
