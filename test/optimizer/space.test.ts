import { describe, expect, it } from "vitest";
import { suggest } from "../../optimizer";
import { Rng } from "../../optimizer/rng";
import { decode, encode, fromUnit, INACTIVE_UNIT, isActive, parseSpace, repair, samplePoint, spaceSize, toUnit } from "../../optimizer/space";
import type { StudySpec } from "../../optimizer/types";
import { conditional } from "./fixtures";

const mixed: StudySpec = {
  parameters: [
    { parameterId: "lin", doubleValueSpec: { minValue: -2, maxValue: 3 }, scaleType: "UNIT_LINEAR_SCALE" },
    { parameterId: "unspecified", doubleValueSpec: { minValue: 0, maxValue: 10 }, scaleType: "SCALE_TYPE_UNSPECIFIED" },
    { parameterId: "log", doubleValueSpec: { minValue: 1e-5, maxValue: 1e-1 }, scaleType: "UNIT_LOG_SCALE" },
    { parameterId: "rlog", doubleValueSpec: { minValue: 0.01, maxValue: 0.99 }, scaleType: "UNIT_REVERSE_LOG_SCALE" },
    { parameterId: "int", integerValueSpec: { minValue: "-3", maxValue: "12" } },
    { parameterId: "intlog", integerValueSpec: { minValue: "1", maxValue: "1000" }, scaleType: "UNIT_LOG_SCALE" },
    { parameterId: "disc", discreteValueSpec: { values: [16, 32, 64, 256] }, scaleType: "UNIT_LOG_SCALE" },
    { parameterId: "cat", categoricalValueSpec: { values: ["adam", "sgd", "rmsprop"] } },
  ],
};

describe("search space mapping", () => {
  const space = parseSpace(mixed);

  it("reads every type, with int64 bounds given as strings", () => {
    expect(space.dims.map((d) => [d.id, d.type, d.scale])).toEqual([
      ["lin", "DOUBLE", "LINEAR"],
      ["unspecified", "DOUBLE", "LINEAR"],
      ["log", "DOUBLE", "LOG"],
      ["rlog", "DOUBLE", "REVERSE_LOG"],
      ["int", "INTEGER", "LINEAR"],
      ["intlog", "INTEGER", "LOG"],
      ["disc", "DISCRETE", "LOG"],
      ["cat", "CATEGORICAL", "LINEAR"],
    ]);
    expect(space.dims[4]).toMatchObject({ lo: -3, hi: 12 });
  });

  it("maps bounds to 0 and 1 and round-trips values on every scale", () => {
    for (const dim of space.dims.filter((d) => d.type !== "CATEGORICAL")) {
      // Exactly: a finished trial at a bound must encode to the point the optimizer suggested there.
      expect(toUnit(dim, dim.lo)).toBe(0);
      expect(toUnit(dim, dim.hi)).toBe(1);
      expect(fromUnit(dim, 0)).toBe(dim.lo);
      expect(fromUnit(dim, 1)).toBe(dim.hi);
      for (const u of [0, 0.1, 0.5, 0.93, 1]) {
        const v = fromUnit(dim, u);
        expect(v).toBeGreaterThanOrEqual(dim.lo);
        expect(v).toBeLessThanOrEqual(dim.hi);
        expect(toUnit(dim, v)).toBeCloseTo(u, 9);
      }
    }
    const log = space.dims[2]!;
    expect(fromUnit(log, 0.5)).toBeCloseTo(1e-3, 12);
    const rlog = space.dims[3]!;
    // Reverse log puts resolution near the top: the midpoint is 1 − √(0.01·0.99), not 0.5.
    expect(fromUnit(rlog, 0.5)).toBeCloseTo(1 - Math.sqrt(0.0099), 12);
  });

  it("gives DISCRETE values one ulp apart in a wide list coordinates of their own, inside [0, 1]", () => {
    // By toUnit, 1e6 and the next double share a coordinate up to 1e9, and the top three of the
    // second list all sit at 1: each of them must still encode to, and decode from, its own point.
    for (const values of [
      [0, 1e6, 1000000.0000000001, 1000000.0000000002, 1e9],
      [-1e12, 999999999.9999998, 999999999.9999999, 1e9],
    ]) {
      const space = parseSpace({ parameters: [{ parameterId: "d", discreteValueSpec: { values } }] });
      const units = space.dims[0]!.unitValues;
      expect(units[0]).toBe(0);
      expect(units[units.length - 1]).toBe(1);
      units.forEach((u, i) => i > 0 && expect(u).toBeGreaterThan(units[i - 1]!));
      for (const d of values) expect(decode(space, encode(space, { d }))).toEqual({ d });
    }
  });

  it("every point of the unit cube decodes to a feasible assignment that encodes back to itself", () => {
    const rng = new Rng(1);
    for (let t = 0; t < 300; t++) {
      const x = Float64Array.from(space.dims, (d) => (d.type === "CATEGORICAL" ? rng.int(5) - 1 : rng.uniform() * 1.4 - 0.2));
      repair(space, x, rng);
      const a = decode(space, x);
      expect(Number(a.lin)).toBeGreaterThanOrEqual(-2);
      expect(Number(a.lin)).toBeLessThanOrEqual(3);
      expect(Number(a.log)).toBeGreaterThanOrEqual(1e-5);
      expect(Number(a.log)).toBeLessThanOrEqual(1e-1);
      expect(Number(a.rlog)).toBeLessThanOrEqual(0.99);
      expect(Number.isInteger(a.int)).toBe(true);
      expect(Number(a.int)).toBeGreaterThanOrEqual(-3);
      expect(Number(a.int)).toBeLessThanOrEqual(12);
      expect(Number.isInteger(a.intlog)).toBe(true);
      expect([16, 32, 64, 256]).toContain(a.disc);
      expect(["adam", "sgd", "rmsprop"]).toContain(a.cat);
      const encoded = encode(space, a);
      expect(encoded).toHaveLength(x.length);
      encoded.forEach((v, d) => expect(v).toBeCloseTo(x[d]!, 12));
    }
  });

  it("accepts discrete values written as floats and snaps integers", () => {
    const a = decode(space, encode(space, { lin: 0, unspecified: 1, log: 0.01, rlog: 0.5, int: 4.0, intlog: 10, disc: 64.0, cat: "sgd" }));
    expect(a).toMatchObject({ int: 4, intlog: 10, disc: 64, cat: "sgd" });
  });

  it("keeps DISCRETE values apart when their span is wider than a double holds", () => {
    // (0 − lo)/(hi − lo) was 0/Infinity: 0 shared −1e308's point, so it was never suggested and
    // a grid took a trial at −1e308 for one at 0.
    const wide: StudySpec = { parameters: [{ parameterId: "x", discreteValueSpec: { values: [-1e308, 0, 1e308] } }] };
    const completed = [{ parameters: { x: -1e308 }, value: 1 }, { parameters: { x: 1e308 }, value: 2 }];
    for (const algorithm of ["ALGORITHM_UNSPECIFIED", "RANDOM_SEARCH", "GRID_SEARCH"]) {
      expect(suggest({ space: { ...wide, algorithm }, completed, pending: [], count: 2, seed: 3 })).toEqual([{ x: 0 }]);
    }
    expect(suggest({ space: { ...wide, algorithm: "GRID_SEARCH" }, completed: [], pending: [], count: 3, seed: 3 })).toEqual([{ x: -1e308 }, { x: 0 }, { x: 1e308 }]);
  });

  it("draws a log-scaled INTEGER log-uniformly and a linear one with every integer equally likely", () => {
    const spaceOf = (scaleType: string) => parseSpace({ parameters: [{ parameterId: "n", integerValueSpec: { minValue: "1", maxValue: "1000" }, scaleType }] });
    const draws = (scaleType: string) => {
      const space = spaceOf(scaleType);
      const rng = new Rng(11);
      return Array.from({ length: 4000 }, () => decode(space, samplePoint(space, rng)).n as number);
    };
    const share = (values: number[], test: (v: number) => boolean) => values.filter(test).length / values.length;
    // Log-uniform on [1, 1000]: half below √1000 ≈ 31.6, a third below 10; each integer 1 in 1,000 on a linear scale.
    const log = draws("UNIT_LOG_SCALE");
    expect(share(log, (v) => v <= 31)).toBeGreaterThan(0.45);
    expect(share(log, (v) => v <= 31)).toBeLessThan(0.55);
    expect(share(log, (v) => v < 10)).toBeGreaterThan(0.28);
    expect(log.every((v) => Number.isInteger(v) && v >= 1 && v <= 1000)).toBe(true);
    expect(log).toContain(1);
    expect(Math.max(...log)).toBeGreaterThan(900);
    const reverse = draws("UNIT_REVERSE_LOG_SCALE");
    expect(share(reverse, (v) => v >= 970)).toBeGreaterThan(0.45);
    const linear = draws("UNIT_LINEAR_SCALE");
    expect(share(linear, (v) => v <= 31)).toBeLessThan(0.05);
    expect(share(linear, (v) => v <= 500)).toBeGreaterThan(0.45);
    expect(share(linear, (v) => v <= 500)).toBeLessThan(0.55);
  });

  it("rejects what it cannot interpret", () => {
    expect(() => parseSpace({ parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 0, maxValue: 1 }, scaleType: "UNIT_LOG_SCALE" }] })).toThrow(/positive/);
    expect(() => parseSpace({ parameters: [{ parameterId: "x" }] })).toThrow(/no value spec/);
    expect(() => parseSpace({ parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 2, maxValue: 1 } }] })).toThrow(/bounds/);
  });
});

describe("conditional parameters", () => {
  const space = parseSpace(conditional);

  it("a child is in the assignment exactly when its parent condition holds", () => {
    const rng = new Rng(2);
    const seenShapes = new Set<string>();
    for (let t = 0; t < 400; t++) {
      const a = decode(space, samplePoint(space, rng));
      seenShapes.add(Object.keys(a).sort().join(","));
      expect("lr" in a).toBe(a.optimizer === "adam");
      expect("momentum" in a).toBe(a.optimizer === "sgd");
      expect("width" in a).toBe(a.depth === 2 || a.depth === 3);
      expect("dropout" in a).toBe(a.width === 64);
    }
    // 2 optimizer branches × 3 depth shapes (none, width 32, width 64 + dropout).
    expect(seenShapes.size).toBe(6);
  });

  it("a child that becomes active through a parent change gets a feasible value, and an inactive one a placeholder", () => {
    const rng = new Rng(3);
    const x = encode(space, { optimizer: "adam", lr: 0.01, depth: 1 });
    const momentum = space.dims.findIndex((d) => d.id === "momentum");
    const optimizer = space.dims.findIndex((d) => d.id === "optimizer");
    expect(isActive(space, x, momentum)).toBe(false);
    x[optimizer] = 1;
    repair(space, x, rng);
    const a = decode(space, x);
    expect(a.optimizer).toBe("sgd");
    expect(["0.0", "0.9"]).toContain(a.momentum);
    expect("lr" in a).toBe(false);
    // The placeholder itself: decode drops inactive parameters, so only the coordinate shows it.
    expect(x[space.dims.findIndex((d) => d.id === "lr")]).toBe(INACTIVE_UNIT);
    x[optimizer] = 0;
    repair(space, x, rng);
    // An inactive categorical holds one past its last category (momentum has two).
    expect(x[momentum]).toBe(2);
  });

  it("counts the assignments of a conditional tree", () => {
    // optimizer: adam×2 lr + sgd×2 momentum = 4; depth: 1 + 2×(32 + 64×∞)… DOUBLE makes it infinite.
    expect(spaceSize(space)).toBe(Infinity);
    const finite = parseSpace({ parameters: [conditional.parameters![0]!] });
    expect(spaceSize(finite)).toBe(4);
  });

  it("counts a billion-value INTEGER range without listing it", () => {
    const wide = parseSpace({
      parameters: [
        {
          parameterId: "c",
          categoricalValueSpec: { values: ["a", "b", "c"] },
          conditionalParameterSpecs: [{ parentCategoricalValues: { values: ["a"] }, parameterSpec: { parameterId: "n", integerValueSpec: { minValue: "0", maxValue: "1000000000" } } }],
        },
        { parameterId: "k", integerValueSpec: { minValue: "1", maxValue: "4" } },
      ],
    });
    // (1e9 + 1 under "a", 1 each under "b" and "c") × 4.
    expect(spaceSize(wide)).toBe((1_000_000_001 + 2) * 4);
  });
});
