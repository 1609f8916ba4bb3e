/**
 * Time per suggestion at fixed history sizes: `npx tsx bench/optimizer/perf.ts`.
 * Histories are random points of a smooth function (Hartmann-like sums of Gaussians, cheap), so the
 * time measured is the optimizer's alone. Prints the median and max over repeated calls per case.
 */
import { suggest } from "../../optimizer";
import { Rng } from "../../optimizer/rng";
import type { CompletedTrial, StudySpec } from "../../optimizer/types";

function study(dims: number): StudySpec {
  return {
    metrics: [{ metricId: "y", goal: "MINIMIZE" }],
    parameters: Array.from({ length: dims }, (_, d) => ({ parameterId: `x${d}`, doubleValueSpec: { minValue: 0, maxValue: 1 } })),
  };
}

function history(dims: number, n: number, seed: number): CompletedTrial[] {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 4 }, () => Array.from({ length: dims }, () => rng.uniform()));
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: dims }, () => rng.uniform());
    const value = -centres.reduce((s, c, i) => s + (i + 1) * Math.exp(-4 * c.reduce((a, cd, d) => a + (x[d]! - cd) ** 2, 0)), 0);
    return { parameters: Object.fromEntries(x.map((v, d) => [`x${d}`, v])), value };
  });
}

const cases = [
  { dims: 6, n: 100, calls: 15 },
  { dims: 20, n: 300, calls: 7 },
];
for (const { dims, n, calls } of cases) {
  const times: number[] = [];
  for (let c = 0; c < calls; c++) {
    const request = { space: study(dims), completed: history(dims, n, c), pending: [], count: 1, seed: c };
    const started = performance.now();
    suggest(request);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`${n} observations, ${dims} dims: median ${times[Math.floor(calls / 2)]!.toFixed(0)} ms, max ${times[calls - 1]!.toFixed(0)} ms over ${calls} calls`);
}
