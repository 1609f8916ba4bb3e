/**
 * The Bayesian designer (Vertex's default algorithm): a GP over the warped labels, UCB with pending
 * trials folded into the variance (GP-BUCB; or Vizier's GP-UCB-PE, or LogEI) inside a trust region,
 * searched over the mixed space; a centre point and scrambled-Halton points first. Stateless: the
 * model is refitted from the request every call.
 */
import {
  makeScore,
  trustRegionRadius,
  UCB_COEFFICIENT,
  type AcquisitionContext,
  type AcquisitionKind,
  type TrustRegion,
} from "./acquisition";
import { fitHyperparameters, GpPosterior, type GpInputs, type LogHyperparameters } from "./gp";
import { ScrambledHalton } from "./qmc";
import { hashString, Rng } from "./rng";
import { fromCube, searchAcquisition } from "./searchAcquisition";
import { assignmentKey, decode, encode, parseSpace, repair, trialKey, type Space } from "./space";
import type { Assignment, SuggestRequest } from "./types";
import { randomUnseen } from "./unseen";
import { warpLabels } from "./warp";

/** Tunable choices of the designer (the defaults are what `suggest` uses; the benchmark compares others). */
export interface BayesOptions {
  /**
   * "ucb": UCB for every suggestion, with the variance conditioned on the pending trials as if they
   * had been observed at their predicted value (GP-BUCB, Desautels et al. 2014), so a batch spreads
   * out without a second criterion; "ucb-pe": Vizier's GP-UCB-PE, where the further suggestions of
   * one call mostly use pure exploration (PE) instead, and the first one of a call made while trials
   * are pending uses it with probability 0.1; "logei": log expected improvement with
   * kriging-believer pending points.
   */
  acquisition: "ucb" | "ucb-pe" | "logei";
  /**
   * UCB's exploration coefficient for a suggestion made while trials are pending (UCB_COEFFICIENT
   * when none are). Conditioning the variance on the pending trials already spends the batch on
   * exploration, so the sequential coefficient explores twice: see DEFAULT_BAYES_OPTIONS.
   */
  ucbCoefficientWhilePending: number;
  /** Restrict the search to Vizier's L∞ trust region around the trials seen. */
  trustRegion: boolean;
  /**
   * Trials taken from the initial design (centre, then scrambled Halton) before the GP is used,
   * given the number of dimensions and the study's trial budget when it is known.
   */
  initialTrials: (dimensions: number, budget: number | undefined) => number;
  /**
   * The most completed trials the GP is fitted to. Fitting and conditioning cost the cube of the
   * trials (32 s a suggestion at 1,200 in 3 dimensions), so past this many the GP sees the better
   * half of them by label and a uniform sample of the rest (`modelledTrials`); the trust region,
   * the duplicate check and the search's anchors still use every trial.
   */
  maxModelledTrials: number;
}

/**
 * The defaults, chosen on the benchmark (see bench/README.md). GP-BUCB rather than GP-UCB-PE: with
 * three trials in flight and one suggestion asked per completion (as the local backend asks, so
 * GP-UCB-PE used PE for about a tenth of them), the two have similar medians on Branin and
 * Hartmann-6 over 20 independent studies, but GP-UCB-PE left 2 Branin studies above 1e-3 at 100
 * trials and GP-BUCB none. Sequential studies are the same under both.
 *
 * UCB's coefficient while trials are pending is 1.4, not the sequential 1.8: with 1.8 a batch of 3
 * put 195 of Branin's trials 11–30 (20 studies) within 0.05 of the incumbent, against 291 for the
 * sequential study; with 1.4, 241. Over two sets of 20 studies that cut Branin's regret at 30 trials
 * about 2.5× and Hartmann-6's at 50 by 2–8×, with as many studies finding Hartmann-6's global
 * basin. 1.2 and 1.0 left one or two Branin studies stuck at a local minimum on the box's edge.
 *
 * The GP sees at most 300 trials: a suggestion then takes about as long at 2,000 trials as at 300
 * (0.3–0.5 s in 3 dimensions, against 32 s at 1,200 uncapped), and over 400-trial studies of
 * Rosenbrock-4, Ackley-5 and Hartmann-6 (4 seeds each) the capped designer was as good as the
 * uncapped one on 9 studies and better on 3. A cap of 150, 4–5 times faster again, was better than
 * 300 on 3 of 11 studies and worse on 4 (Ackley-5's median regret at 400 trials 0.77 against 0.46):
 * 300 keeps the model the time targets were set for.
 */
export const DEFAULT_BAYES_OPTIONS: BayesOptions = {
  acquisition: "ucb",
  ucbCoefficientWhilePending: 1.4,
  trustRegion: true,
  initialTrials: budgetedInitialTrials,
  maxModelledTrials: 300,
};

/**
 * Indices of the trials the GP is fitted to, ascending: all of them when there are at most `limit`;
 * otherwise the better half of `limit` by warped label (where the search refines, so the model keeps
 * its resolution there) and the rest drawn uniformly from the others (so it still knows where the
 * space is poor, and UCB does not go back there as if unexplored).
 */
export function modelledTrials(labels: Float64Array, limit: number, rng: Rng): number[] {
  const n = labels.length;
  const all = Array.from({ length: n }, (_, i) => i);
  if (n <= limit) return all;
  const byLabel = all.sort((a, b) => labels[b]! - labels[a]! || a - b);
  const best = Math.ceil(limit / 2);
  const others = rng.shuffle(byLabel.slice(best)).slice(0, limit - best);
  return [...byLabel.slice(0, best), ...others].sort((a, b) => a - b);
}

/**
 * `min(d + 1, 5)` trials, growing towards `min(2d, 10)` as a tenth of the budget allows. A short
 * study (the demo: 4 parameters, 12 trials) keeps most of its trials for the model; a long one
 * spends more on covering the space first: on the benchmark (100 trials, 20 seeds, all on one
 * shared design at the time) Hartmann-6's seeds stuck in a local optimum went from 14 to 10, and
 * Branin and Levy-4 improved at 30 trials (bench/README.md).
 */
export function budgetedInitialTrials(dimensions: number, budget: number | undefined): number {
  const least = Math.min(dimensions + 1, 5);
  const most = Math.min(2 * dimensions, 10);
  if (budget === undefined) return least;
  return Math.max(least, Math.min(most, Math.floor(budget / 10)));
}

/** Probability that the first suggestion of a call uses PE instead of UCB (Vizier's pe_overwrite_probability). */
const PE_AFTER_COMPLETION = 0.1;
/** Probability that a further suggestion of a batch uses UCB instead of PE (Vizier's ucb_overwrite_probability). */
const UCB_WHILE_PENDING = 0.25;

/** Suggest with the Bayesian designer. */
export function suggestBayesian(request: SuggestRequest, options: BayesOptions = DEFAULT_BAYES_OPTIONS): Assignment[] {
  const space = parseSpace(request.space);
  const rng = new Rng(request.seed);
  const sign = request.space.metrics?.[0]?.goal === "MINIMIZE" ? -1 : 1;

  const observed = request.completed.map((t) => encode(space, t.parameters));
  const labels = request.completed.map((t) =>
    t.infeasible || t.value === undefined || !Number.isFinite(t.value) ? NaN : sign * t.value,
  );
  const pendingPoints = request.pending.map((a) => encode(space, a));
  const seen = new Set([...request.completed.map((t) => t.parameters), ...request.pending].map((a) => assignmentKey(space, a)));
  const warped = warpLabels(labels);
  const initialTrials = options.initialTrials(space.dims.length, request.budget);
  const model = warped ? new Model(space, observed, warped, rng, options) : null;

  const out: Assignment[] = [];
  for (let j = 0; j < request.count; j++) {
    const ordinal = observed.length + pendingPoints.length;
    let x: Float64Array | null = null;
    if (!model || ordinal < initialTrials) {
      x = initialDesignPoint(space, ordinal, request.studySeed ?? 0, seen, rng);
    } else {
      const kind = chooseAcquisition(options, pendingPoints.length, j, rng);
      x = model.propose(kind, pendingPoints, seen, rng);
    }
    x ??= randomUnseen(space, seen, rng);
    if (!x) break;
    seen.add(trialKey(space, x));
    pendingPoints.push(x);
    out.push(decode(space, x));
  }
  return out;
}

/**
 * The acquisition of one suggestion: the option's own, except for "ucb-pe", whose choice is made
 * stateless like this: a call follows a completion (or starts the study), so its first
 * suggestion is UCB (PE with a small probability when trials are pending); later suggestions of the same
 * call only add pending points, so they are PE (UCB with a small probability).
 */
export function chooseAcquisition(options: BayesOptions, pending: number, index: number, rng: Rng): AcquisitionKind {
  if (options.acquisition !== "ucb-pe") return options.acquisition;
  if (pending === 0) return "ucb";
  if (index === 0) return rng.uniform() < PE_AFTER_COMPLETION ? "pe" : "ucb";
  return rng.uniform() < UCB_WHILE_PENDING ? "ucb" : "pe";
}

/** UCB's coefficient for a suggestion with `pending` trials in flight. */
export function ucbCoefficient(options: BayesOptions, pending: number): number {
  return pending > 0 ? options.ucbCoefficientWhilePending : UCB_COEFFICIENT;
}

/**
 * The initial design: the centre of the space first (as Vizier), then scrambled-Halton points.
 * The scramble depends on the study seed and the parameter ids, not on the call's seed, so
 * successive calls of one study continue one low-discrepancy sequence.
 */
function initialDesignPoint(space: Space, ordinal: number, studySeed: number, seen: Set<string>, rng: Rng): Float64Array | null {
  const centre = new Float64Array(space.dims.length).fill(0.5);
  space.dims.forEach((dim, d) => {
    if (dim.type === "CATEGORICAL") centre[d] = 0;
  });
  repair(space, centre, rng);
  if (ordinal === 0 && !seen.has(trialKey(space, centre))) return centre;
  const halton = new ScrambledHalton(space.dims.length, hashString([studySeed, ...space.dims.map((d) => d.id)].join("\u0000")));
  for (let i = ordinal; i < ordinal + 32; i++) {
    const x = fromCube(space, halton.point(i));
    repair(space, x, rng);
    if (!seen.has(trialKey(space, x))) return x;
  }
  return null;
}

/** The GP fitted to the completed trials (or to `modelledTrials` of them), and the acquisition search over it. */
class Model {
  private readonly inputs: GpInputs;
  private readonly theta: LogHyperparameters;
  private readonly posterior: GpPosterior;
  /** The completed trials the GP is fitted to. */
  private readonly modelled: Float64Array[];
  private readonly anchors: Float64Array[];
  private readonly distanceMask: Uint8Array;
  private readonly bestLabel: number;

  constructor(
    private readonly space: Space,
    private readonly observed: Float64Array[],
    labels: Float64Array,
    rng: Rng,
    private readonly options: BayesOptions,
  ) {
    const kept = modelledTrials(labels, options.maxModelledTrials, rng);
    this.modelled = kept.map((i) => observed[i]!);
    const modelledLabels = Float64Array.from(kept, (i) => labels[i]!);
    this.inputs = toInputs(space, this.modelled);
    const n = this.modelled.length;
    // One likelihood evaluation costs ~n³ (≈2 ms at n = 100, ≈45 ms at n = 300 here): the budget
    // shrinks with n to keep a suggestion well within 200 ms at n = 100 and 1 s at n = 300, and random
    // starts are dropped once there is no budget to follow them up. (Ten times this budget changed
    // nothing measurable on Hartmann-6 at 100 trials: bench/README.md.)
    const maxEvaluations = Math.max(8, Math.min(300, Math.floor(3e7 / (n * n * n))));
    const randomStarts = maxEvaluations >= 60 ? 4 : 0;
    this.theta = fitHyperparameters(this.inputs, modelledLabels, rng, { maxEvaluations, randomStarts });
    this.posterior = new GpPosterior(this.inputs, this.theta, modelledLabels);
    const order = labels.map((_, i) => i).sort((a, b) => labels[b]! - labels[a]!);
    this.anchors = Array.from(order.slice(0, 5), (i) => observed[i]!);
    this.bestLabel = labels[order[0]!]!;
    // Vizier leaves categorical dimensions, and discrete ones with values more than 0.2 apart, out of the distance.
    this.distanceMask = Uint8Array.from(space.dims, (dim) => {
      if (dim.type === "CATEGORICAL") return 0;
      if (dim.type === "INTEGER") return dim.hi - dim.lo >= 5 ? 1 : 0;
      if (dim.type === "DISCRETE") return dim.unitValues.every((u, i) => i === 0 || u - dim.unitValues[i - 1]! <= 0.2) ? 1 : 0;
      return 1;
    });
  }

  /** The best unseen point for the acquisition, or null when the search found only seen points. */
  propose(kind: AcquisitionKind, pending: Float64Array[], seen: Set<string>, rng: Rng): Float64Array | null {
    const withPending = pending.length > 0 ? new GpPosterior(toInputs(this.space, [...this.modelled, ...pending]), this.theta, null) : null;
    const ctx: AcquisitionContext = {
      kind,
      completed: this.posterior,
      withPending,
      ucbCoefficient: ucbCoefficient(this.options, pending.length),
      threshold: kind === "pe" ? this.peThreshold() : this.bestLabel,
      trustRegion: this.options.trustRegion ? this.trustRegion(pending) : null,
    };
    const n = this.modelled.length + pending.length;
    const perEvaluation = (n * n) / 2 + n * this.space.dims.length + 100;
    // ~60 ms of scoring at n = 100; never fewer than 1,000 evaluations.
    const evaluations = Math.max(1000, Math.min(5000, Math.floor(1.5e7 / perEvaluation)));
    const ranked = searchAcquisition(this.space, makeScore(ctx), this.anchors, rng, { evaluations, starts: 8 });
    return ranked.find((s) => !seen.has(trialKey(this.space, s.x)))?.x ?? null;
  }

  /** PE's threshold: the posterior mean at the completed point with the best UCB. */
  private peThreshold(): number {
    const k = new Float64Array(this.modelled.length);
    let bestUcb = -Infinity;
    let threshold = this.bestLabel;
    for (const x of this.modelled) {
      this.posterior.crossKernel(x, k);
      const mu = this.posterior.mean(k);
      const ucb = mu + UCB_COEFFICIENT * Math.sqrt(this.posterior.variance(k));
      if (ucb > bestUcb) {
        bestUcb = ucb;
        threshold = mu;
      }
    }
    return threshold;
  }

  private trustRegion(pending: Float64Array[]): TrustRegion | null {
    const dof = this.distanceMask.reduce((a, b) => a + b, 0);
    const radius = trustRegionRadius(this.observed.length + pending.length, dof);
    return radius === null ? null : { centres: [...this.observed, ...pending], radius, mask: this.distanceMask };
  }
}

function toInputs(space: Space, points: Float64Array[]): GpInputs {
  const dim = space.dims.length;
  const x = new Float64Array(points.length * dim);
  points.forEach((p, i) => x.set(p, i * dim));
  const categorical = Uint8Array.from(space.dims, (d) => (d.type === "CATEGORICAL" ? 1 : 0));
  return { x, n: points.length, dim, categorical };
}
