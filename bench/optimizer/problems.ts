/**
 * Benchmark problems for the optimizer: synthetic functions with a per-seed random shift, a
 * mixed-type variant (log-scaled, integer and categorical dimensions) and the tabular suites of
 * shared/bench-data. Every problem is a Vertex study spec plus an evaluator and a regret.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { Assignment, ParameterSpec, StudySpec } from "../../optimizer/types";
import { hashString, Rng } from "../../optimizer/rng";

/** One benchmark problem instance (a problem and a seed). */
export interface Problem {
  name: string;
  spec: StudySpec;
  /** The observed objective of a trial (noisy for tabular problems). */
  evaluate(assignment: Assignment, trialIndex: number): number;
  /** Simple regret of a configuration: f − f* (synthetic) or the normalized regret of its seed-mean (tabular). */
  regret(assignment: Assignment): number;
}

interface Synthetic {
  bounds: [number, number][];
  f: (x: number[]) => number;
  minimum: number;
  minimizers: number[][];
}

const branin: Synthetic = {
  bounds: [[-5, 10], [0, 15]],
  f: ([x1, x2]) => {
    const b = 5.1 / (4 * Math.PI ** 2);
    const c = 5 / Math.PI;
    return (x2! - b * x1! ** 2 + c * x1! - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1!) + 10;
  },
  minimum: 0.39788735772973816,
  minimizers: [[-Math.PI, 12.275], [Math.PI, 2.275], [9.42478, 2.475]],
};

const H6_ALPHA = [1.0, 1.2, 3.0, 3.2];
const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const hartmann6: Synthetic = {
  bounds: Array.from({ length: 6 }, () => [0, 1] as [number, number]),
  f: (x) => {
    let sum = 0;
    for (let i = 0; i < 4; i++) {
      let inner = 0;
      for (let j = 0; j < 6; j++) inner += H6_A[i]![j]! * (x[j]! - H6_P[i]![j]! * 1e-4) ** 2;
      sum += H6_ALPHA[i]! * Math.exp(-inner);
    }
    return -sum;
  },
  minimum: -3.3223680114155147,
  minimizers: [[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]],
};

function levy(d: number): Synthetic {
  return {
    bounds: Array.from({ length: d }, () => [-10, 10] as [number, number]),
    f: (x) => {
      const w = x.map((v) => 1 + (v - 1) / 4);
      let s = Math.sin(Math.PI * w[0]!) ** 2;
      for (let i = 0; i < d - 1; i++) s += (w[i]! - 1) ** 2 * (1 + 10 * Math.sin(Math.PI * w[i]! + 1) ** 2);
      s += (w[d - 1]! - 1) ** 2 * (1 + Math.sin(2 * Math.PI * w[d - 1]!) ** 2);
      return s;
    },
    minimum: 0,
    minimizers: [Array(d).fill(1)],
  };
}

function rosenbrock(d: number): Synthetic {
  return {
    bounds: Array.from({ length: d }, () => [-5, 10] as [number, number]),
    f: (x) => {
      let s = 0;
      for (let i = 0; i < d - 1; i++) s += 100 * (x[i + 1]! - x[i]! ** 2) ** 2 + (x[i]! - 1) ** 2;
      return s;
    },
    minimum: 0,
    minimizers: [Array(d).fill(1)],
  };
}

function ackley(d: number): Synthetic {
  return {
    bounds: Array.from({ length: d }, () => [-32.768, 32.768] as [number, number]),
    f: (x) => {
      const sq = x.reduce((a, v) => a + v * v, 0) / d;
      const cos = x.reduce((a, v) => a + Math.cos(2 * Math.PI * v), 0) / d;
      return -20 * Math.exp(-0.2 * Math.sqrt(sq)) - Math.exp(cos) + 20 + Math.E;
    },
    minimum: 0,
    minimizers: [Array(d).fill(0)],
  };
}

const SYNTHETIC: Record<string, Synthetic> = {
  branin,
  hartmann6,
  levy4: levy(4),
  rosenbrock4: rosenbrock(4),
  ackley5: ackley(5),
};

function minimizeSpec(parameters: ParameterSpec[]): StudySpec {
  return { metrics: [{ metricId: "objective", goal: "MINIMIZE" }], parameters };
}

/**
 * A synthetic function on its usual box, shifted by up to ±10% of the width per dimension (drawn
 * from the seed) with at least one global minimizer still inside, so f* is unchanged and no seed
 * sees the optimum at a fixed place.
 */
function shiftedSynthetic(name: string, fn: Synthetic, seed: number): Problem {
  const rng = new Rng(hashString(`${name}/${seed}`));
  let shift: number[];
  do {
    shift = fn.bounds.map(([lo, hi]) => (rng.uniform() * 0.2 - 0.1) * (hi - lo));
  } while (!fn.minimizers.some((m) => m.every((v, d) => v + shift[d]! >= fn.bounds[d]![0] && v + shift[d]! <= fn.bounds[d]![1])));
  const spec = minimizeSpec(
    fn.bounds.map(([lo, hi], d) => ({ parameterId: `x${d}`, doubleValueSpec: { minValue: lo, maxValue: hi }, scaleType: "UNIT_LINEAR_SCALE" })),
  );
  const at = (a: Assignment): number => fn.f(fn.bounds.map((_, d) => Number(a[`x${d}`]) - shift[d]!));
  return { name, spec, evaluate: at, regret: (a) => Math.max(0, at(a) - fn.minimum) };
}

/**
 * Hartmann-6 through mixed parameter types: x0 is a log-scaled DOUBLE (v in [0.01, 1], x0 = (log10 v + 2)/2),
 * x1 an INTEGER k in [0, 19] (x1 = 0.150011 + (k − 3)/20), x2 a CATEGORICAL of five levels in shuffled
 * order (one of them the optimum's coordinate), x3..x5 linear DOUBLEs shifted per seed. The optimum stays representable.
 */
function hartmannMixed(seed: number): Problem {
  const rng = new Rng(hashString(`hartmann6-mixed/${seed}`));
  const levels = rng.shuffle([0.1, 0.3, 0.476874, 0.7, 0.9]);
  const names = ["red", "green", "blue", "cyan", "black"];
  const shift = [0, 0, 0, ...[0, 1, 2].map(() => rng.uniform() * 0.2 - 0.1)];
  while (![3, 4, 5].every((d) => hartmann6.minimizers[0]![d]! + shift[d]! >= 0 && hartmann6.minimizers[0]![d]! + shift[d]! <= 1)) {
    for (const d of [3, 4, 5]) shift[d] = rng.uniform() * 0.2 - 0.1;
  }
  const spec = minimizeSpec([
    { parameterId: "x0", doubleValueSpec: { minValue: 0.01, maxValue: 1 }, scaleType: "UNIT_LOG_SCALE" },
    { parameterId: "x1", integerValueSpec: { minValue: "0", maxValue: "19" } },
    { parameterId: "x2", categoricalValueSpec: { values: names } },
    ...[3, 4, 5].map((d) => ({ parameterId: `x${d}`, doubleValueSpec: { minValue: 0, maxValue: 1 } })),
  ]);
  const at = (a: Assignment): number => {
    const x = [
      (Math.log10(Number(a.x0)) + 2) / 2,
      0.150011 + (Number(a.x1) - 3) / 20,
      levels[names.indexOf(String(a.x2))]!,
      ...[3, 4, 5].map((d) => Number(a[`x${d}`]) - shift[d]!),
    ];
    return hartmann6.f(x);
  };
  return { name: "hartmann6-mixed", spec, evaluate: at, regret: (a) => Math.max(0, at(a) - hartmann6.minimum) };
}

/** Metadata of a tabular task (see shared/bench-data/README.md). */
interface TabularMeta {
  task: string;
  parameters: { name: string; type: "DISCRETE" | "INTEGER" | "CATEGORICAL"; values: (number | string)[]; scale?: "LINEAR" | "LOG" }[];
  seeds: number;
  strides: number[];
  bestMean: number;
  worstMean: number;
}

/** Where the tabular data lives (shared/ beside the repository, or BENCH_DATA). */
export function benchDataDir(): string {
  return process.env.BENCH_DATA ?? join(__dirname, "..", "..", "..", "shared", "bench-data");
}

const tableCache = new Map<string, { meta: TabularMeta; table: Float32Array }>();

function loadTable(suite: string, task: string): { meta: TabularMeta; table: Float32Array } {
  const key = `${suite}/${task}`;
  const cached = tableCache.get(key);
  if (cached) return cached;
  const dir = join(benchDataDir(), suite);
  const meta = JSON.parse(readFileSync(join(dir, `${task}.json`), "utf8")) as TabularMeta;
  const raw = gunzipSync(readFileSync(join(dir, `${task}.f32.gz`)));
  const table = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const entry = { meta, table };
  tableCache.set(key, entry);
  return entry;
}

/**
 * A tabular task: each evaluation returns one random non-missing seed slot of the configuration's
 * row (the optimizer never sees the mean); regret is normalized on the seed-mean.
 */
function tabular(suite: string, task: string, seed: number): Problem {
  const { meta, table } = loadTable(suite, task);
  const spec: StudySpec = {
    metrics: [{ metricId: "objective", goal: "MAXIMIZE" }],
    parameters: meta.parameters.map((p): ParameterSpec => {
      const scaleType = p.scale === "LOG" ? "UNIT_LOG_SCALE" : "UNIT_LINEAR_SCALE";
      if (p.type === "CATEGORICAL") return { parameterId: p.name, categoricalValueSpec: { values: p.values.map(String) } };
      if (p.type === "INTEGER") {
        const ints = p.values.map(Number);
        return { parameterId: p.name, integerValueSpec: { minValue: String(Math.min(...ints)), maxValue: String(Math.max(...ints)) }, scaleType };
      }
      return { parameterId: p.name, discreteValueSpec: { values: p.values.map(Number) }, scaleType };
    }),
  };
  const row = (a: Assignment): number =>
    meta.parameters.reduce((acc, p, i) => {
      const v = a[p.name];
      const index = p.type === "CATEGORICAL" ? p.values.indexOf(String(v)) : p.values.findIndex((w) => Math.abs(Number(w) - Number(v)) <= 1e-9 * Math.abs(Number(w)));
      if (index < 0) throw new Error(`${task}: ${p.name}=${String(v)} is not on the grid`);
      return acc + index * meta.strides[i]!;
    }, 0);
  const slots = (r: number): number[] => {
    const out: number[] = [];
    for (let s = 0; s < meta.seeds; s++) {
      const v = table[r * meta.seeds + s]!;
      if (!Number.isNaN(v)) out.push(v);
    }
    return out;
  };
  return {
    name: `${suite === "nasbench201" ? "nb201" : "nn"}-${task}`,
    spec,
    evaluate: (a, trialIndex) => {
      const values = slots(row(a));
      const rng = new Rng(hashString(`${task}/${seed}/${trialIndex}`));
      return values[rng.int(values.length)]!;
    },
    regret: (a) => {
      const values = slots(row(a));
      let sum = 0;
      for (const v of values) sum += v;
      return Math.max(0, (meta.bestMean - sum / values.length) / (meta.bestMean - meta.worstMean));
    },
  };
}

/** HPOBench-NN tasks in shared/bench-data. */
export const HPOBENCH_TASKS = ["australian", "blood_transfusion", "car", "credit_g", "kc1", "phoneme", "segment", "vehicle"];
/** NAS-Bench-201 datasets in shared/bench-data. */
export const NASBENCH_TASKS = ["cifar10", "cifar100", "imagenet16-120"];

/** All problem names. */
export const PROBLEMS = [
  ...Object.keys(SYNTHETIC),
  "hartmann6-mixed",
  ...HPOBENCH_TASKS.map((t) => `nn-${t}`),
  ...NASBENCH_TASKS.map((t) => `nb201-${t}`),
];

/** The instance of a problem for a seed. */
export function makeProblem(name: string, seed: number): Problem {
  const synthetic = SYNTHETIC[name];
  if (synthetic) return shiftedSynthetic(name, synthetic, seed);
  if (name === "hartmann6-mixed") return hartmannMixed(seed);
  if (name.startsWith("nn-")) return tabular("hpobench-nn", name.slice(3), seed);
  if (name.startsWith("nb201-")) return tabular("nasbench201", name.slice(6), seed);
  throw new Error(`unknown problem "${name}"`);
}

/** Whether a problem's regret is normalized (tabular) rather than absolute. */
export function isTabular(name: string): boolean {
  return name.startsWith("nn-") || name.startsWith("nb201-");
}
