/**
 * The search space: the Vertex `StudySpec.parameters` tree flattened into dimensions, and the
 * mapping between assignments and points of the model's space.
 *
 * A point is a `Float64Array` with one coordinate per parameter (children included, in depth-first
 * order). DOUBLE, INTEGER and DISCRETE coordinates are in [0, 1] after the parameter's scale
 * (linear, log or reverse log); INTEGER and DISCRETE are treated as continuous and snapped to the
 * nearest feasible value. CATEGORICAL coordinates hold the index of the value. A conditional child
 * whose parent condition does not hold is inactive and holds a fixed placeholder (0.5, or one past
 * the last category), so that all inactive copies of it agree.
 */
import type { Assignment, ParameterSpec, ParameterValue, StudySpec } from "./types";
import type { Rng } from "./rng";

/** The Vertex parameter type of a dimension. */
export type ParameterType = "DOUBLE" | "INTEGER" | "DISCRETE" | "CATEGORICAL";
/** The scale of a numeric dimension. */
export type Scale = "LINEAR" | "LOG" | "REVERSE_LOG";

/** One parameter of the flattened tree. */
export interface Dimension {
  /** The `parameterId`. */
  id: string;
  type: ParameterType;
  scale: Scale;
  /** Bounds of a numeric parameter (DISCRETE: its smallest and largest value). */
  lo: number;
  hi: number;
  /** DISCRETE: the values sorted ascending, and their unit coordinates (strictly increasing: see separated). */
  values: number[];
  unitValues: number[];
  /** CATEGORICAL: the values in spec order (the index is the coordinate). */
  categories: string[];
  /** Index of the parent dimension, or -1 for a top-level parameter. */
  parent: number;
  /** When the parent's value (as a string key) is in this set, the dimension is active. */
  parentValues: Set<string>;
  /** Indices of the child dimensions, in spec order. */
  children: number[];
}

/** The flattened space. */
export interface Space {
  dims: Dimension[];
  /** Top-level dimensions, in spec order. */
  roots: number[];
}

/** Placeholder coordinate of an inactive numeric dimension. */
export const INACTIVE_UNIT = 0.5;

/** Flattens a study spec's parameters; throws on a spec the optimizer cannot interpret. */
export function parseSpace(spec: StudySpec): Space {
  const dims: Dimension[] = [];
  const roots: number[] = [];
  const seen = new Set<string>();
  const add = (p: ParameterSpec, parent: number, parentValues: Set<string>): number => {
    const index = dims.length;
    const dim = toDimension(p, parent, parentValues);
    if (seen.has(dim.id)) throw new Error(`duplicate parameterId "${dim.id}"`);
    seen.add(dim.id);
    dims.push(dim);
    for (const child of p.conditionalParameterSpecs ?? []) {
      if (!child.parameterSpec) throw new Error(`conditional spec under "${dim.id}" has no parameterSpec`);
      const values =
        child.parentDiscreteValues?.values?.map((v) => valueKey(Number(v))) ??
        child.parentIntValues?.values?.map((v) => valueKey(Number(v))) ??
        child.parentCategoricalValues?.values?.map((v) => valueKey(v)) ??
        [];
      dim.children.push(add(child.parameterSpec, index, new Set(values)));
    }
    return index;
  };
  for (const p of spec.parameters ?? []) roots.push(add(p, -1, new Set()));
  return { dims, roots };
}

function toDimension(p: ParameterSpec, parent: number, parentValues: Set<string>): Dimension {
  const id = p.parameterId;
  if (!id) throw new Error("parameter without parameterId");
  const scale: Scale =
    p.scaleType === "UNIT_LOG_SCALE" ? "LOG" : p.scaleType === "UNIT_REVERSE_LOG_SCALE" ? "REVERSE_LOG" : "LINEAR";
  const base = { id, scale, parent, parentValues, children: [] as number[], values: [] as number[], unitValues: [] as number[], categories: [] as string[] };
  if (p.doubleValueSpec) {
    const lo = Number(p.doubleValueSpec.minValue);
    const hi = Number(p.doubleValueSpec.maxValue);
    checkBounds(id, lo, hi, scale);
    return { ...base, scale: effectiveScale(scale, lo, hi), type: "DOUBLE", lo, hi };
  }
  if (p.integerValueSpec) {
    const lo = Number(p.integerValueSpec.minValue);
    const hi = Number(p.integerValueSpec.maxValue);
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new Error(`"${id}": integer bounds must be integers`);
    checkBounds(id, lo, hi, scale);
    return { ...base, scale: effectiveScale(scale, lo, hi), type: "INTEGER", lo, hi };
  }
  if (p.discreteValueSpec) {
    const values = [...new Set((p.discreteValueSpec.values ?? []).map(Number))].sort((a, b) => a - b);
    if (values.length === 0 || values.some((v) => !Number.isFinite(v))) throw new Error(`"${id}": discrete values must be finite numbers`);
    const lo = values[0]!;
    const hi = values[values.length - 1]!;
    checkBounds(id, lo, hi, scale);
    const dim: Dimension = { ...base, scale: effectiveScale(scale, lo, hi), type: "DISCRETE", lo, hi, values };
    dim.unitValues = separated(values.map((v) => toUnit(dim, v)));
    return dim;
  }
  if (p.categoricalValueSpec) {
    // Once each, as DISCRETE values: a repeated category was a second index for one value, which
    // a grid listed twice in one call.
    const categories = [...new Set(p.categoricalValueSpec.values ?? [])];
    if (categories.length === 0) throw new Error(`"${id}": categorical values are empty`);
    return { ...base, type: "CATEGORICAL", lo: 0, hi: categories.length - 1, categories };
  }
  throw new Error(`"${id}": no value spec`);
}

/**
 * The unit coordinates of sorted DISCRETE values, made strictly increasing within [0, 1]. Values
 * one ulp apart in a wide list share a coordinate by toUnit ((1e6 + 1.16e-10) / 1e9 rounds to
 * 1e6 / 1e9), and the second then had no point: neither it nor anything active under it was
 * ever suggested. Each collision moves by one ulp, far below any distance the model resolves;
 * values with distinct coordinates (all ordinary lists) keep them exactly.
 */
function separated(units: number[]): number[] {
  const out = [...units];
  for (let i = 1; i < out.length; i++) if (!(out[i]! > out[i - 1]!)) out[i] = adjacentDouble(out[i - 1]!, 1);
  // A collision at the top moved the last past 1, where snapping (clamped to [0, 1]) gives the one before.
  if (out[out.length - 1]! > 1) {
    out[out.length - 1] = 1;
    for (let i = out.length - 2; i >= 0 && !(out[i]! < out[i + 1]!); i--) out[i] = adjacentDouble(out[i + 1]!, -1);
  }
  return out;
}

const adjacentBits = new Float64Array(1);
const adjacentInts = new BigInt64Array(adjacentBits.buffer);
/** The double next to x ≥ 0 upwards (direction 1) or downwards (−1, x > 0). */
function adjacentDouble(x: number, direction: 1 | -1): number {
  adjacentBits[0] = x;
  adjacentInts[0]! += BigInt(direction);
  return adjacentBits[0]!;
}

/**
 * Relative width (hi / lo − 1) below which a log scale is mapped as linear. Over so narrow a range
 * the logarithm departs from a straight line by less than 5e-7 of the range, so the two scales
 * place every value alike; but in floating point the logarithm cannot tell the values apart:
 * log(9007199254740986) and log(9007199254740991) are one double, so every unit coordinate was
 * 0/0 (NaN suggestions, and the GP's Cholesky threw), and a few ulps of difference quantize the
 * coordinates of INTEGERs near 2^53 to a handful of levels, leaving most of them unreachable.
 * From this width up, the logarithm resolves every integer of a range small enough to enumerate.
 */
const NARROWEST_LOG_RANGE = 1e-6;

/** The scale a dimension is mapped with: its own, or LINEAR for a log scale over a range too narrow for logarithms. */
function effectiveScale(scale: Scale, lo: number, hi: number): Scale {
  return scale !== "LINEAR" && hi / lo - 1 < NARROWEST_LOG_RANGE ? "LINEAR" : scale;
}

function checkBounds(id: string, lo: number, hi: number, scale: Scale): void {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) throw new Error(`"${id}": bad bounds [${lo}, ${hi}]`);
  if (scale !== "LINEAR" && lo <= 0) throw new Error(`"${id}": a log scale needs positive bounds`);
}

/** The canonical string of a parameter value, used for conditions and duplicate detection. */
export function valueKey(v: ParameterValue): string {
  return typeof v === "number" ? `n${v}` : `s${v}`;
}

/** The unit coordinate of a numeric value (not clamped). */
export function toUnit(dim: Dimension, v: number): number {
  const { lo, hi } = dim;
  if (hi === lo) return 0.5;
  // The bounds exactly: fromUnit clamps to them, and the reverse-log formula does not give back
  // 0 and 1 from them in floating point, so a finished trial at a bound would not be recognized.
  if (v === lo) return 0;
  if (v === hi) return 1;
  switch (dim.scale) {
    case "LINEAR":
      // Halved first when the span overflows (DISCRETE values near ±1.8e308; the validator
      // refuses such a DOUBLE range): (v − lo) / Infinity put every value but hi at 0.
      return Number.isFinite(hi - lo) ? (v - lo) / (hi - lo) : (v / 2 - lo / 2) / (hi / 2 - lo / 2);
    case "LOG":
      // A value at or below 0 (a trial of a spec without the log scale) has no logarithm: NaN
      // reached the model's inputs and its Cholesky threw. Below the range, it lies at 0.
      return (Math.log(Math.max(v, lo)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
    case "REVERSE_LOG":
      return 1 - (Math.log(Math.max(lo + hi - v, lo)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
  }
}

/** The numeric value of a unit coordinate (continuous, clamped to the bounds). */
export function fromUnit(dim: Dimension, u: number): number {
  const { lo, hi } = dim;
  const t = Math.min(1, Math.max(0, u));
  // The bounds exactly, as toUnit maps them: the formulas give 5.039999999999999 for a LOG
  // maximum of 5.04, a value inside the range that no one asked for.
  if (t === 0) return lo;
  if (t === 1) return hi;
  let v: number;
  switch (dim.scale) {
    case "LINEAR":
      v = lo + t * (hi - lo);
      break;
    case "LOG":
      v = Math.exp(Math.log(lo) + t * (Math.log(hi) - Math.log(lo)));
      break;
    case "REVERSE_LOG":
      v = lo + hi - Math.exp(Math.log(lo) + (1 - t) * (Math.log(hi) - Math.log(lo)));
      break;
  }
  return Math.min(hi, Math.max(lo, v));
}

/** The feasible value nearest (in unit coordinates) to coordinate u of a non-categorical dimension. */
export function nearestValue(dim: Dimension, u: number): number {
  if (dim.type === "DOUBLE") return fromUnit(dim, u);
  if (dim.type === "INTEGER") {
    const v = fromUnit(dim, u);
    const down = Math.max(dim.lo, Math.floor(v));
    const up = Math.min(dim.hi, Math.ceil(v));
    return Math.abs(toUnit(dim, down) - u) <= Math.abs(toUnit(dim, up) - u) ? down : up;
  }
  let best = 0;
  for (let i = 1; i < dim.unitValues.length; i++) {
    if (Math.abs(dim.unitValues[i]! - u) < Math.abs(dim.unitValues[best]! - u)) best = i;
  }
  return dim.values[best]!;
}

/** The value of dimension `d` in point x (x must be snapped). */
function valueAt(dim: Dimension, x: Float64Array, d: number): ParameterValue {
  return dim.type === "CATEGORICAL" ? dim.categories[x[d]!]! : nearestValue(dim, x[d]!);
}

/** Whether dimension d is active in point x (its ancestors active and their conditions met). */
export function isActive(space: Space, x: Float64Array, d: number): boolean {
  const dim = space.dims[d]!;
  if (dim.parent < 0) return true;
  const parent = space.dims[dim.parent]!;
  if (!isActive(space, x, dim.parent)) return false;
  return dim.parentValues.has(valueKey(valueAt(parent, x, dim.parent)));
}

/**
 * Makes x feasible in place: active numeric coordinates snap to their nearest feasible value,
 * categorical indices are rounded into range, inactive coordinates take the placeholder. A child
 * that becomes active with a placeholder gets a random value (numeric children keep 0.5, snapped).
 */
export function repair(space: Space, x: Float64Array, rng: Rng): void {
  for (let d = 0; d < space.dims.length; d++) {
    const dim = space.dims[d]!;
    // Depth-first order puts parents before children, so isActive sees repaired parents.
    if (!isActive(space, x, d)) {
      x[d] = dim.type === "CATEGORICAL" ? dim.categories.length : INACTIVE_UNIT;
      continue;
    }
    if (dim.type === "CATEGORICAL") {
      const k = Math.round(x[d]!);
      x[d] = k >= 0 && k < dim.categories.length ? k : rng.int(dim.categories.length);
    } else {
      x[d] = snapUnit(dim, x[d]!);
    }
  }
}

/** The unit coordinate of the feasible value nearest to u. */
export function snapUnit(dim: Dimension, u: number): number {
  const t = Math.min(1, Math.max(0, u));
  if (dim.type === "DOUBLE") return t;
  if (dim.type === "DISCRETE") {
    let best = 0;
    for (let i = 1; i < dim.unitValues.length; i++) {
      if (Math.abs(dim.unitValues[i]! - t) < Math.abs(dim.unitValues[best]! - t)) best = i;
    }
    return dim.unitValues[best]!;
  }
  return toUnit(dim, nearestValue(dim, t));
}

/** The point of an assignment (snapped; parameters missing or not active take the placeholder). */
export function encode(space: Space, assignment: Assignment): Float64Array {
  const x = new Float64Array(space.dims.length);
  space.dims.forEach((dim, d) => {
    const v = assignment[dim.id];
    if (dim.type === "CATEGORICAL") {
      const k = v === undefined ? -1 : dim.categories.indexOf(String(v));
      x[d] = k >= 0 ? k : dim.categories.length;
    } else {
      const num = Number(v);
      // A listed DISCRETE value takes its own coordinate: toUnit may give its neighbour's (see separated).
      const listed = dim.type === "DISCRETE" ? dim.values.indexOf(num) : -1;
      x[d] = v === undefined || !Number.isFinite(num) ? INACTIVE_UNIT : listed >= 0 ? dim.unitValues[listed]! : snapUnit(dim, toUnit(dim, num));
    }
  });
  // Placeholders of active dims (a missing value) and values of inactive ones are normalized the same way.
  space.dims.forEach((dim, d) => {
    if (!isActive(space, x, d)) x[d] = dim.type === "CATEGORICAL" ? dim.categories.length : INACTIVE_UNIT;
    else if (dim.type === "CATEGORICAL" && x[d] === dim.categories.length) x[d] = 0;
  });
  return x;
}

/** The assignment of a repaired point: exactly the active parameters. */
export function decode(space: Space, x: Float64Array): Assignment {
  const out: Assignment = {};
  space.dims.forEach((dim, d) => {
    if (isActive(space, x, d)) out[dim.id] = valueAt(dim, x, d);
  });
  return out;
}

/**
 * A canonical key of an assignment, equal for assignments that denote the same trial: the values
 * of its active parameters (a category by its index) and placeholders for the inactive ones, read
 * from the assignment itself rather than from its snapped point. A value and its coordinate do
 * not round-trip in floating point: a DOUBLE's `toUnit(fromUnit(u))` may differ from `u` in the
 * last bit, so a finished trial re-encoded from its values could miss the point that produced
 * it, and that point be suggested again; and neighbouring INTEGER values can share one
 * coordinate (near 2^53 on a log scale their logarithms are one double), so that one finished
 * trial hid its neighbours, and, its children being read under the neighbour's value, the trials
 * that differ only under it. An assignment with an active parameter whose value is none of the
 * space's has a key of no point of the space.
 */
export function assignmentKey(space: Space, assignment: Assignment): string {
  const x = new Float64Array(space.dims.length);
  const active: boolean[] = [];
  let foreign = false;
  space.dims.forEach((dim, d) => {
    // Depth-first order puts parents first, so a parent's activity and value are known here.
    const parent = dim.parent < 0 ? undefined : space.dims[dim.parent]!;
    active[d] = !parent || (active[dim.parent]! && dim.parentValues.has(valueKey(ownValue(parent, assignment))));
    const v = assignment[dim.id];
    if (!active[d]) x[d] = dim.type === "CATEGORICAL" ? dim.categories.length : INACTIVE_UNIT;
    else if (dim.type !== "CATEGORICAL") x[d] = Number(v);
    else {
      // A missing or unknown category (a trial of another spec): encode snaps it to the first for
      // the model, but the trial did not run there, and must not take that point's key. A numeric
      // value that is none of the space's (missing, out of range, not listed) is in the key itself.
      const k = v === undefined ? -1 : dim.categories.indexOf(String(v));
      if (k < 0) foreign = true;
      x[d] = Math.max(k, 0);
    }
  });
  // One character more than any point's key (pointKey gives four a coordinate).
  return foreign ? `${pointKey(x)}?` : pointKey(x);
}

/** A parameter's value in an assignment, as conditions compare it (a category as a string, a number as a number). */
function ownValue(dim: Dimension, assignment: Assignment): ParameterValue {
  const v = assignment[dim.id];
  return dim.type === "CATEGORICAL" ? String(v) : Number(v);
}

/** The key of the trial a repaired point stands for: the key of the assignment it decodes to. */
export function trialKey(space: Space, x: Float64Array): string {
  return assignmentKey(space, decode(space, x));
}

/**
 * The key of a repaired point's coordinates, for telling points apart in the acquisition search,
 * where it runs for every evaluation and decoding would dominate the cost. Whether a point is a
 * trial already run is `trialKey`'s question: two coordinates of a DOUBLE can decode to one value.
 */
export function pointKey(x: Float64Array): string {
  // The coordinates' bits as UTF-16 code units: several times cheaper than printing each number.
  // Adding 0 folds −0 into 0 so that the two spellings of zero share a key.
  const bits = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) bits[i] = x[i]! + 0;
  return String.fromCharCode.apply(null, new Uint16Array(bits.buffer) as unknown as number[]);
}

/**
 * A uniformly random feasible point, uniform after each parameter's scale: a LINEAR INTEGER's
 * integers and a DISCRETE parameter's values equally likely; a log-scaled DOUBLE or INTEGER
 * log-uniform (an INTEGER drawn on its scale and snapped there, as Vizier's random designer
 * samples the scaled space: drawn as integers, batch sizes of 1 to 1,000 with UNIT_LOG_SCALE had a
 * median near 500, against about 31 log-uniform).
 */
export function samplePoint(space: Space, rng: Rng): Float64Array {
  const x = new Float64Array(space.dims.length);
  space.dims.forEach((dim, d) => {
    if (dim.type === "CATEGORICAL") x[d] = rng.int(dim.categories.length);
    else if (dim.type === "DOUBLE") x[d] = rng.uniform();
    else if (dim.type === "INTEGER") x[d] = dim.scale === "LINEAR" ? toUnit(dim, dim.lo + rng.int(dim.hi - dim.lo + 1)) : rng.uniform();
    else x[d] = dim.unitValues[rng.int(dim.values.length)]!;
  });
  repair(space, x, rng);
  return x;
}

/**
 * Number of distinct feasible assignments (Infinity with any DOUBLE parameter), counted without
 * listing values: an INTEGER range may hold billions. Values that activate no child count one
 * each; those that do, the product of their children's sizes.
 */
export function spaceSize(space: Space): number {
  const sizeOf = (d: number): number => {
    const dim = space.dims[d]!;
    if (dim.type === "DOUBLE") return Infinity;
    const activating = new Set<string>();
    for (const c of dim.children) for (const key of space.dims[c]!.parentValues) if (hasValue(dim, key)) activating.add(key);
    let total = valueCount(dim) - activating.size;
    for (const key of activating) {
      let product = 1;
      for (const c of dim.children) if (space.dims[c]!.parentValues.has(key)) product *= sizeOf(c);
      total += product;
    }
    return total;
  };
  return space.roots.reduce((acc, r) => acc * sizeOf(r), 1);
}

/** How many values a non-DOUBLE dimension takes. */
function valueCount(dim: Dimension): number {
  if (dim.type === "CATEGORICAL") return dim.categories.length;
  if (dim.type === "DISCRETE") return dim.values.length;
  return dim.hi - dim.lo + 1;
}

/** Whether the value of `key` (see valueKey) is one of a non-DOUBLE dimension's values. */
function hasValue(dim: Dimension, key: string): boolean {
  if (dim.type === "CATEGORICAL") return dim.categories.some((c) => valueKey(c) === key);
  if (dim.type === "DISCRETE") return dim.values.some((v) => valueKey(v) === key);
  const n = Number(key.slice(1));
  return key.startsWith("n") && Number.isInteger(n) && n >= dim.lo && n <= dim.hi;
}

/**
 * The values of a non-DOUBLE dimension in grid order (ascending numbers; categories in spec
 * order), one at a time: an INTEGER range is never listed whole.
 */
export function* parameterValues(dim: Dimension): Generator<ParameterValue> {
  if (dim.type === "CATEGORICAL") yield* dim.categories;
  else if (dim.type === "DISCRETE") yield* dim.values;
  else if (dim.type === "INTEGER") for (let v = dim.lo; v <= dim.hi; v++) yield v;
  else throw new Error(`"${dim.id}": DOUBLE parameters have no finite list of values`);
}

/**
 * All assignments of the space in grid order: top-level parameters in spec order with the last
 * varying fastest; each value of a parameter is followed by the combinations of its children that
 * are active under it (enumerated the same way).
 */
export function* enumerateAssignments(space: Space): Generator<Assignment> {
  yield* product(space, space.roots, 0);
}

function* product(space: Space, dims: number[], from: number): Generator<Assignment> {
  if (from === dims.length) {
    yield {};
    return;
  }
  for (const head of subtree(space, dims[from]!)) {
    for (const tail of product(space, dims, from + 1)) yield { ...head, ...tail };
  }
}

function* subtree(space: Space, d: number): Generator<Assignment> {
  const dim = space.dims[d]!;
  for (const v of parameterValues(dim)) {
    const active = dim.children.filter((c) => space.dims[c]!.parentValues.has(valueKey(v)));
    for (const rest of product(space, active, 0)) yield { [dim.id]: v, ...rest };
  }
}
