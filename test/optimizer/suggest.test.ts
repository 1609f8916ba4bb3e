import { describe, expect, it } from "vitest";
import { suggest } from "../../optimizer";
import { UCB_COEFFICIENT } from "../../optimizer/acquisition";
import { chooseAcquisition, DEFAULT_BAYES_OPTIONS, modelledTrials, suggestBayesian, ucbCoefficient, type BayesOptions } from "../../optimizer/bayes";
import { Rng } from "../../optimizer/rng";
import type { Assignment, CompletedTrial, StudySpec } from "../../optimizer/types";
import { conditional } from "./fixtures";

const branin = (x1: number, x2: number): number =>
  (x2 - (5.1 / (4 * Math.PI ** 2)) * x1 ** 2 + (5 / Math.PI) * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
const BRANIN_MIN = 0.39788735772973816;

function braninSpec(algorithm?: string): StudySpec {
  return {
    algorithm,
    metrics: [{ metricId: "loss", goal: "MINIMIZE" }],
    parameters: [
      { parameterId: "x1", doubleValueSpec: { minValue: -5, maxValue: 10 } },
      { parameterId: "x2", doubleValueSpec: { minValue: 0, maxValue: 15 } },
    ],
  };
}

/** The trials of a sequential study of Branin (by `suggest`, or by the Bayesian designer with `options`). */
function braninStudy(space: StudySpec, budget: number, seed: number, options?: BayesOptions): CompletedTrial[] {
  const completed: CompletedTrial[] = [];
  for (let t = 0; t < budget; t++) {
    const request = { space, completed, pending: [], count: 1, seed: seed * 7919 + t, studySeed: seed };
    const [a] = options ? suggestBayesian(request, options) : suggest(request);
    completed.push({ parameters: a!, value: branin(Number(a!.x1), Number(a!.x2)) });
  }
  return completed;
}

/** Runs a sequential study and returns the best regret after `budget` trials. */
function run(space: StudySpec, budget: number, seed: number, options?: BayesOptions): number {
  return Math.min(...braninStudy(space, budget, seed, options).map((t) => t.value! - BRANIN_MIN));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Six DOUBLE parameters on [0, 1]: 10 initial design points in a 100-trial study. */
const six: StudySpec = {
  metrics: [{ metricId: "m", goal: "MINIMIZE" }],
  parameters: Array.from({ length: 6 }, (_, d) => ({ parameterId: `x${d}`, doubleValueSpec: { minValue: 0, maxValue: 1 } })),
};

const mixedSpace: StudySpec = {
  metrics: [{ metricId: "acc", goal: "MAXIMIZE" }],
  parameters: [
    { parameterId: "lr", doubleValueSpec: { minValue: 1e-4, maxValue: 1 }, scaleType: "UNIT_LOG_SCALE" },
    { parameterId: "units", integerValueSpec: { minValue: "8", maxValue: "64" } },
    { parameterId: "batch", discreteValueSpec: { values: [16, 32, 64] } },
    { parameterId: "act", categoricalValueSpec: { values: ["relu", "tanh", "gelu"] } },
  ],
};
const mixedObjective = (a: Assignment): number =>
  -((Math.log10(Number(a.lr)) + 2) ** 2) - ((Number(a.units) - 40) / 20) ** 2 - (a.act === "gelu" ? 0 : 0.5) - (a.batch === 32 ? 0 : 0.2);

function history(space: StudySpec, objective: (a: Assignment) => number, n: number): CompletedTrial[] {
  const completed: CompletedTrial[] = [];
  for (let t = 0; t < n; t++) {
    const [a] = suggest({ space, completed, pending: [], count: 1, seed: t });
    completed.push(t % 5 === 3 ? { parameters: a!, infeasible: true } : { parameters: a!, value: objective(a!) });
  }
  return completed;
}

describe("suggest", () => {
  it("is deterministic: the same request gives the same suggestions, another seed others", () => {
    const completed = history(mixedSpace, mixedObjective, 12);
    const request = { space: mixedSpace, completed, pending: [completed[0]!.parameters], count: 3, seed: 77 };
    const first = suggest(request);
    expect(suggest(structuredClone(request))).toEqual(first);
    expect(first).toHaveLength(3);
    expect(suggest({ ...request, seed: 78 })).not.toEqual(first);
    for (const algorithm of ["RANDOM_SEARCH", "GRID_SEARCH"]) {
      const space = { ...mixedSpace, algorithm, parameters: mixedSpace.parameters!.slice(1) };
      expect(suggest({ ...request, space })).toEqual(suggest({ ...request, space }));
    }
  });

  it("suggests feasible points of every type, with infeasible trials in the history", () => {
    const completed = history(mixedSpace, mixedObjective, 15);
    for (const { parameters: a } of completed) {
      expect(Number(a.lr)).toBeGreaterThanOrEqual(1e-4);
      expect(Number(a.lr)).toBeLessThanOrEqual(1);
      expect(Number.isInteger(a.units) && Number(a.units) >= 8 && Number(a.units) <= 64).toBe(true);
      expect([16, 32, 64]).toContain(a.batch);
      expect(["relu", "tanh", "gelu"]).toContain(a.act);
      expect(Object.keys(a).sort()).toEqual(["act", "batch", "lr", "units"]);
    }
  });

  it("keeps conditional children exactly where their parent condition holds", () => {
    const objective = (a: Assignment): number => (a.optimizer === "adam" ? 1 : 0) + Number(a.depth) + (a.width === 64 ? Number(a.dropout) : 0);
    for (const algorithm of [undefined, "RANDOM_SEARCH"]) {
      const completed = history({ ...conditional, algorithm }, objective, 14);
      for (const { parameters: a } of completed) {
        expect("lr" in a).toBe(a.optimizer === "adam");
        expect("momentum" in a).toBe(a.optimizer === "sgd");
        expect("width" in a).toBe(a.depth === 2 || a.depth === 3);
        expect("dropout" in a).toBe(a.width === 64);
      }
    }
  });

  it("never repeats a completed or pending trial while unseen points remain, and stops when none remain", () => {
    const small: StudySpec = {
      parameters: [
        { parameterId: "a", integerValueSpec: { minValue: "0", maxValue: "2" } },
        { parameterId: "b", categoricalValueSpec: { values: ["x", "y"] } },
      ],
    };
    const key = (a: Assignment): string => `${a.a}/${a.b}`;
    for (const algorithm of [undefined, "RANDOM_SEARCH", "GRID_SEARCH"]) {
      const space = { ...small, algorithm };
      const completed: CompletedTrial[] = [];
      const pending: Assignment[] = [];
      for (let round = 0; round < 4; round++) {
        const next = suggest({ space, completed, pending, count: 2, seed: round });
        pending.push(...next);
        while (pending.length > 1) {
          const a = pending.shift()!;
          completed.push({ parameters: a, value: Number(a.a) });
        }
      }
      const all = [...completed.map((c) => c.parameters), ...pending];
      expect(all).toHaveLength(6);
      expect(new Set(all.map(key)).size).toBe(6);
      expect(suggest({ space, completed, pending, count: 2, seed: 99 })).toEqual([]);
    }
  });

  it("takes no trial with a value outside the space (a trial of another spec) for one of its points", () => {
    const space: StudySpec = {
      parameters: [
        { parameterId: "opt", categoricalValueSpec: { values: ["adam", "sgd"] } },
        { parameterId: "n", integerValueSpec: { minValue: "1", maxValue: "3" } },
        { parameterId: "d", discreteValueSpec: { values: [0.1, 0.3] } },
      ],
    };
    // Each was snapped to a point of the space (an unknown or missing category to the first, a
    // missing number to the middle value), and that point was never suggested.
    const completed: CompletedTrial[] = [
      { parameters: { opt: "adamw", n: 1, d: 0.1 }, value: 1 },
      { parameters: { n: 1, d: 0.3 }, value: 2 },
      { parameters: { opt: "sgd", d: 0.1 }, value: 3 },
      { parameters: { opt: "sgd", n: 7, d: 0.1 }, value: 4 },
      { parameters: { opt: "sgd", n: 2.4, d: 0.3 }, value: 5 },
      { parameters: { opt: "adam", n: 3, d: 0.2 }, value: 6 },
    ];
    for (const algorithm of [undefined, "RANDOM_SEARCH", "GRID_SEARCH"]) {
      const next = suggest({ space: { ...space, algorithm }, completed, pending: [], count: 20, seed: 5 });
      expect(new Set(next.map((a) => `${a.opt}/${a.n}/${a.d}`)).size, String(algorithm)).toBe(12);
    }
    // A value the space holds, written as another type's JSON, is still that value.
    const same = suggest({ space: { ...space, algorithm: "GRID_SEARCH" }, completed: [{ parameters: { opt: "adam", n: "1", d: "0.1" }, value: 1 }], pending: [], count: 1, seed: 5 });
    expect(same).toEqual([{ opt: "adam", n: 1, d: 0.3 }]);
  });

  it("does not repeat a finished trial at the upper bound of a reverse-log scale", () => {
    // The objective drives every study to x = 1, the bound, under k = "a".
    const space: StudySpec = {
      metrics: [{ metricId: "m", goal: "MAXIMIZE" }],
      parameters: [
        { parameterId: "x", doubleValueSpec: { minValue: 0.3, maxValue: 1 }, scaleType: "UNIT_REVERSE_LOG_SCALE" },
        { parameterId: "k", categoricalValueSpec: { values: ["a", "b"] } },
      ],
    };
    const completed: CompletedTrial[] = [];
    for (let t = 0; t < 25; t++) {
      const [a] = suggest({ space, completed, pending: [], count: 1, seed: t, studySeed: 1 });
      completed.push({ parameters: a!, value: Number(a!.x) + (a!.k === "a" ? 1 : 0) });
    }
    const keys = completed.map((c) => `${c.parameters.x}/${c.parameters.k}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("does not repeat a trial at the bound of a log scale, nor suggest a value just inside it", () => {
    // A study's best was at the top of x's range; the acquisition goes there again.
    const space: StudySpec = {
      metrics: [{ metricId: "m", goal: "MAXIMIZE" }],
      parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 1.1, maxValue: 5.04 }, scaleType: "UNIT_LOG_SCALE" }],
    };
    const completed: CompletedTrial[] = [];
    for (let t = 0; t < 25; t++) {
      const [a] = suggest({ space, completed, pending: [], count: 1, seed: 1227534347 + t, studySeed: 1803989619, budget: 30 });
      completed.push({ parameters: a!, value: Number(a!.x) / 5.04 });
    }
    const xs = completed.map((c) => Number(c.parameters.x));
    expect(new Set(xs).size).toBe(xs.length);
    expect(xs).toContain(5.04);
    // The formula's value at the top, 5.039999999999999, is no value the study asked for.
    expect(xs).not.toContain(5.039999999999999);
  });

  it("suggests every value of a log-scaled range too narrow for logarithms to tell its bounds apart", () => {
    // log(9007199254740986) === log(9007199254740991) in floating point: every unit coordinate was
    // 0/0, random search suggested NaN and the GP's Cholesky threw. Likewise a DOUBLE holding three
    // doubles near the smallest normal number.
    const spaces: StudySpec[] = [
      { parameters: [{ parameterId: "n", scaleType: "UNIT_REVERSE_LOG_SCALE", integerValueSpec: { minValue: "9007199254740986", maxValue: "9007199254740991" } }] },
      { parameters: [{ parameterId: "n", scaleType: "UNIT_LOG_SCALE", doubleValueSpec: { minValue: 2.2250738585072014e-308, maxValue: 2.2250738585072024e-308 } }] },
    ];
    const sizes = [6, 3];
    spaces.forEach((spec, i) => {
      for (const algorithm of [undefined, "RANDOM_SEARCH"]) {
        const space = { ...spec, algorithm };
        const completed: CompletedTrial[] = [];
        for (let t = 0; t < sizes[i]!; t++) {
          const [a] = suggest({ space, completed, pending: [], count: 1, seed: t });
          completed.push({ parameters: a!, value: t });
        }
        const ns = completed.map((c) => c.parameters.n);
        expect(ns.every((n) => typeof n === "number" && Number.isFinite(n)), `${ns}`).toBe(true);
        expect(new Set(ns).size, `${algorithm}: ${ns}`).toBe(sizes[i]);
      }
    });
  });

  it("does not repeat a finished trial when an unseen DISCRETE value shares its unit coordinate", () => {
    // 1e6 and the next double, 1e6 + 1.16e-10 (1e-10 apart, as Vertex asks), are one coordinate
    // on a linear scale up to 1e9. Once the draws kept hitting finished trials, the unseen value
    // was enumerated and encoded to the point of 1e6, which was suggested again.
    const values = [0, 1e6, 1000000.0000000001, 1e9];
    const completed: CompletedTrial[] = [0, 1e6, 1e9].map((d) => ({ parameters: { d }, value: d }));
    for (const algorithm of [undefined, "RANDOM_SEARCH"]) {
      const next = suggest({ space: { algorithm, parameters: [{ parameterId: "d", discreteValueSpec: { values } }] }, completed, pending: [], count: 2, seed: 3 });
      for (const { d } of next) expect([0, 1e6, 1e9], String(algorithm)).not.toContain(d);
    }
  });

  it("reaches a DISCRETE value that shares its neighbour's unit coordinate, and the parameters under it", () => {
    // (1e6 + 1.16e-10 − 0) / 1e9 rounds to 1e6 / 1e9: the value had no point of its own, so neither
    // it nor the DOUBLE active under it was ever suggested, though that branch is infinite.
    const space: StudySpec = {
      parameters: [
        {
          parameterId: "d",
          discreteValueSpec: { values: [0, 1e6, 1000000.0000000001, 1e9] },
          conditionalParameterSpecs: [{ parentDiscreteValues: { values: [1000000.0000000001] }, parameterSpec: { parameterId: "x", doubleValueSpec: { minValue: 0, maxValue: 1 } } }],
        },
      ],
    };
    const completed: CompletedTrial[] = [0, 1e6, 1e9].map((d) => ({ parameters: { d }, value: d }));
    for (const algorithm of [undefined, "RANDOM_SEARCH"]) {
      const next = suggest({ space: { ...space, algorithm }, completed, pending: [], count: 2, seed: 3 });
      expect(next.map((a) => a.d), String(algorithm)).toEqual([1000000.0000000001, 1000000.0000000001]);
      for (const a of next) expect(a.x).toBeTypeOf("number");
    }
  });

  it("suggests past finished trials with values at or below 0 on a log scale (trials of a linear spec)", () => {
    // log(−0.5) is NaN: it reached the GP's inputs, and the Cholesky threw on every suggestion.
    const space: StudySpec = {
      metrics: [{ metricId: "m", goal: "MAXIMIZE" }],
      parameters: [
        { parameterId: "lr", doubleValueSpec: { minValue: 1e-4, maxValue: 1 }, scaleType: "UNIT_LOG_SCALE" },
        { parameterId: "n", integerValueSpec: { minValue: "1", maxValue: "100" }, scaleType: "UNIT_LOG_SCALE" },
      ],
    };
    const completed: CompletedTrial[] = [
      { parameters: { lr: 0.01, n: 10 }, value: 1 },
      { parameters: { lr: -0.5, n: 5 }, value: 2 },
      { parameters: { lr: 0.1, n: -3 }, value: 3 },
    ];
    const next = suggest({ space, completed, pending: [], count: 2, seed: 4 });
    expect(next).toHaveLength(2);
    for (const a of next) {
      expect(Number(a.lr)).toBeGreaterThanOrEqual(1e-4);
      expect(Number(a.lr)).toBeLessThanOrEqual(1);
      expect(Number.isInteger(a.n) && Number(a.n) >= 1 && Number(a.n) <= 100).toBe(true);
    }
  });

  it("does not repeat a pending trial whose DOUBLE values do not encode back to the point that made them", () => {
    // The initial design skips a point on a branch already tried, so the next call asks for the
    // point the last one suggested: its momentum, 0.7938622912434745, re-encodes a bit off.
    const space: StudySpec = {
      metrics: [{ metricId: "m", goal: "MAXIMIZE" }],
      parameters: [
        {
          parameterId: "opt",
          categoricalValueSpec: { values: ["none", "sgd"] },
          conditionalParameterSpecs: [
            { parentCategoricalValues: { values: ["sgd"] }, parameterSpec: { parameterId: "lr", doubleValueSpec: { minValue: 0.0001, maxValue: 0.1 }, scaleType: "UNIT_LINEAR_SCALE" } },
            { parentCategoricalValues: { values: ["sgd"] }, parameterSpec: { parameterId: "momentum", doubleValueSpec: { minValue: 0.5, maxValue: 0.99 }, scaleType: "UNIT_LINEAR_SCALE" } },
          ],
        },
        { parameterId: "layers", integerValueSpec: { minValue: "1", maxValue: "2" } },
      ],
    };
    const pending = [{ opt: "sgd", lr: 0.08095038639284548, momentum: 0.7938622912434745, layers: 1 }];
    const completed: CompletedTrial[] = [
      { parameters: { opt: "none", layers: 1 }, value: 1.1 },
      { parameters: { opt: "sgd", lr: 0.025450386392845473, momentum: 0.6958622912434747, layers: 1 }, value: 1.25 },
      { parameters: { opt: "none", layers: 2 }, value: 2.1 },
    ];
    for (let seed = 0; seed < 20; seed++) {
      const [a] = suggest({ space, completed, pending, count: 1, seed, studySeed: 1609362278 });
      expect(a, `seed ${seed}`).not.toEqual(pending[0]);
    }
  });

  it("finds the unseen points under a rare branch once every other value has been tried (random search)", () => {
    const values = Array.from({ length: 100 }, (_, i) => `v${i}`);
    const space: StudySpec = {
      algorithm: "RANDOM_SEARCH",
      parameters: [
        {
          parameterId: "c",
          categoricalValueSpec: { values },
          conditionalParameterSpecs: [{ parentCategoricalValues: { values: ["v0"] }, parameterSpec: { parameterId: "lr", doubleValueSpec: { minValue: 0.001, maxValue: 1 }, scaleType: "UNIT_LOG_SCALE" } }],
        },
      ],
    };
    const completed: CompletedTrial[] = values.map((c, i): CompletedTrial => ({ parameters: c === "v0" ? { c, lr: 0.01 } : { c }, value: i }));
    for (let seed = 0; seed < 20; seed++) {
      const [next] = suggest({ space, completed, pending: [], count: 1, seed });
      expect(next?.c).toBe("v0");
      expect(next?.lr).not.toBe(0.01);
    }
  });

  it("suggests through objective values of any magnitude", () => {
    const space: StudySpec = { metrics: [{ metricId: "m", goal: "MAXIMIZE" }], parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 0, maxValue: 1 } }] };
    const completed: CompletedTrial[] = [1e200, 1, 2, -1e308, 5].map((value, i) => ({ parameters: { x: (i + 0.5) / 5 }, value }));
    const [next] = suggest({ space, completed, pending: [], count: 1, seed: 3 });
    expect(Number(next!.x)).toBeGreaterThanOrEqual(0);
    expect(Number(next!.x)).toBeLessThanOrEqual(1);
  });

  it("uses the goal: maximizing and minimizing the same function head for opposite ends", () => {
    const spec = (goal: string): StudySpec => ({ metrics: [{ metricId: "m", goal }], parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 0, maxValue: 1 } }] });
    const bestAfter = (goal: string): number => {
      const completed: CompletedTrial[] = [];
      for (let t = 0; t < 12; t++) {
        const [a] = suggest({ space: spec(goal), completed, pending: [], count: 1, seed: t });
        completed.push({ parameters: a!, value: Number(a!.x) });
      }
      return Number(completed[completed.length - 1]!.parameters.x);
    };
    expect(bestAfter("MAXIMIZE")).toBeGreaterThan(0.8);
    expect(bestAfter("GOAL_TYPE_UNSPECIFIED")).toBeGreaterThan(0.8);
    expect(bestAfter("MINIMIZE")).toBeLessThan(0.2);
  });

  it("sizes the initial design from the study's budget: min(d + 1, 5) trials, up to min(2d, 10) for long studies", () => {
    // Design points do not depend on the labels; model-based ones do. The first suggestion that
    // differs between two objectives is the first one the GP makes.
    const firstModelTrial = (budget: number | undefined): number => {
      const histories: CompletedTrial[][] = [[], []];
      const objectives = [(a: Assignment) => Number(a.x0), (a: Assignment) => -Number(a.x0)];
      for (let t = 0; t < 15; t++) {
        const next = histories.map((completed) => suggest({ space: six, completed, pending: [], count: 1, seed: t, budget })[0]!);
        if (JSON.stringify(next[0]) !== JSON.stringify(next[1])) return t;
        histories.forEach((completed, i) => completed.push({ parameters: next[i]!, value: objectives[i]!(next[i]!) }));
      }
      return 15;
    };
    expect(firstModelTrial(undefined)).toBe(5);
    expect(firstModelTrial(12)).toBe(5);
    expect(firstModelTrial(80)).toBe(8);
    expect(firstModelTrial(100)).toBe(10);
    expect(firstModelTrial(1000)).toBe(10);
  });

  it("scrambles the initial design by the study seed: one study continues one sequence, another study starts elsewhere", () => {
    // The first 10 trials of a 100-trial study are design points: they ignore the labels and the call's seed.
    const design = (studySeed: number, callSeed: (t: number) => number): string[] => {
      const completed: CompletedTrial[] = [];
      for (let t = 0; t < 10; t++) {
        const [a] = suggest({ space: six, completed, pending: [], count: 1, seed: callSeed(t), studySeed, budget: 100 });
        completed.push({ parameters: a!, value: Number(a!.x0) });
      }
      return completed.map((c) => JSON.stringify(c.parameters));
    };
    const study = design(1, (t) => t);
    expect(design(1, (t) => 1000 + 7 * t)).toEqual(study);
    const other = design(2, (t) => t);
    // Both start at the centre of the space (as Vizier); the scrambled-Halton points after it differ.
    expect(other[0]).toBe(study[0]);
    expect(other.slice(1).filter((p) => study.includes(p))).toEqual([]);
  });

  it("beats random search by far on Branin at 30 trials (median over 5 seeds)", () => {
    const seeds = [0, 1, 2, 3, 4];
    const ours = median(seeds.map((s) => run(braninSpec(), 30, s)));
    const random = median(seeds.map((s) => run(braninSpec("RANDOM_SEARCH"), 30, s)));
    // Random search's median regret at 30 trials is about 1.2 (20,000-run estimate); ours should be below 0.05.
    expect(random).toBeGreaterThan(0.1);
    expect(ours).toBeLessThan(0.05);
    expect(ours).toBeLessThan(random / 20);
  });
});

describe("the trials the GP is fitted to (maxModelledTrials)", () => {
  const labels = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.7));

  it("are all the trials up to the cap, and choosing them draws nothing from the generator", () => {
    const rng = new Rng(5);
    expect(modelledTrials(labels, 40, rng)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(rng.uniform()).toBe(new Rng(5).uniform());
  });

  it("past the cap, are the better half by label and a seeded uniform sample of the others, in trial order", () => {
    const kept = modelledTrials(labels, 11, new Rng(5));
    expect(kept).toHaveLength(11);
    expect(kept).toEqual([...new Set(kept)].sort((a, b) => a - b));
    const best = Array.from(labels.keys()).sort((a, b) => labels[b]! - labels[a]!).slice(0, 6);
    expect(kept).toEqual(expect.arrayContaining(best));
    expect(modelledTrials(labels, 11, new Rng(5))).toEqual(kept);
    const others = new Set([5, 6, 7, 8].map((seed) => modelledTrials(labels, 11, new Rng(seed)).filter((i) => !best.includes(i)).join()));
    expect(others.size).toBeGreaterThan(1);
  });

  it("a study past the cap keeps converging: Branin with the GP capped at 20 of its 60 trials (median over 3 seeds)", () => {
    const capped = { ...DEFAULT_BAYES_OPTIONS, maxModelledTrials: 20 };
    // 2.2e-5 (uncapped 3.7e-6); random search's median at 60 trials is about 0.6, and labels paired
    // with the wrong trials give 2.7e-3.
    expect(median([0, 1, 2].map((s) => run(braninSpec(), 60, s, capped)))).toBeLessThan(3e-4);
  });
});

describe("acquisition choice", () => {
  it("UCB's coefficient is the sequential one with nothing pending and the smaller default while trials are", () => {
    expect(ucbCoefficient(DEFAULT_BAYES_OPTIONS, 0)).toBe(UCB_COEFFICIENT);
    expect(ucbCoefficient(DEFAULT_BAYES_OPTIONS, 2)).toBe(DEFAULT_BAYES_OPTIONS.ucbCoefficientWhilePending);
    expect(DEFAULT_BAYES_OPTIONS.ucbCoefficientWhilePending).toBeLessThan(UCB_COEFFICIENT);
  });

  it("the coefficient while pending reaches the suggestions made with trials in flight, and no others", () => {
    const request = { space: braninSpec(), completed: braninStudy(braninSpec(), 20, 3), pending: [], count: 1, seed: 11, studySeed: 3 };
    const sequentialCoefficient = { ...DEFAULT_BAYES_OPTIONS, ucbCoefficientWhilePending: UCB_COEFFICIENT };
    expect(suggestBayesian(request, sequentialCoefficient)).toEqual(suggestBayesian(request));
    const inFlight = { ...request, pending: suggestBayesian({ ...request, count: 2 }) };
    expect(suggestBayesian(inFlight, sequentialCoefficient)).not.toEqual(suggestBayesian(inFlight));
  });

  it("the default uses UCB for every suggestion, trials pending or not; GP-UCB-PE uses PE for most later suggestions of a call", () => {
    const pe = { ...DEFAULT_BAYES_OPTIONS, acquisition: "ucb-pe" as const };
    let peLater = 0;
    for (let i = 0; i < 200; i++) {
      expect(chooseAcquisition(DEFAULT_BAYES_OPTIONS, 2, 0, new Rng(i))).toBe("ucb");
      expect(chooseAcquisition(DEFAULT_BAYES_OPTIONS, 2, 1, new Rng(i))).toBe("ucb");
      expect(chooseAcquisition(pe, 0, 0, new Rng(i))).toBe("ucb");
      if (chooseAcquisition(pe, 2, 1, new Rng(i)) === "pe") peLater++;
    }
    // PE with probability 0.75 for the later suggestions of a call.
    expect(peLater).toBeGreaterThan(120);
    expect(peLater).toBeLessThan(180);
    expect(chooseAcquisition({ ...DEFAULT_BAYES_OPTIONS, acquisition: "logei" }, 2, 1, new Rng(0))).toBe("logei");
  });
});
