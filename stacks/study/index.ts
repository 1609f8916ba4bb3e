/**
 * The study stack: reads the study from `Pulumi.<stack>.yaml` through the one config parser and
 * runs it with `HyperparameterTuningStudy` (`pulumi up -s dev` on Vertex AI, `-s local` here).
 */
import * as pulumi from "@pulumi/pulumi";
import { HyperparameterTuningStudy, formatIssues, readStudyConfig } from "../../components";

const config = new pulumi.Config();

/**
 * One config key's value: the engine hands YAML objects, lists, numbers and booleans over as
 * JSON, and plain strings (`backend: vertex`) as they are, which `getObject` alone refuses.
 */
function configValue(key: string): unknown {
  const raw = config.get(key);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
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
