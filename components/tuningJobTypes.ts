/**
 * The contract of the `HyperparameterTuningJob` resource: what the component passes in, what
 * comes back. Kept apart from the provider so the component and tests can name the types
 * without loading the provider.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { BestTrial, Backend, VertexJob } from "./spec";

/** Inputs of a tuning job, as the provider receives them (plain values). */
export interface TuningJobInputs {
  /** Google Cloud project of the job (any string on the local backend). */
  project: string;
  /** Region of the job, e.g. `us-central1`; selects the regional endpoint. */
  location: string;
  /** The whole Vertex AI job request (labels included; the provider adds its two idempotency labels). */
  job: VertexJob;
  /** `vertex` (default) or `local`: the local backend runs an embedded server over `localStateDir`. */
  backend?: Backend;
  /** Override of the API root, e.g. `http://127.0.0.1:8080/` for a local server started by hand or a test. On the vertex backend https, or plain http to this machine only (requests carry the Google token). */
  apiEndpoint?: string;
  /** State folder of the local backend (its journal, trial folders, token). Default `.tune/state` under the repository root. */
  localStateDir?: string;
  /** Repository root where the local backend runs trial commands. Default: the program's working directory. */
  localRepoRoot?: string;
  /** Wait for the job to end during `pulumi up`. Default true (always true on the local backend). */
  wait?: boolean;
  /** Stop waiting after this many minutes; the job keeps running and a later `pulumi up` resumes the wait. Default 24 h. */
  waitTimeoutMinutes?: number;
  /**
   * Set by the `HyperparameterTuningJob` class, not by callers: a hash of the resource's URN
   * (and organization: `jobIdentity`), carried by the job as its identity label (DESIGN.md, "Idempotency"). The provider's create
   * is not given the URN, so it arrives as an input.
   */
  identity?: string;
  /**
   * Set by the `HyperparameterTuningJob` class, not by callers: the identity label of before it
   * included the organization, when that differs from `identity`. Create names a running job
   * under it (an interrupted `up` of an earlier version may have left it), never adopts one.
   */
  formerIdentity?: string;
  /**
   * Set by the `HyperparameterTuningJob` class, not by callers: `specHash(job)`, carried by the
   * job as its spec label. Computed in the program rather than in the provider because the
   * provider is serialized by value and the hash's `node:crypto` cannot be.
   */
  specHash?: string;
  /**
   * Set by the `HyperparameterTuningJob` class on the local backend, not by callers: the
   * absolute path of the local backend's `embedded` module, which the provider host loads.
   */
  localBackendModule?: string;
  /**
   * Set by the `HyperparameterTuningJob` class, not by callers: the absolute path of googleapis'
   * aiplatform module as this library resolves it. The provider host resolves bare module names
   * from the program's folder, which in a linked or workspace install (pnpm, `file:`) has no
   * googleapis of its own.
   */
  vertexApiModule?: string;
}

/** Trials of a job counted by state. */
export interface TrialCounts {
  total: number;
  succeeded: number;
  infeasible: number;
  active: number;
  stopping: number;
  requested: number;
}

/** One trial in the resource's outputs. */
export interface TrialSummary {
  id: string;
  state: string;
  parameters: Record<string, number | string>;
  /** Final value of the study's metric, when the trial has one. */
  metricValue?: number;
  finalMeasurement?: BestTrial["finalMeasurement"];
  infeasibleReason?: string;
  startTime?: string;
  endTime?: string;
}

/** What the provider returns: the inputs plus the job's observed state. */
export interface TuningJobOutputs extends TuningJobInputs {
  /** Full resource name `projects/<p>/locations/<l>/hyperparameterTuningJobs/<id>`. */
  name: string;
  /** `JOB_STATE_*`. */
  state: string;
  createTime?: string;
  endTime?: string;
  /** The job's error (FAILED or CANCELLED), with the first trials' failure reasons appended. */
  error?: string;
  trialCounts: TrialCounts;
  trials: TrialSummary[];
  /** The best trial (DESIGN.md, "Best trial"); absent until a trial succeeds. */
  bestTrial?: BestTrial;
  /** Google Cloud console page of the job (empty on the local backend). */
  consoleUrl: string;
}

/** Resource args: every input may be a Pulumi output. */
export type TuningJobArgs = { [K in keyof TuningJobInputs]: pulumi.Input<TuningJobInputs[K]> };
