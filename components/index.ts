/**
 * The public library: the `HyperparameterTuningStudy` component, the tuning-job resource it
 * creates, and the study model users write (`StudyDefinition` and friends) with its one config
 * parser and the best-trial helpers.
 */
export { HyperparameterTuningStudy, STUDY_TYPE, type HyperparameterTuningStudyArgs, type StagingBucketArgs, type TrainerArgs } from "./study";
export { HyperparameterTuningJob } from "./tuningJob";
export type { TuningJobArgs, TuningJobInputs, TuningJobOutputs, TrialCounts, TrialSummary } from "./tuningJobTypes";
export { digestSource, trainerImageUri, type SourceDigest } from "./trainerImage";
export {
  DEFAULTS,
  CONFIG_KEYS,
  readStudyConfig,
  engineConfigValue,
  buildJob,
  formatIssues,
  bestTrial,
  trialModelDir,
  type StudyConfig,
  type StudyConfigResult,
  type StudyDefinition,
  type TrainerDefinition,
  type TrialDefinition,
  type MetricDefinition,
  type ParameterDefinition,
  type DoubleParameter,
  type IntegerParameter,
  type DiscreteParameter,
  type CategoricalParameter,
  type ConditionalParameter,
  type EarlyStoppingDefinition,
  type Scale,
  type Goal,
  type Algorithm,
  type MeasurementSelection,
  type SchedulingStrategy,
  type Backend,
  type BestTrial,
  type Issue,
  type JobContext,
  type VertexJob,
} from "./spec";
