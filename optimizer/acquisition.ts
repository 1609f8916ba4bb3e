/**
 * Acquisition functions over a fitted GP: UCB and pure exploration (PE) of GP-UCB-PE (Contal et al.
 * 2013, as Vizier's default designer uses them), log expected improvement (Ament et al. 2023), and
 * Vizier's L∞ trust region around the trials seen so far. Scores are "higher is better".
 */
import type { GpPosterior } from "./gp";
import { logH } from "./special";

/** Which score to maximize. */
export type AcquisitionKind = "ucb" | "pe" | "logei";

/** UCB exploration coefficient (Vizier's default). */
export const UCB_COEFFICIENT = 1.8;
/** Weight of the penalty that keeps PE inside the promising region (Vizier's default). */
const PE_PENALTY = 10;
/** Score floor outside the trust region; the distance is subtracted so the search is pulled back in. */
const OUTSIDE_TRUST_REGION = -1e12;

/** An L∞ ball around each centre, over the dimensions in `mask`. */
export interface TrustRegion {
  centres: Float64Array[];
  radius: number;
  /** 1 for the dimensions that count in the distance. */
  mask: Uint8Array;
}

/** Everything a score needs. */
export interface AcquisitionContext {
  kind: AcquisitionKind;
  /** Posterior of the completed trials (mean, and variance when there are no pending trials). */
  completed: GpPosterior;
  /** Posterior over completed + pending points without labels: the variance when trials are pending. */
  withPending: GpPosterior | null;
  /** UCB's exploration coefficient (UCB_COEFFICIENT, or less while trials are pending: BayesOptions). */
  ucbCoefficient: number;
  /** PE: the mean at the completed point with the best UCB. LogEI: the best warped label. */
  threshold: number;
  trustRegion: TrustRegion | null;
}

/** A scoring function with its scratch buffers, for one context. */
export function makeScore(ctx: AcquisitionContext): (x: Float64Array) => number {
  const kc = new Float64Array(ctx.completed.size);
  const kp = ctx.withPending ? new Float64Array(ctx.withPending.size) : null;
  return (x: Float64Array): number => {
    if (ctx.trustRegion) {
      const distance = distanceToCentres(ctx.trustRegion, x);
      if (distance > ctx.trustRegion.radius) return OUTSIDE_TRUST_REGION - distance;
    }
    ctx.completed.crossKernel(x, kc);
    const mu = ctx.completed.mean(kc);
    let variance: number;
    if (ctx.withPending && kp) {
      ctx.withPending.crossKernel(x, kp);
      variance = ctx.withPending.variance(kp);
    } else {
      variance = ctx.completed.variance(kc);
    }
    const sigma = Math.sqrt(variance);
    switch (ctx.kind) {
      case "ucb":
        return mu + ctx.ucbCoefficient * sigma;
      case "pe":
        return sigma + PE_PENALTY * Math.min(0, mu + 0.5 * sigma - ctx.threshold);
      case "logei":
        return logH((mu - ctx.threshold) / sigma) + Math.log(sigma);
    }
  };
}

/** The smallest L∞ distance from x to a centre over the masked dimensions. */
export function distanceToCentres(region: TrustRegion, x: Float64Array): number {
  let best = Infinity;
  for (const c of region.centres) {
    let far = 0;
    for (let d = 0; d < x.length && far < best; d++) {
      if (region.mask[d]) far = Math.max(far, Math.abs(x[d]! - c[d]!));
    }
    best = Math.min(best, far);
  }
  return best;
}

/**
 * Vizier's trust-region radius for `trials` trials (completed + pending) and `dof` distance dimensions:
 * 0.2 + 0.3·trials/(5·(dof + 1)); none once it passes 0.5 (the region then covers the space).
 */
export function trustRegionRadius(trials: number, dof: number): number | null {
  if (dof === 0 || trials === 0) return null;
  const radius = 0.2 + (0.3 * trials) / (5 * (dof + 1));
  return radius > 0.5 ? null : radius;
}
