/**
 * The optimizer's contract with the local backend (see DESIGN.md, "The optimizer's interface").
 *
 * The optimizer is pure and stateless: everything it knows comes in through `SuggestRequest`,
 * and the same request always gives the same suggestions. The search space is the Vertex AI
 * `StudySpec` itself, so no second model of parameters exists.
 */
import type { aiplatform_v1 } from "googleapis/build/src/apis/aiplatform";

/** The Vertex AI study spec: parameters (with conditional children), metric goal, algorithm. */
export type StudySpec = aiplatform_v1.Schema$GoogleCloudAiplatformV1StudySpec;
/** One Vertex AI parameter spec. */
export type ParameterSpec = aiplatform_v1.Schema$GoogleCloudAiplatformV1StudySpecParameterSpec;

/** A parameter value as Vertex reports it in a trial: a number for DOUBLE, INTEGER and DISCRETE, a string for CATEGORICAL. */
export type ParameterValue = number | string;

/**
 * One trial's parameters, by `parameterId`. Only active parameters appear: a conditional child is
 * present exactly when its parent's value satisfies the child's parent condition.
 */
export type Assignment = Record<string, ParameterValue>;

/** A finished trial as the optimizer sees it. */
export interface CompletedTrial {
  /** The parameters the trial ran with. */
  parameters: Assignment;
  /** The objective value of its final measurement; absent when the trial was infeasible. */
  value?: number;
  /** True when the trial ended INFEASIBLE (crashed, never reported the metric, reported NaN). */
  infeasible?: boolean;
}

/** Everything a suggestion depends on. */
export interface SuggestRequest {
  /** The study spec: `parameters`, `metrics[0].goal` and `algorithm` are read. */
  space: StudySpec;
  /** Trials that have finished, in the order they finished. */
  completed: CompletedTrial[];
  /** Parameters of trials still running: a batch suggestion must account for them. */
  pending: Assignment[];
  /** How many new suggestions are wanted. */
  count: number;
  /** Seed of the deterministic generator (an unsigned 32-bit integer). */
  seed: number;
  /**
   * A seed that stays the same for every call of one study (the local backend derives it from the
   * job id). It scrambles the initial design: one study continues one low-discrepancy sequence
   * from call to call, and studies with different study seeds over the same space start from
   * different points. Absent, it counts as 0, so the scramble depends on the parameter ids alone.
   */
  studySeed?: number;
  /**
   * The study's trial budget (the job's `maxTrialCount`), when known. The Bayesian designer sizes
   * its initial design from it: a long study can afford more space-filling trials before the model.
   */
  budget?: number;
}

/**
 * Suggest up to `count` assignments. Fewer (possibly none) come back only when the space has
 * fewer unseen points left (a grid that is exhausted, a small discrete space).
 */
export type Suggest = (request: SuggestRequest) => Assignment[];
