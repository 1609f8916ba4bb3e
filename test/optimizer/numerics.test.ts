import { describe, expect, it } from "vitest";
import { minimizeBox } from "../../optimizer/lbfgsb";
import { cholesky, choleskyWithJitter, inverseFromCholesky, solveLowerInPlace, solveUpperTransposedInPlace } from "../../optimizer/linalg";
import { ScrambledHalton } from "../../optimizer/qmc";
import { hashString, Rng } from "../../optimizer/rng";
import { erfc, logH, normalCdf, normalPdf, normalQuantile } from "../../optimizer/special";

/** A random symmetric positive-definite matrix B·Bᵀ + n·I. */
function randomSpd(n: number, rng: Rng): Float64Array {
  const b = Float64Array.from({ length: n * n }, () => rng.normal());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += b[i * n + k]! * b[j * n + k]!;
      a[i * n + j] = s;
    }
  return a;
}

describe("linear algebra", () => {
  it("Cholesky reconstructs the matrix and is lower triangular", () => {
    const n = 7;
    const a = randomSpd(n, new Rng(3));
    const l = cholesky(a, n)!;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (j > i) expect(l[i * n + j]).toBe(0);
        let s = 0;
        for (let k = 0; k < n; k++) s += l[i * n + k]! * l[j * n + k]!;
        expect(s).toBeCloseTo(a[i * n + j]!, 10);
      }
  });

  it("rejects a matrix that is not positive definite, and the jitter retry rescues a singular one", () => {
    expect(cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toBeNull();
    const singular = Float64Array.from([1, 1, 1, 1]);
    expect(cholesky(singular, 2)).toBeNull();
    const l = choleskyWithJitter(singular, 2);
    expect(l[0]).toBeCloseTo(1, 4);
  });

  it("triangular solves and the inverse agree with A", () => {
    const n = 6;
    const a = randomSpd(n, new Rng(9));
    const l = cholesky(a, n)!;
    const b = Float64Array.from({ length: n }, (_, i) => i - 2.5);
    const x = new Float64Array(b);
    solveLowerInPlace(l, n, x);
    solveUpperTransposedInPlace(l, n, x);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k]! * x[k]!;
      expect(s).toBeCloseTo(b[i]!, 10);
    }
    const inv = inverseFromCholesky(l, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * inv[k * n + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 10);
      }
  });
});

describe("special functions", () => {
  it("match reference values", () => {
    // Reference values from the closed forms / standard tables (scipy.special agrees).
    expect(erfc(0)).toBe(1);
    expect(erfc(0.5)).toBeCloseTo(0.4795001221869535, 14);
    expect(erfc(3)).toBeCloseTo(2.209049699858544e-5, 18);
    expect(erfc(10) / 2.088487583762545e-45).toBeCloseTo(1, 12);
    expect(erfc(-1)).toBeCloseTo(1.8427007929497148, 14);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(normalPdf(0)).toBeCloseTo(0.3989422804014327, 15);
  });

  it("the quantile inverts the cdf, deep into the tails", () => {
    for (const p of [1e-12, 1e-6, 0.01, 0.3, 0.5, 0.77, 0.999999]) expect(normalCdf(normalQuantile(p)) / p).toBeCloseTo(1, 9);
    expect(() => normalQuantile(0)).toThrow();
  });

  it("log-EI is finite and matches the direct formula where that is accurate", () => {
    for (const z of [-3, -1.5, 0, 2]) expect(logH(z)).toBeCloseTo(Math.log(normalPdf(z) + z * normalCdf(z)), 10);
    // Far tail: asymptotically log φ(z) − 2 log|z|.
    const z = -40;
    expect(logH(z)).toBeCloseTo(-0.5 * z * z - 0.5 * Math.log(2 * Math.PI) - 2 * Math.log(40), 2);
    expect(Number.isFinite(logH(-1e5))).toBe(true);
    // Monotone increasing.
    let previous = -Infinity;
    for (let t = -60; t < 5; t += 0.25) {
      expect(logH(t)).toBeGreaterThan(previous);
      previous = logH(t);
    }
  });
});

describe("generators and the box minimizer", () => {
  it("the PRNG is deterministic and roughly uniform", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 1000 }, () => a.uniform());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.uniform()));
    expect(new Rng(43).uniform()).not.toBe(xs[0]);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    expect(xs.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it("nearby seeds give unrelated streams (the benchmark and the backend use consecutive seeds)", () => {
    for (const seedOf of [(i: number) => i, (i: number) => hashString(`problem/0/${i}`)]) {
      const first = Array.from({ length: 400 }, (_, i) => new Rng(seedOf(i)).uniform());
      // Independent uniforms: E|u − v| = 1/3.
      const gap = first.slice(1).reduce((s, u, i) => s + Math.abs(u - first[i]!), 0) / (first.length - 1);
      expect(Math.abs(gap - 1 / 3)).toBeLessThan(0.04);
    }
  });

  it("scrambled Halton points fill the cube evenly", () => {
    const h = new ScrambledHalton(3, 7);
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 800; i++) {
      const p = h.point(i);
      counts[(p[0]! < 0.5 ? 0 : 1) + (p[1]! < 0.5 ? 0 : 2) + (p[2]! < 0.5 ? 0 : 4)]++;
    }
    // A low-discrepancy set puts ~100 in each octant; an i.i.d. sample would typically be off by ±10.
    for (const c of counts) expect(Math.abs(c - 100)).toBeLessThanOrEqual(6);
  });

  it("minimizes a bounded quadratic with its minimum outside the box onto the boundary", () => {
    const fn = (x: Float64Array, g: Float64Array): number => {
      g[0] = 2 * (x[0]! - 3);
      g[1] = 20 * (x[1]! - 0.25);
      return (x[0]! - 3) ** 2 + 10 * (x[1]! - 0.25) ** 2;
    };
    const r = minimizeBox(fn, Float64Array.from([0, 0]), { lower: Float64Array.from([-1, -1]), upper: Float64Array.from([1, 1]), maxIterations: 100 });
    expect(r.x[0]).toBeCloseTo(1, 8);
    expect(r.x[1]).toBeCloseTo(0.25, 6);
  });
});
