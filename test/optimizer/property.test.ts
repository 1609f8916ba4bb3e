/**
 * Property test of `suggest` against its contract, over many seeded random specs and histories.
 *
 * Each case is a random valid Vertex search space (every parameter type and scale, conditional
 * children several deep; valid by the project's own validator, but for two cases kept on
 * purpose: see specIssues) and a random valid history (infeasible trials, NaN, huge and identical
 * values, repeated points, pending trials equal to finished ones), with edge cases drawn often: a
 * DOUBLE with min == max or a range of a few representable doubles near 0, INTEGER with min ==
 * max or int64 bounds near ±2^53, single-value DISCRETE and CATEGORICAL, unsorted DISCRETE values
 * one ulp apart. For each algorithm the suggestions are checked against a model of the space
 * written here independently of the optimizer: feasible, active parameters exactly, no repeat of
 * a finished or pending trial nor of each other, exactly `count` of them unless fewer unseen
 * points are left, the grid's in grid order, the same again for the same request, the request
 * untouched, and no throw. The generator is seeded: a failure names its case, and reruns the same
 * (PROPERTY_SCALE and PROPERTY_OFFSET, below, search further).
 */
import { describe, expect, it } from "vitest";
import { validateJob } from "../../components/spec";
import { suggest } from "../../optimizer";
import type { Assignment, CompletedTrial, ParameterSpec, StudySpec, SuggestRequest } from "../../optimizer/types";

/** A small deterministic generator for the cases (independent of the optimizer's own). */
class CaseRng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** mulberry32. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

type Kind = "DOUBLE" | "INTEGER" | "DISCRETE" | "CATEGORICAL";
type ScaleType = "UNIT_LINEAR_SCALE" | "UNIT_LOG_SCALE" | "UNIT_REVERSE_LOG_SCALE" | undefined;

/** The test's own model of a parameter. */
interface Param {
  id: string;
  kind: Kind;
  scale: ScaleType;
  lo: number;
  hi: number;
  /** DISCRETE: as listed in the spec (maybe unsorted); CATEGORICAL: the categories. */
  values: (number | string)[];
  children: { when: (number | string)[]; param: Param }[];
}

// ---- doubles as ordered integers: counting and listing the representable values of a range ----

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
/** The position of a double among all doubles (0 and −0 share 0). */
function ordinal(x: number): bigint {
  f64[0] = Math.abs(x);
  return x < 0 ? -i64[0]! : i64[0]!;
}
function fromOrdinal(o: bigint): number {
  i64[0] = o < 0n ? -o : o;
  return o < 0n ? -f64[0]! : f64[0]!;
}
/** The number of doubles in [lo, hi]. */
function doublesIn(lo: number, hi: number): bigint {
  return ordinal(hi) - ordinal(lo) + 1n;
}

// ---- generating specs ----

const MAX_INT = Number.MAX_SAFE_INTEGER;

function genParam(rng: CaseRng, ids: { next: number }, depth: number, algorithm: string | undefined): Param {
  const id = `p${ids.next++}`;
  const kinds: Kind[] = algorithm === "GRID_SEARCH" ? ["INTEGER", "DISCRETE", "CATEGORICAL"] : ["DOUBLE", "INTEGER", "DISCRETE", "CATEGORICAL"];
  const kind = rng.pick(kinds);
  const logScale = (): ScaleType => rng.pick(["UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE"] as const);
  let scale: ScaleType = undefined;
  let lo = 0;
  let hi = 0;
  let values: (number | string)[] = [];
  if (kind === "DOUBLE") {
    const shape = rng.int(7);
    scale = rng.pick([undefined, "UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE"] as const);
    const positive = scale === "UNIT_LOG_SCALE" || scale === "UNIT_REVERSE_LOG_SCALE";
    if (shape === 0) {
      // min == max (refused by the spec validator, but the optimizer takes it).
      lo = hi = positive ? rng.pick([1e-300, 0.5, 3]) : rng.pick([-2, 0, 7.5]);
    } else if (shape === 1) {
      // A few representable doubles near 0 (denormals, or the smallest normals).
      const start = positive ? rng.pick([5e-324, 1e-320, 2.2250738585072014e-308]) : rng.pick([-1e-323, 0, 5e-324]);
      lo = start;
      hi = fromOrdinal(ordinal(start) + BigInt(1 + rng.int(4)));
    } else if (shape === 2) {
      // A tiny range on a log scale away from 0.
      lo = positive ? rng.pick([1e-12, 1e-6]) : -1e-9;
      hi = lo + Math.abs(lo) * rng.pick([1e-12, 1e-3]);
    } else if (shape === 3) {
      lo = positive ? 1e-300 : -1e300;
      hi = 1e300;
    } else {
      lo = positive ? rng.pick([1e-4, 0.1, 1]) : rng.pick([-5, 0, 1e-4]);
      hi = lo + rng.pick([1, 10, 1000]);
    }
  } else if (kind === "INTEGER") {
    const shape = rng.int(6);
    scale = rng.pick([undefined, "UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE"] as const);
    const positive = scale === "UNIT_LOG_SCALE" || scale === "UNIT_REVERSE_LOG_SCALE";
    if (shape === 0) lo = hi = positive ? rng.pick([1, 64, MAX_INT]) : rng.pick([-3, 0, MAX_INT, -MAX_INT]);
    else if (shape === 1) {
      // int64 bounds near ±2^53, the extremes of what a double holds exactly.
      lo = positive ? rng.pick([1, 2, MAX_INT - 5, MAX_INT - 100, 2 ** 52]) : rng.pick([-MAX_INT, 0, MAX_INT - 3, MAX_INT - 40]);
      hi = MAX_INT;
    } else if (shape === 2) {
      lo = positive ? 1 : -MAX_INT;
      hi = rng.pick([3, 1000, MAX_INT]);
    } else {
      lo = positive ? 1 + rng.int(4) : -2 + rng.int(4);
      hi = lo + rng.int(6);
    }
  } else if (kind === "DISCRETE") {
    const shape = rng.int(6);
    scale = rng.pick([undefined, "UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE"] as const);
    const positive = scale === "UNIT_LOG_SCALE" || scale === "UNIT_REVERSE_LOG_SCALE";
    let sorted: number[];
    if (shape === 0) sorted = [positive ? rng.pick([0.001, 7]) : rng.pick([-1, 0, 7])];
    else if (shape === 1) {
      // Values one ulp apart (but at least 1e-10 apart, as the validator asks) among wide ones.
      const base = rng.pick([1e6, 1e5, 3.5e6]);
      const ulp = fromOrdinal(ordinal(base) + 1n) - base;
      sorted = [positive ? 1 : 0, base, base + ulp, base + 2 * ulp];
      if (rng.chance(0.5)) sorted.push(1e9);
    } else if (shape === 2) {
      // Values 1e-10 apart.
      const base = positive ? rng.pick([1e-3, 1]) : rng.pick([0, -1, 1]);
      sorted = [base, base + 1e-10, base + 2e-10, base + 1];
    } else if (shape === 3) {
      sorted = positive ? [1e-300, 1, 1e300] : [-1e300, 0, 1e300];
    } else {
      const n = 2 + rng.int(5);
      sorted = Array.from({ length: n }, (_, i) => (positive ? 1 : -2) + i * rng.pick([0.5, 1, 16]) + (i > 0 ? rng.int(3) : 0));
    }
    sorted = [...new Set(sorted)].sort((a, b) => a - b);
    lo = sorted[0]!;
    hi = sorted[sorted.length - 1]!;
    values = [...sorted];
    // Unsorted sometimes (Vertex asks for increasing values; the optimizer sorts them).
    if (rng.chance(0.3)) values.reverse();
  } else {
    const n = rng.chance(0.25) ? 1 : 2 + rng.int(4);
    values = Array.from({ length: n }, (_, i) => rng.pick(["a", "b", "0", "1.0", "x y", "é"]) + i);
  }
  const param: Param = { id, kind, scale, lo, hi, values, children: [] };
  if (kind !== "DOUBLE" && depth < 3 && rng.chance(depth === 0 ? 0.45 : 0.3)) {
    const domain = parentDomainSample(param);
    const childCount = 1 + rng.int(2);
    for (let c = 0; c < childCount; c++) {
      const when = [...new Set(Array.from({ length: 1 + rng.int(2) }, () => rng.pick(domain)))];
      param.children.push({ when, param: genParam(rng, ids, depth + 1, algorithm) });
    }
  }
  return param;
}

/** Some values of a non-DOUBLE parameter, to condition children on. */
function parentDomainSample(p: Param): (number | string)[] {
  if (p.kind === "INTEGER") {
    const span = p.hi - p.lo;
    return span <= 4 ? Array.from({ length: span + 1 }, (_, i) => p.lo + i) : [p.lo, p.lo + 1, p.lo + 2, p.hi];
  }
  return p.values;
}

function toSpec(p: Param): ParameterSpec {
  const spec: ParameterSpec = { parameterId: p.id };
  if (p.scale) spec.scaleType = p.scale;
  if (p.kind === "DOUBLE") spec.doubleValueSpec = { minValue: p.lo, maxValue: p.hi };
  else if (p.kind === "INTEGER") spec.integerValueSpec = { minValue: String(p.lo), maxValue: String(p.hi) };
  else if (p.kind === "DISCRETE") spec.discreteValueSpec = { values: p.values as number[] };
  else spec.categoricalValueSpec = { values: p.values as string[] };
  if (p.children.length > 0) {
    spec.conditionalParameterSpecs = p.children.map(({ when, param }) => ({
      ...(p.kind === "INTEGER"
        ? { parentIntValues: { values: when.map(String) } }
        : p.kind === "DISCRETE"
          ? { parentDiscreteValues: { values: when as number[] } }
          : { parentCategoricalValues: { values: when as string[] } }),
      parameterSpec: toSpec(param),
    }));
  }
  return spec;
}

// ---- the model of the space ----

/** The values of a parameter when they are few (null when there are too many to list). */
function finiteValues(p: Param): (number | string)[] | null {
  if (p.kind === "DISCRETE" || p.kind === "CATEGORICAL") return p.kind === "DISCRETE" ? [...(p.values as number[])].sort((a, b) => a - b) : p.values;
  if (p.kind === "INTEGER") return p.hi - p.lo <= 64 ? Array.from({ length: p.hi - p.lo + 1 }, (_, i) => p.lo + i) : null;
  const n = doublesIn(p.lo, p.hi);
  if (n > 64n) return null;
  const out: number[] = [];
  for (let o = ordinal(p.lo); o <= ordinal(p.hi); o++) out.push(fromOrdinal(o));
  return [...new Set(out)];
}

/** Every assignment of the parameters, in Vertex grid order (last parameter fastest; a value, then its active children), or null if there are more than `limit`. */
function enumerate(params: Param[], limit: number): Assignment[] | null {
  let out: Assignment[] = [{}];
  for (const p of params) {
    const sub = subtree(p, limit);
    if (!sub) return null;
    const next: Assignment[] = [];
    for (const head of out) for (const tail of sub) next.push({ ...head, ...tail });
    if (next.length > limit) return null;
    out = next;
  }
  return out;
}

function subtree(p: Param, limit: number): Assignment[] | null {
  const values = finiteValues(p);
  if (!values) return null;
  const out: Assignment[] = [];
  for (const v of values) {
    const rest = enumerate(
      p.children.filter((c) => c.when.includes(v)).map((c) => c.param),
      limit,
    );
    if (!rest) return null;
    for (const r of rest) out.push({ [p.id]: v, ...r });
    if (out.length > limit) return null;
  }
  return out;
}

/** A random feasible assignment, drawn here (bounds and special values often). */
function sampleAssignment(params: Param[], rng: CaseRng): Assignment {
  const out: Assignment = {};
  const visit = (p: Param): void => {
    let v: number | string;
    if (p.kind === "CATEGORICAL" || p.kind === "DISCRETE") v = rng.pick(p.values);
    else if (p.kind === "INTEGER") {
      // The bounds, or next to one (where values near 2^53 crowd), or anywhere.
      const near = Math.min(p.hi - p.lo, rng.int(4));
      v = rng.chance(0.3) ? rng.pick([p.lo, p.hi]) : rng.chance(0.3) ? rng.pick([p.lo + near, p.hi - near]) : Math.min(p.hi, p.lo + Math.floor(rng.next() * (p.hi - p.lo + 1)));
    } else {
      const few = finiteValues(p);
      v = few ? rng.pick(few) : rng.chance(0.3) ? rng.pick([p.lo, p.hi]) : Math.min(p.hi, Math.max(p.lo, p.lo + rng.next() * (p.hi - p.lo)));
    }
    out[p.id] = v;
    for (const c of p.children) if (c.when.includes(v)) visit(c.param);
  };
  params.forEach(visit);
  return out;
}

/** The problems of an assignment in the space: unknown or missing parameters, values outside their domain. */
function feasibilityErrors(params: Param[], a: Assignment): string[] {
  const errors: string[] = [];
  const expected = new Set<string>();
  const visit = (p: Param): void => {
    expected.add(p.id);
    const v = a[p.id];
    if (v === undefined) {
      errors.push(`${p.id} missing`);
      return;
    }
    if (p.kind === "CATEGORICAL") {
      if (typeof v !== "string" || !p.values.includes(v)) errors.push(`${p.id}=${JSON.stringify(v)} not a category`);
    } else if (typeof v !== "number" || !Number.isFinite(v)) errors.push(`${p.id}=${JSON.stringify(v)} not a finite number`);
    else if (p.kind === "DISCRETE" && !p.values.includes(v)) errors.push(`${p.id}=${v} not a listed value`);
    else if (p.kind === "INTEGER" && !Number.isInteger(v)) errors.push(`${p.id}=${v} not an integer`);
    else if (v < p.lo || v > p.hi) errors.push(`${p.id}=${v} outside [${p.lo}, ${p.hi}]`);
    for (const c of p.children) if (c.when.includes(v)) visit(c.param);
  };
  params.forEach(visit);
  for (const k of Object.keys(a)) if (!expected.has(k)) errors.push(`${k} present but inactive`);
  return errors;
}

/** The identity of a trial: its active parameters and their values (0 and −0 alike). */
function key(a: Assignment): string {
  return JSON.stringify(Object.keys(a).sort().map((k) => [k, typeof a[k] === "number" ? (a[k] as number) + 0 : `s${a[k]}`]));
}

// ---- histories ----

const VALUES = [NaN, Infinity, -Infinity, 1e308, -1e308, 1e-308, 0, 5, 5, 5];

function genHistory(params: Param[], rng: CaseRng, size: number): { completed: CompletedTrial[]; pending: Assignment[] } {
  const style = rng.int(5); // 0: all infeasible; 1: all one value; 2: extreme values; else ordinary
  const completed: CompletedTrial[] = [];
  for (let i = 0; i < size; i++) {
    // Repeats of a finished point now and then.
    const parameters = completed.length > 0 && rng.chance(0.2) ? structuredClone(rng.pick(completed).parameters) : sampleAssignment(params, rng);
    if (style === 0 || rng.chance(0.15)) completed.push(rng.chance(0.5) ? { parameters, infeasible: true } : { parameters });
    else if (style === 1) completed.push({ parameters, value: 3 });
    else if (style === 2) completed.push({ parameters, value: rng.pick(VALUES) });
    else completed.push({ parameters, value: rng.next() * 10 - 5 });
  }
  const pending: Assignment[] = [];
  const pendingCount = rng.int(3);
  for (let i = 0; i < pendingCount; i++) {
    pending.push(completed.length > 0 && rng.chance(0.4) ? structuredClone(rng.pick(completed).parameters) : sampleAssignment(params, rng));
  }
  return { completed, pending };
}

// ---- one case ----

/** A request to suggest, with its name and the parameters the test's own model of the space checks against. */
interface Case extends SuggestRequest {
  name: string;
  params: Param[];
}

/**
 * The study spec's issues by the project's own validator (the same one the local server applies),
 * but two that the test keeps on purpose: a DOUBLE with min == max, and DISCRETE values out of
 * order (the validator is given them sorted), which the optimizer must take all the same.
 */
function specIssues(space: StudySpec): string[] {
  const sorted = structuredClone(space);
  const sort = (ps: ParameterSpec[] | undefined): void =>
    ps?.forEach((p) => {
      p.discreteValueSpec?.values?.sort((a, b) => a - b);
      sort(p.conditionalParameterSpecs?.map((c) => c.parameterSpec!));
    });
  sort(sorted.parameters);
  const job = {
    displayName: "property",
    studySpec: sorted,
    maxTrialCount: 10,
    parallelTrialCount: 1,
    trialJobSpec: { workerPoolSpecs: [{ machineSpec: { machineType: "n1-standard-4" }, replicaCount: "1", containerSpec: { imageUri: "gcr.io/p/i" } }] },
  };
  return validateJob(job, "us-central1", false)
    .filter((issue) => !/must be less than maxValue \((.+) >= \1\)/.test(issue.message))
    .map((issue) => `${issue.path}: ${issue.message}`);
}

function genCase(caseSeed: number, algorithm: string | undefined, maxHistory: number, maxRoots: number): Case {
  const rng = new CaseRng(caseSeed * 2654435761 + (algorithm?.length ?? 0));
  let params: Param[];
  let space: StudySpec;
  // Drawn again until the validator takes the spec (the draws are meant to be valid; a few, such
  // as DISCRETE values one ulp apart that share a logarithm, are not).
  for (let attempt = 0; ; attempt++) {
    const ids = { next: 0 };
    params = Array.from({ length: 1 + rng.int(maxRoots) }, () => genParam(rng, ids, 0, algorithm));
    space = {
      algorithm,
      metrics: [{ metricId: "m", goal: rng.pick(["MINIMIZE", "MAXIMIZE"]) }],
      parameters: params.map(toSpec),
    };
    const issues = specIssues(space);
    if (issues.length === 0) break;
    if (attempt === 50) throw new Error(`case ${caseSeed}: no valid spec drawn; last issues ${issues.join("; ")}`);
  }
  const { completed, pending } = genHistory(params, rng, rng.int(maxHistory + 1));
  const count = rng.chance(0.03) ? 0 : 1 + rng.int(rng.chance(0.3) ? 12 : 3);
  const c: Case = { name: `${algorithm ?? "BAYES"} case ${caseSeed}`, params, space, completed, pending, count, seed: rng.int(2 ** 32) };
  if (rng.chance(0.5)) c.studySeed = rng.int(2 ** 32);
  if (rng.chance(0.5)) c.budget = 1 + rng.int(200);
  // The default algorithm is spelled out half the time.
  if (algorithm === undefined && rng.chance(0.5)) space.algorithm = "ALGORITHM_UNSPECIFIED";
  return c;
}

/** Checks every part of the contract on one case; returns the problems found. */
function check(c: Case): string[] {
  const request = { space: c.space, completed: c.completed, pending: c.pending, count: c.count, seed: c.seed, studySeed: c.studySeed, budget: c.budget };
  const before = structuredClone(request);
  let out: Assignment[];
  try {
    out = suggest(request);
  } catch (error) {
    return [`threw: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  // The request's arrays hold NaN: compare through a printer that keeps it.
  const print = (x: unknown): string => JSON.stringify(x, (_, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
  if (print(request) !== print(before)) problems.push("mutated the request");
  const seen = new Set([...c.completed.map((t) => t.parameters), ...c.pending].map(key));
  const mine = new Set<string>();
  out.forEach((a, i) => {
    for (const e of feasibilityErrors(c.params, a)) problems.push(`suggestion ${i} ${JSON.stringify(a)}: ${e}`);
    const k = key(a);
    if (seen.has(k)) problems.push(`suggestion ${i} ${JSON.stringify(a)} repeats a finished or pending trial`);
    if (mine.has(k)) problems.push(`suggestion ${i} ${JSON.stringify(a)} repeats an earlier suggestion`);
    mine.add(k);
  });
  const all = enumerate(c.params, 5000);
  const unseen = all ? all.filter((a) => !seen.has(key(a))) : null;
  const expected = unseen ? Math.min(c.count, unseen.length) : c.count;
  if (out.length !== expected) problems.push(`${out.length} suggestions where ${expected} were due (count ${c.count}, ${unseen ? unseen.length : "many"} unseen)`);
  if (c.space.algorithm === "GRID_SEARCH" && unseen) {
    const next = unseen.slice(0, c.count).map(key);
    if (print(out.map(key)) !== print(next)) problems.push(`grid order: got ${print(out)}, expected ${print(unseen.slice(0, c.count))}`);
  }
  if (print(suggest(structuredClone(request))) !== print(out)) problems.push("not deterministic");
  return problems;
}

/**
 * A longer search than the suite's: PROPERTY_SCALE=20 runs twenty times the cases, and
 * PROPERTY_OFFSET=N starts from case N (both default to the suite's fixed cases).
 */
const SCALE = Number(process.env.PROPERTY_SCALE ?? 1);
const OFFSET = Number(process.env.PROPERTY_OFFSET ?? 0);

function runCases(algorithm: string | undefined, cases: number, maxHistory: number, maxRoots: number): string[] {
  const failures: string[] = [];
  for (let s = OFFSET; s < OFFSET + cases * SCALE; s++) {
    const c = genCase(s, algorithm, maxHistory, maxRoots);
    const problems = check(c);
    if (problems.length > 0) failures.push(`${c.name}: ${problems.slice(0, 3).join("; ")}\n  space ${JSON.stringify(c.space)}`);
  }
  return failures;
}

describe("suggest over random specs and histories (property test)", () => {
  it("GRID_SEARCH: feasible, unseen, in grid order, as many as due, deterministic", () => {
    expect(runCases("GRID_SEARCH", 800, 12, 4)).toEqual([]);
  });

  it("RANDOM_SEARCH: feasible, unseen, as many as due, deterministic", () => {
    expect(runCases("RANDOM_SEARCH", 400, 12, 4)).toEqual([]);
  });

  it("Bayesian (ALGORITHM_UNSPECIFIED): feasible, unseen, as many as due, deterministic", () => {
    expect(runCases(undefined, 20, 8, 3)).toEqual([]);
  });
});
