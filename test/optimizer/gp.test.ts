import { describe, expect, it } from "vitest";
import { fitHyperparameters, GpPosterior, hyperparameterBounds, pairDistances, penalizedNll, type GpInputs } from "../../optimizer/gp";
import { Rng } from "../../optimizer/rng";
import { halfRank, warpLabels } from "../../optimizer/warp";

function mixedInputs(n: number, rng: Rng): GpInputs {
  const dim = 3;
  const x = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    x[i * dim] = rng.uniform();
    x[i * dim + 1] = rng.uniform();
    x[i * dim + 2] = rng.int(3);
  }
  return { x, n, dim, categorical: Uint8Array.from([0, 0, 1]) };
}

describe("GP marginal likelihood", () => {
  it("its gradient matches central finite differences in every hyperparameter", () => {
    const rng = new Rng(5);
    const inputs = mixedInputs(15, rng);
    const y = Float64Array.from({ length: 15 }, () => rng.normal() * 0.3);
    const distances = pairDistances(inputs);
    const scratch = new Float64Array(5);
    for (const theta of [Float64Array.from([-1, -0.5, 0.3, 0.1, -4]), Float64Array.from([0.5, -3, 1, -1, -9])]) {
      const grad = new Float64Array(5);
      penalizedNll(inputs, distances, y, theta, grad);
      for (let k = 0; k < 5; k++) {
        const plus = new Float64Array(theta);
        const minus = new Float64Array(theta);
        plus[k]! += 1e-5;
        minus[k]! -= 1e-5;
        const fd = (penalizedNll(inputs, distances, y, plus, scratch) - penalizedNll(inputs, distances, y, minus, scratch)) / 2e-5;
        expect(Math.abs(grad[k]! - fd)).toBeLessThan(1e-5 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  it("profiles the constant mean out: shifting every label by a constant changes neither value nor gradient", () => {
    const rng = new Rng(7);
    const inputs = mixedInputs(12, rng);
    const y = Float64Array.from({ length: 12 }, () => rng.normal() * 0.3);
    const shifted = y.map((v) => v + 4);
    const distances = pairDistances(inputs);
    const theta = Float64Array.from([-1, -0.5, 0.3, 0.1, -4]);
    const grad = new Float64Array(5);
    const gradShifted = new Float64Array(5);
    const value = penalizedNll(inputs, distances, y, theta, grad);
    expect(penalizedNll(inputs, distances, shifted, theta, gradShifted)).toBeCloseTo(value, 8);
    grad.forEach((g, k) => expect(gradShifted[k]!).toBeCloseTo(g, 8));
  });

  it("the fit stays in bounds, lowers the objective and interpolates a smooth function", () => {
    const rng = new Rng(11);
    const n = 25;
    const dim = 2;
    const x = Float64Array.from({ length: n * dim }, () => rng.uniform());
    const f = (a: number, b: number): number => Math.sin(4 * a) + 0.1 * b;
    const y = Float64Array.from({ length: n }, (_, i) => f(x[i * dim]!, x[i * dim + 1]!));
    const inputs = { x, n, dim, categorical: new Uint8Array(dim) };
    const theta = fitHyperparameters(inputs, y, new Rng(1), { maxEvaluations: 200, randomStarts: 2 });
    const { lower, upper } = hyperparameterBounds(dim);
    theta.forEach((t, i) => {
      expect(t).toBeGreaterThanOrEqual(lower[i]!);
      expect(t).toBeLessThanOrEqual(upper[i]!);
    });
    // The first dimension matters far more: its length scale is shorter.
    expect(theta[1]!).toBeLessThan(theta[2]!);
    const posterior = new GpPosterior(inputs, theta, y);
    const k = new Float64Array(n);
    let worst = 0;
    for (const [a, b] of [[0.3, 0.5], [0.7, 0.2], [0.5, 0.9]] as const) {
      posterior.crossKernel(Float64Array.from([a, b]), k);
      worst = Math.max(worst, Math.abs(posterior.mean(k) - f(a, b)));
    }
    expect(worst).toBeLessThan(0.05);
    // At a training point the latent variance is close to the noise level, far below the prior.
    posterior.crossKernel(x.subarray(0, dim), k);
    expect(posterior.variance(k)).toBeLessThan(0.01 * posterior.signalVariance);
  });
});

describe("GP prior mean", () => {
  it("is the generalized-least-squares level, which counts a tight cluster of trials about once", () => {
    // Five trials packed around 0.2 with label 1 (an optimizer refining a good spot) and three far
    // apart with label −1. Their average is 0.25; the cluster is one piece of evidence, so the level
    // far from every trial must sit near the middle of 1 and −1 weighted 1:3, i.e. −0.5, not 0.25.
    const points = [0.2, 0.2001, 0.2002, 0.2003, 0.2004, 0.5, 0.75, 1];
    const labels = [1, 1, 1, 1, 1, -1, -1, -1];
    const inputs: GpInputs = { x: Float64Array.from(points), n: points.length, dim: 1, categorical: new Uint8Array(1) };
    // s² = 1, ℓ² = 1e-3 (ℓ ≈ 0.03: the groups are independent), noise 1e-6.
    const posterior = new GpPosterior(inputs, Float64Array.from([0, Math.log(1e-3), Math.log(1e-6)]), Float64Array.from(labels));
    expect(posterior.priorMean).toBeCloseTo(-0.5, 2);
    const k = new Float64Array(points.length);
    posterior.crossKernel(Float64Array.from([-3]), k);
    expect(posterior.mean(k)).toBeCloseTo(-0.5, 2);
    // At the trials the posterior still interpolates the labels.
    posterior.crossKernel(Float64Array.from([0.75]), k);
    expect(posterior.mean(k)).toBeCloseTo(-1, 3);
  });
});

describe("output warping", () => {
  it("keeps the order, tames outliers and puts infeasible trials below everything", () => {
    const labels = [1, 2, 3, 4, 5, 6, -1e6, NaN, 5.5];
    const w = warpLabels(labels)!;
    const feasible = labels.map((v, i) => [v, w[i]!] as const).filter(([v]) => Number.isFinite(v));
    const sorted = [...feasible].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]![1]).toBeGreaterThan(sorted[i - 1]![1]);
    const feasibleWarped = feasible.map(([, v]) => v);
    expect(w[7]).toBeLessThan(Math.min(...feasibleWarped));
    // The outlier ends up within a few units of the rest, not a million away.
    expect(Math.max(...feasibleWarped) - Math.min(...feasibleWarped)).toBeLessThan(3);
    expect(warpLabels([NaN, NaN])).toBeNull();
  });

  it("warps labels of any magnitude to finite values, in order, the same as the labels scaled down", () => {
    for (const labels of [[1e200, 1, 2, NaN], [1e308, -1e308, 0], [-1e300, -2e300, -3e300, 5]]) {
      const w = warpLabels(labels)!;
      expect(w).toHaveLength(labels.length);
      for (const v of w) expect(Number.isFinite(v)).toBe(true);
      const scale = Math.max(...labels.filter(Number.isFinite).map(Math.abs));
      const scaled = warpLabels(labels.map((v) => v / scale))!;
      for (let i = 0; i < w.length; i++) expect(w[i]).toBeCloseTo(scaled[i]!, 12);
    }
  });

  it("half-rank leaves the better half untouched", () => {
    const values = [10, 9, 8, 1, -50, 7];
    const out = halfRank(values);
    // Median 7.5: 10, 9 and 8 are the better half.
    for (const i of [0, 1, 2]) expect(out[i]).toBe(values[i]);
    expect(out[4]).toBeGreaterThan(-50);
  });
});
