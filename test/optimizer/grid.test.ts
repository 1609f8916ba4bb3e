import { describe, expect, it } from "vitest";
import { suggest } from "../../optimizer";
import type { Assignment, StudySpec } from "../../optimizer/types";

const grid: StudySpec = {
  algorithm: "GRID_SEARCH",
  parameters: [
    { parameterId: "a", integerValueSpec: { minValue: "1", maxValue: "3" } },
    { parameterId: "b", discreteValueSpec: { values: [0.5, 2] } },
    { parameterId: "c", categoricalValueSpec: { values: ["x", "y"] } },
  ],
};

function all(space: StudySpec, step: number): Assignment[] {
  const completed: Assignment[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const next = suggest({ space, completed: completed.map((parameters) => ({ parameters, value: 1 })), pending: [], count: step, seed: guard });
    if (next.length === 0) return completed;
    completed.push(...next);
  }
  throw new Error("grid never exhausted");
}

describe("grid search", () => {
  it("enumerates every combination with the last parameter varying fastest, then exhausts", () => {
    const expected: Assignment[] = [];
    for (const a of [1, 2, 3]) for (const b of [0.5, 2]) for (const c of ["x", "y"]) expected.push({ a, b, c });
    expect(all(grid, 1)).toEqual(expected);
    expect(all(grid, 5)).toEqual(expected);
    const done = expected.map((parameters) => ({ parameters, value: 0 }));
    expect(suggest({ space: grid, completed: done, pending: [], count: 3, seed: 0 })).toEqual([]);
  });

  it("skips completed and pending points, returning fewer at the end", () => {
    const first = suggest({ space: grid, completed: [{ parameters: { a: 1, b: 0.5, c: "x" }, infeasible: true }], pending: [{ a: 1, b: 0.5, c: "y" }], count: 2, seed: 9 });
    expect(first).toEqual([{ a: 1, b: 2, c: "x" }, { a: 1, b: 2, c: "y" }]);
    const almost = all(grid, 1).slice(0, 11).map((parameters) => ({ parameters, value: 0 }));
    expect(suggest({ space: grid, completed: almost, pending: [], count: 4, seed: 1 })).toEqual([{ a: 3, b: 2, c: "y" }]);
  });

  it("enumerates conditional children under the parent values that activate them", () => {
    const space: StudySpec = {
      algorithm: "GRID_SEARCH",
      parameters: [
        {
          parameterId: "opt",
          categoricalValueSpec: { values: ["adam", "sgd"] },
          conditionalParameterSpecs: [
            { parentCategoricalValues: { values: ["sgd"] }, parameterSpec: { parameterId: "momentum", discreteValueSpec: { values: [0, 0.9] } } },
          ],
        },
        { parameterId: "layers", integerValueSpec: { minValue: "1", maxValue: "2" } },
      ],
    };
    expect(all(space, 2)).toEqual([
      { opt: "adam", layers: 1 },
      { opt: "adam", layers: 2 },
      { opt: "sgd", momentum: 0, layers: 1 },
      { opt: "sgd", momentum: 0, layers: 2 },
      { opt: "sgd", momentum: 0.9, layers: 1 },
      { opt: "sgd", momentum: 0.9, layers: 2 },
    ]);
  });

  it("walks a ten-billion-value INTEGER range from its start without listing it", () => {
    const space: StudySpec = { algorithm: "GRID_SEARCH", parameters: [{ parameterId: "n", integerValueSpec: { minValue: "0", maxValue: "10000000000" } }] };
    const completed = [{ parameters: { n: 0 }, value: 1 }];
    expect(suggest({ space, completed, pending: [{ n: 1 }], count: 2, seed: 0 })).toEqual([{ n: 2 }, { n: 3 }]);
  });

  it("takes a count that is not a whole number as the other algorithms do, not as the whole grid", () => {
    // The grid stopped only when the count was reached exactly: 2.5 or NaN listed every point
    // left (a ten-billion-value range never returned), where random and Bayesian give 3 and none.
    const space: StudySpec = { algorithm: "GRID_SEARCH", parameters: [{ parameterId: "n", integerValueSpec: { minValue: "0", maxValue: "99" } }] };
    for (const count of [2.5, NaN]) {
      const expected = suggest({ space: { ...space, algorithm: "RANDOM_SEARCH" }, completed: [], pending: [], count, seed: 0 }).length;
      expect(suggest({ space, completed: [], pending: [], count, seed: 0 })).toHaveLength(expected);
    }
    expect(suggest({ space, completed: [], pending: [], count: 2.5, seed: 0 })).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
  });

  it("lists a category written twice once", () => {
    const twice: StudySpec = { algorithm: "GRID_SEARCH", parameters: [{ parameterId: "c", categoricalValueSpec: { values: ["a", "b", "a"] } }] };
    expect(all(twice, 5)).toEqual([{ c: "a" }, { c: "b" }]);
  });

  it("refuses DOUBLE parameters", () => {
    const space: StudySpec = { algorithm: "GRID_SEARCH", parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 0, maxValue: 1 } }] };
    expect(() => suggest({ space, completed: [], pending: [], count: 1, seed: 0 })).toThrow(/DOUBLE/);
  });

  it("steps through every integer of a log-scaled range near 2^53, where neighbours share a unit coordinate", () => {
    // log(2^52 + k) − log(2^52) ≈ k·2.2e-16, below the resolution of a double near 36: a dozen
    // neighbours share one logarithm and one coordinate. Keyed by its coordinate, each finished
    // point hid the next ones, and the grid skipped them.
    const lo = 2 ** 52;
    const space: StudySpec = { algorithm: "GRID_SEARCH", parameters: [{ parameterId: "n", scaleType: "UNIT_LOG_SCALE", integerValueSpec: { minValue: String(lo), maxValue: String(2 ** 53 - 1) } }] };
    const completed: Assignment[] = [];
    for (let t = 0; t < 6; t++) completed.push(...suggest({ space, completed: completed.map((parameters) => ({ parameters, value: 0 })), pending: [], count: 1, seed: t }));
    expect(completed.map((a) => Number(a.n) - lo)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("tells apart two trials that differ only under a parent value sharing its neighbour's coordinate", () => {
    // 2^52 + 2 encodes to the point of 2^52, under which c is not active: keyed by the
    // snapped point, c was inactive in both trials, and the grid skipped { n: 2^52 + 2, c: "b" }.
    const lo = 2 ** 52;
    const space: StudySpec = {
      algorithm: "GRID_SEARCH",
      parameters: [
        {
          parameterId: "n",
          scaleType: "UNIT_LOG_SCALE",
          integerValueSpec: { minValue: String(lo), maxValue: String(2 ** 53 - 1) },
          conditionalParameterSpecs: [{ parentIntValues: { values: [String(lo + 2)] }, parameterSpec: { parameterId: "c", categoricalValueSpec: { values: ["a", "b"] } } }],
        },
      ],
    };
    const completed = ([{ n: lo }, { n: lo + 1 }, { n: lo + 2, c: "a" }] as Assignment[]).map((parameters) => ({ parameters, value: 0 }));
    expect(suggest({ space, completed, pending: [], count: 2, seed: 0 })).toEqual([{ n: lo + 2, c: "b" }, { n: lo + 3 }]);
  });
});
