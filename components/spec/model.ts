/**
 * The study as a user writes it: in `Pulumi.<stack>.yaml`, as the component's args, or in code.
 *
 * These are plain values (no Pulumi types): the component wraps them in `pulumi.Input`, the
 * config parser produces them, and `toVertexJob` maps them to the Vertex AI JSON. Field names
 * follow the seed tutorial and the Python SDK rather than the proto, because that is how users
 * think of a study; every field maps to exactly one Vertex field (see vertexJson.ts).
 */

/** How a numeric parameter is searched: evenly, by orders of magnitude, or dense near the maximum. */
export type Scale = "LINEAR" | "LOG" | "REVERSE_LOG";

/** Optimization direction of the study's metric. */
export type Goal = "MAXIMIZE" | "MINIMIZE";

/** Search algorithm. `BAYESIAN` is Vertex AI's default (sent as `ALGORITHM_UNSPECIFIED`). */
export type Algorithm = "BAYESIAN" | "GRID" | "RANDOM";

/** Which intermediate measurement becomes a trial's final measurement. */
export type MeasurementSelection = "LAST" | "BEST";

/** Provisioning model of the trial machines. */
export type SchedulingStrategy = "STANDARD" | "SPOT" | "FLEX_START";

/** The metric the trainer reports (through cloudml-hypertune) and the study optimizes. */
export interface MetricDefinition {
  /** The metric tag the trainer reports, e.g. `accuracy`. No whitespace. */
  id: string;
  /** Whether larger or smaller is better. */
  goal: Goal;
}

interface ParameterBase {
  /** The parameter id; also the trainer's flag name (`--<id>=<value>`). No whitespace, unique in the study. */
  id: string;
}

/** A real-valued parameter in [min, max]. */
export interface DoubleParameter extends ParameterBase {
  type: "DOUBLE";
  /** Inclusive lower bound. */
  min: number;
  /** Inclusive upper bound. */
  max: number;
  /** Search scale; LOG and REVERSE_LOG need min > 0. Default: unscaled (linear). */
  scale?: Scale;
}

/** An integer parameter in [min, max]. */
export interface IntegerParameter extends ParameterBase {
  type: "INTEGER";
  /** Inclusive lower bound (an integer). */
  min: number;
  /** Inclusive upper bound (an integer). */
  max: number;
  /** Search scale; LOG and REVERSE_LOG need min > 0. Default: unscaled (linear). */
  scale?: Scale;
  /** Parameters that exist only for some values of this one. */
  children?: ConditionalParameter[];
}

/** A parameter taking one of a list of numbers, e.g. batch sizes. */
export interface DiscreteParameter extends ParameterBase {
  type: "DISCRETE";
  /** The allowed values, increasing. */
  values: number[];
  /** Search scale over the values; LOG and REVERSE_LOG need every value > 0. Default: unscaled (linear). */
  scale?: Scale;
  /** Parameters that exist only for some values of this one. */
  children?: ConditionalParameter[];
}

/** A parameter taking one of a list of strings, e.g. an optimizer name. */
export interface CategoricalParameter extends ParameterBase {
  type: "CATEGORICAL";
  /** The allowed values. */
  values: string[];
  /** Parameters that exist only for some values of this one. */
  children?: ConditionalParameter[];
}

/** Any study parameter. */
export type ParameterDefinition = DoubleParameter | IntegerParameter | DiscreteParameter | CategoricalParameter;

/** A child parameter that is searched only when its parent takes one of `parentValues`. */
export interface ConditionalParameter {
  /** Parent values under which the child exists (numbers for INTEGER/DISCRETE parents, strings for CATEGORICAL). */
  parentValues: (number | string)[];
  /** The child parameter. */
  parameter: ParameterDefinition;
}

/**
 * Automated early stopping. Set at most one rule (Vertex accepts one).
 * Trials must report intermediate measurements (one per epoch) for any rule to act.
 */
export interface EarlyStoppingDefinition {
  /** Stop a trial whose best value is worse than the median of completed trials' running averages at the same step. */
  median?: { useElapsedDuration?: boolean };
  /** Stop a trial whose predicted final value (from its decay curve) is unlikely to beat the best trial. */
  decayCurve?: { useElapsedDuration?: boolean };
  /** Vertex's convex stopping rule (not available on the local backend). */
  convex?: {
    maxStepCount?: number;
    minStepCount?: number;
    minMeasurementCount?: number;
    learningRateParameterName?: string;
    useElapsedDuration?: boolean;
    updateAllStoppedTrials?: boolean;
  };
}

/** Where each trial runs and how. */
export interface TrialDefinition {
  /** Compute Engine machine type of each trial. Default `n1-standard-4`. */
  machineType?: string;
  /** GPU or TPU type, e.g. `NVIDIA_TESLA_T4`; needs `acceleratorCount`. */
  acceleratorType?: string;
  /** Number of accelerators per machine; needs `acceleratorType`. */
  acceleratorCount?: number;
  /** Replicas of the primary worker pool. Default 1 (Vertex requires 1 for the primary pool). */
  replicaCount?: number;
  /** Boot disk of each trial machine. Default pd-ssd, 100 GB. */
  bootDisk?: { type?: "pd-ssd" | "pd-standard" | "hyperdisk-balanced"; sizeGb?: number };
  /** Provisioning model. Default STANDARD; SPOT is cheaper and may be preempted. */
  scheduling?: SchedulingStrategy;
  /** Maximum run time of one trial in seconds. Default 7 days (Vertex's default). */
  timeoutSeconds?: number;
  /** Restart a trial when a worker restarts (instead of failing it). Default false. */
  restartOnWorkerRestart?: boolean;
  /** Extra arguments for every trial, before the tuned `--<id>=<value>` flags. */
  args?: string[];
  /** Extra environment variables for every trial. */
  env?: Record<string, string>;
  /** VPC network to peer the trials with (`projects/<number>/global/networks/<name>`). */
  network?: string;
  /** Enable an interactive shell into running trials. Default false. */
  enableWebAccess?: boolean;
}

/** The container that runs each trial. Give exactly one of `source`, `imageUri`, `pythonPackage`. */
export interface TrainerDefinition {
  /** A folder with a Dockerfile, built by Cloud Build into the study's repository. Default `trainer`. */
  source?: string;
  /** A prebuilt training image (bring your own); runs its ENTRYPOINT unless `command` is given. */
  imageUri?: string;
  /** Command that overrides the image's ENTRYPOINT (with `imageUri`). */
  command?: string[];
  /** A Python package run on a Vertex prebuilt executor image: the seed tutorial's form. */
  pythonPackage?: {
    /** A Vertex AI prebuilt training image, e.g. `us-docker.pkg.dev/vertex-ai/training/tf-gpu.2-17.py310:latest`. */
    executorImageUri: string;
    /** `gs://` URIs of the package tarballs. */
    packageUris: string[];
    /** The module to run, e.g. `trainer.task`. */
    module: string;
  };
}

/** The whole study: what is searched, how, and with which trial. */
export interface StudyDefinition {
  /** Display name of the tuning job. Default: the component's `idName`, else its name. */
  displayName?: string;
  /** The metric to optimize. */
  metric: MetricDefinition;
  /** The search space. */
  parameters: ParameterDefinition[];
  /** Search algorithm. Default BAYESIAN. */
  algorithm?: Algorithm;
  /** Total number of trials. */
  maxTrials: number;
  /** Trials run at once. Default 1; more finishes sooner but each trial learns less from the others. */
  parallelTrials?: number;
  /** Failed trials before the job fails. Default 0: the backend decides. */
  maxFailedTrials?: number;
  /** Which measurement becomes a trial's final one. Default BEST, as the Python SDK. */
  measurementSelection?: MeasurementSelection;
  /** Automated early stopping of unpromising trials. Default none. */
  earlyStopping?: EarlyStoppingDefinition;
  /** The trial machine and its arguments. */
  trial?: TrialDefinition;
}

/** Defaults applied by `toVertexJob`, exported so documentation and tests name one source. */
export const DEFAULTS = {
  machineType: "n1-standard-4",
  replicaCount: 1,
  parallelTrials: 1,
  maxFailedTrials: 0,
  measurementSelection: "BEST" as MeasurementSelection,
  algorithm: "BAYESIAN" as Algorithm,
  trainerSource: "trainer",
  /** The local backend's state folder, relative to the repository root (provider, `tune run`, `tune serve`). */
  localStateDir: ".tune/state",
} as const;
