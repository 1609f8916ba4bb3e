/**
 * Time per suggestion at fixed history sizes: `npx tsx bench/optimizer/perf.ts`.
 * Histories are random points of a smooth function (Hartmann-like sums of Gaussians, cheap), so the
 * time measured is the optimizer's alone. Prints the median and max over repeated calls per case,
 * for ours and, when the peer venv exists, for Optuna's GPSampler given the same histories in the
 * same run. Its time is the ask after a first one in the same Python process: the first ask of a
 * new process also imports torch (4 to 9 s on this machine), which a study pays once, not per
 * suggestion, and ours, in a warm Node process, does not pay at all. So the peer is given all but
 * the last point of the history, asked once, told that suggestion's value, and timed on its next
 * ask: as many completed trials as ours is given, none running, and its GP fit warm-started from
 * the first, as within a study (ours fits from scratch every time).
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

/** The seed's smooth function of a point's parameters `x0`…: its history's values. */
function objective(dims: number, rng: Rng): (parameters: Record<string, unknown>) => number {
  const centres = Array.from({ length: 4 }, () => Array.from({ length: dims }, () => rng.uniform()));
  return (parameters) => -centres.reduce((s, c, i) => s + (i + 1) * Math.exp(-4 * c.reduce((a, cd, d) => a + (Number(parameters[`x${d}`]) - cd) ** 2, 0)), 0);
}

function history(dims: number, n: number, seed: number): { trials: CompletedTrial[]; f: (parameters: Record<string, unknown>) => number } {
  const rng = new Rng(seed);
  const f = objective(dims, rng);
  const trials = Array.from({ length: n }, () => {
    const parameters = Object.fromEntries(Array.from({ length: dims }, (_, d) => [`x${d}`, rng.uniform()]));
    return { parameters, value: f(parameters) };
  });
  return { trials, f };
}

const cases = [
  { dims: 6, n: 100, calls: 15 },
  { dims: 20, n: 300, calls: 7 },
];

async function gpSamplerMillis(dims: number, n: number, seed: number): Promise<number> {
  const peer = await startPeer("optuna-gp", study(dims), seed);
  try {
    const { trials, f } = history(dims, n, seed);
    for (const trial of trials.slice(0, -1)) peer.record(trial.parameters, trial.value!);
    peer.tell(f(await peer.ask()));
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
      const request = { space: study(dims), completed: history(dims, n, c).trials, pending: [], count: 1, seed: c };
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
