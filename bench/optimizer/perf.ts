/**
 * Time per suggestion at fixed history sizes: `npx tsx bench/optimizer/perf.ts`.
 * Histories are random points of a smooth function (Hartmann-like sums of Gaussians, cheap), so the
 * time measured is the optimizer's alone. Prints the median and max over repeated calls per case,
 * for ours and, when the peer venv exists, for Optuna's GPSampler given the same histories in the
 * same run (its time is one ask over the JSON-lines adapter, from a fresh sampler given the history
 * without asking: cold, as ours always is).
 */
import { suggest } from "../../optimizer";
import { peersAvailable, startPeer } from "./drivers";
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

async function gpSamplerMillis(dims: number, n: number, seed: number): Promise<number> {
  const peer = await startPeer("optuna-gp", study(dims), seed);
  try {
    for (const trial of history(dims, n, seed)) peer.record(trial.parameters, trial.value!);
    const started = performance.now();
    await peer.ask();
    return performance.now() - started;
  } finally {
    peer.close();
  }
}

function summary(times: number[]): string {
  return `median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`;
}

async function main(): Promise<void> {
  const peers = peersAvailable();
  if (!peers) console.log("Optuna GPSampler not timed: run bench/optimizer/setup-peers.sh for the peer venv");
  for (const { dims, n, calls } of cases) {
    // Ours first, then the peer: a peer's Python process must not share the CPU with our timings.
    const ours: number[] = [];
    for (let c = 0; c < calls; c++) {
      const request = { space: study(dims), completed: history(dims, n, c), pending: [], count: 1, seed: c };
      const started = performance.now();
      suggest(request);
      ours.push(performance.now() - started);
    }
    const gp: number[] = [];
    for (let c = 0; peers && c < calls; c++) gp.push(await gpSamplerMillis(dims, n, c));
    const line = `${n} observations, ${dims} dims, ${calls} calls: ours ${summary(ours)}`;
    console.log(peers ? `${line}; Optuna GPSampler ${summary(gp)} (ratio of medians ${(median(gp) / median(ours)).toFixed(1)}×)` : line);
  }
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

void main();
