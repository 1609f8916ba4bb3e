/**
 * Automated early stopping, the two rules of Vertex AI the local backend builds (see
 * local/README.md for exactly what each computes and why the thresholds are what they are):
 *
 * - median (`medianAutomatedStoppingSpec`): stop a trial whose best value so far is strictly
 *   worse than the median, over completed trials, of their running average up to the same step
 *   (or elapsed time);
 * - decay curve (`decayCurveStoppingSpec`): fit a saturating curve to the trial's measurements,
 *   extrapolate it to the completed trials' horizon (to its plateau for a trial at or past it),
 *   and stop when even an optimistic reading of that prediction cannot beat the best completed
 *   trial.
 *
 * Functions of the measurements: the scheduler calls `shouldStop` after each look at a trial's
 * metrics file, with the number of measurements that look found. What they keep between calls
 * (in WeakMaps, by the store's arrays) is what is costly to compute again, and how far the
 * decay-curve rule has judged a running trial.
 */
import type { VertexStudySpec } from "../components/spec";
import { durationSeconds, measurementValue, type Measurement } from "./metrics";

/** Completed trials needed before any rule may stop a trial: below this a median or a best is noise. */
export const MIN_COMPLETED_TRIALS = 3;
/** Measurements a trial needs before the median rule judges it: one point says little about a curve. */
export const MIN_MEASUREMENTS_MEDIAN = 2;
/**
 * Measurements a trial needs before the decay-curve rule fits it: a 3-parameter curve goes
 * through any 3 points, so only from the 4th is there a residual to say how well it fits.
 */
export const MIN_MEASUREMENTS_DECAY = 4;

/** One point of a learning curve: x is the step or the elapsed seconds. */
interface Point {
  x: number;
  y: number;
}

function curve(measurements: Measurement[], metricId: string, elapsed: boolean): Point[] {
  const points: Point[] = [];
  for (const m of measurements) {
    const y = measurementValue(m, metricId);
    if (y !== undefined) points.push({ x: elapsed ? durationSeconds(m.elapsedDuration) : Number(m.stepCount), y });
  }
  return points.sort((a, b) => a.x - b.x);
}

/**
 * The curves of completed trials, built once: a completed trial's measurements no longer change,
 * and building every completed curve again at each look of each running trial made a study's
 * early stopping quadratic (2000 completed trials of 100 measurements: 100 ms a look, on the
 * server's event loop, for every look of every trial). Kept by the measurements' array (the
 * store's, one per trial) and checked against its length, in case one is still growing.
 */
const completedCurves = new WeakMap<Measurement[], { metricId: string; elapsed: boolean; length: number; points: Point[] }>();

function completedCurve(measurements: Measurement[], metricId: string, elapsed: boolean): Point[] {
  const cached = completedCurves.get(measurements);
  if (cached && cached.metricId === metricId && cached.elapsed === elapsed && cached.length === measurements.length) return cached.points;
  const points = curve(measurements, metricId, elapsed);
  completedCurves.set(measurements, { metricId, elapsed, length: measurements.length, points });
  return points;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The rule's verdict, with the numbers behind it for the trial log. */
export interface StopDecision {
  stop: boolean;
  why: string;
}

/**
 * A completed trial's running average up to x (the mean of its values at steps ≤ x), or undefined
 * when it has none there. A trial that ended before x (one stopped early) gives the average of
 * its whole curve, as Vertex counts "all completed Trials". Its points are sorted by x; prefix
 * sums make each look-up a binary search, so judging every measurement of a look costs no pass
 * over every completed curve.
 */
function runningAverage(points: Point[]): (x: number) => number | undefined {
  const cached = runningAverages.get(points);
  if (cached?.length === points.length) return cached.average;
  const sums = [0];
  for (const p of points) sums.push(sums[sums.length - 1] + p.y);
  const average = (x: number) => {
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (points[mid].x <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : sums[lo] / lo;
  };
  runningAverages.set(points, { length: points.length, average });
  return average;
}

/** The running averages of curves already seen, by curve (a completed one's points are kept: see completedCurves). */
const runningAverages = new WeakMap<Point[], { length: number; average: (x: number) => number | undefined }>();

/** Steps a MedianTable keeps the running averages of at most (see MedianTable). */
export const MEDIAN_TABLE_STEPS = 512;

/**
 * The completed trials' running averages at each step judged so far, sorted, kept for one study
 * (the scheduler keeps one per job): the median rule's median at a step is then read, not
 * computed again. Computed at each judged step of each look, it was a pass over every completed
 * curve and a sort of their averages: with a trainer reporting 50 steps at 100 a second and 8
 * trials running, judging took a third of the server's CPU by 1,500 completed trials and grew
 * with each one (2,000 trials, RANDOM_SEARCH: 23 s of the server's 58 s). A trial that completes is
 * added to the steps kept, one insertion each. A curve is known by its array (completedCurve keeps
 * one per completed trial), so a set of curves that lost one (a curve that grew is a new array)
 * starts the table again. By steps only: elapsed seconds differ at every measurement, and a
 * table of them would grow with every look and never be read again. At most MEDIAN_TABLE_STEPS
 * steps are kept (a trainer that counts optimizer steps judges thousands); others are computed.
 */
export class MedianTable {
  /** The curves held, with how many times each was given. */
  private held = new Map<Point[], number>();
  /** By step: the running averages there of the curves held that have one, ascending. */
  private byStep = new Map<number, number[]>();

  /** Makes the table hold `completed` (each as often as it is given). */
  sync(completed: Point[][]): void {
    const given = new Map<Point[], number>();
    for (const c of completed) given.set(c, (given.get(c) ?? 0) + 1);
    let lost = given.size < this.held.size;
    for (const [c, n] of given) if (n < (this.held.get(c) ?? 0)) lost = true;
    if (!lost) for (const c of this.held.keys()) if (!given.has(c)) lost = true;
    if (lost) {
      this.held = new Map();
      this.byStep = new Map();
    }
    for (const [c, n] of given) {
      const more = n - (this.held.get(c) ?? 0);
      if (more === 0) continue;
      this.held.set(c, n);
      const average = runningAverage(c);
      for (const [x, values] of this.byStep) {
        const v = average(x);
        if (v !== undefined) for (let i = 0; i < more; i++) values.splice(sortedIndex(values, v), 0, v);
      }
    }
  }

  /** The running averages at `x` of the curves held that have one there, ascending. */
  valuesAt(x: number): number[] {
    const kept = this.byStep.get(x);
    if (kept) return kept;
    const values: number[] = [];
    for (const [c, n] of this.held) {
      const v = runningAverage(c)(x);
      if (v !== undefined) for (let i = 0; i < n; i++) values.push(v);
    }
    values.sort((a, b) => a - b);
    if (this.byStep.size < MEDIAN_TABLE_STEPS) this.byStep.set(x, values);
    return values;
  }
}

/** Where `v` goes in ascending `values` (after equal ones). */
function sortedIndex(values: number[], v: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The median of ascending values. */
function sortedMedian(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The median rule, judged at each x of `at` (by default the trial's last): the first stop wins.
 * Every completed trial with a measurement at or before x takes part, those that ended earlier
 * too (Vertex: the median of "all completed Trials" running averages): leaving out the trials
 * stopped early, which are the low ones, raised the median at later steps, so each local stop
 * made the next more likely, and a study stopped more trials here than on Vertex, and in
 * elapsed-time mode no trial was judged past the shortest completed trial's duration. The rule
 * is defined step by step (best so far at a step against the median
 * at that step), so a look that found several measurements judges each: judged at the last one
 * only, a trial below the median at a step inside the look and above it by the look's end was
 * kept, and whether it was stopped depended on how the poll cut its reports into looks.
 */
export function medianRule(current: Point[], completed: Point[][], sign: number, at: number[] = current.length ? [current[current.length - 1].x] : [], table?: MedianTable): StopDecision | undefined {
  // Without the study's table (a direct call, or by elapsed time), one for this call alone.
  const medians = table ?? new MedianTable();
  medians.sync(completed);
  let verdict: StopDecision | undefined;
  let seen = 0;
  let best = 0;
  for (const x of [...new Set(at)].sort((a, b) => a - b)) {
    for (; seen < current.length && current[seen].x <= x; seen++) if (seen === 0 || sign * current[seen].y > sign * best) best = current[seen].y;
    if (seen < MIN_MEASUREMENTS_MEDIAN) continue;
    const values = medians.valuesAt(x);
    if (values.length < MIN_COMPLETED_TRIALS) continue;
    const m = sortedMedian(values);
    verdict = { stop: sign * best < sign * m, why: `best ${best} vs median ${m} of ${values.length} completed trials' running averages at ${x}` };
    if (verdict.stop) return verdict;
  }
  return verdict;
}

/** A fitted saturating curve, y = a - b·exp(-c·(x - x0)). */
export interface SaturatingFit {
  a: number;
  b: number;
  c: number;
  /** Where the fitted points start: the exponent is taken from there. */
  x0: number;
  rms: number;
}

/**
 * Least-squares fit of y = a - b·exp(-c·(x - x0)) (b > 0 rises to a, b < 0 falls to a), x0 the
 * first point's x: for each c on a log grid the fit is linear in (a, b); the c with the smallest
 * residual wins. The same curves as a - b'·exp(-c·x), but measured from x0: taken from 0, the
 * exponentials of points far from 0 against their span (steps that start at 10,000, as a
 * fine-tune's optimizer counts them on) were too small for the linear solve, which either
 * skipped the right c or found no fit at all, and the decay-curve rule then never stopped.
 */
export function fitSaturating(points: Point[]): SaturatingFit | undefined {
  const n = points.length;
  if (n < 3) return undefined;
  const x0 = points[0].x;
  const span = Math.max(points[n - 1].x - x0, 1e-9);
  let best: SaturatingFit | undefined;
  for (let k = 0; k <= 60; k++) {
    const c = (0.05 * Math.pow(10, (k / 60) * 3.3)) / span; // 0.05/span … 100/span
    let s1 = 0, su = 0, suu = 0, sy = 0, suy = 0;
    for (const p of points) {
      const u = -Math.exp(-c * (p.x - x0));
      s1 += 1; su += u; suu += u * u; sy += p.y; suy += u * p.y;
    }
    const det = s1 * suu - su * su;
    if (Math.abs(det) < 1e-15) continue;
    const a = (sy * suu - su * suy) / det;
    const b = (s1 * suy - su * sy) / det;
    const fit = { a, b, c, x0, rms: 0 };
    fit.rms = Math.sqrt(points.reduce((s, p) => s + (predict(fit, p.x) - p.y) ** 2, 0) / n);
    if (!best || fit.rms < best.rms) best = fit;
  }
  return best;
}

/** The fitted curve's value at x. */
function predict(fit: Omit<SaturatingFit, "rms">, x: number): number {
  return fit.a - fit.b * Math.exp(-fit.c * (x - fit.x0));
}

/**
 * By a completed curve, what the fit of its first n points fell short of its final value at its
 * final x (undefined when it has no more than n points, or they fit no curve). A completed
 * curve's points no longer change (see completedCurves): each n is fitted once for the study,
 * not again at each judgement of each running trial.
 */
const shortfalls = new WeakMap<Point[], Map<number, number | undefined>>();

function shortfallOf(points: Point[], n: number): number | undefined {
  let byCount = shortfalls.get(points);
  if (!byCount) shortfalls.set(points, (byCount = new Map()));
  if (byCount.has(n)) return byCount.get(n);
  const early = points.length > n ? fitSaturating(points.slice(0, n)) : undefined;
  const end = points[points.length - 1];
  const short = early && end.y - predict(early, end.x);
  byCount.set(n, short);
  return short;
}

/**
 * Whether the decay-curve rule judges a trial at its k-th measurement: at each from the
 * MIN_MEASUREMENTS_DECAY-th up to the 64th, then at 32 evenly spaced counts per doubling (every
 * 2nd up to 128, every 4th up to 256...). Fixed counts, not the looks at the metrics file: judged at a look's last measurement only, a trial
 * whose fit of 4 points lost and of 8 did not was stopped when the poll read its reports one by
 * one and kept when one look read them all, so the verdict depended on the trainer's speed
 * against the 250 ms poll. Not at every measurement: a fit per report of a trainer that reports
 * every step would hold the server, and past 64 points one more changes the fit little.
 */
export function decayCheckpoint(k: number): boolean {
  if (k < MIN_MEASUREMENTS_DECAY) return false;
  return k <= 64 || k % 2 ** (Math.floor(Math.log2(k)) - 5) === 0;
}

/**
 * Decay-curve checkpoints judged in one look at most. Each fits the trial and, the first time a
 * checkpoint's count is reached, the first points of every completed trial (the shortfall): a
 * look that read a fast trainer's first 70 reports, in a study of 2000 completed trials, held the
 * server 25 s when it judged all of them at once.
 */
export const DECAY_FITS_PER_LOOK = 4;

/**
 * By a running trial's measurements (the store's array, one per trial), the count up to which
 * its decay-curve checkpoints have been judged: a look that left some for later (see
 * DECAY_FITS_PER_LOOK) has the next look go on from there.
 */
const decayJudged = new WeakMap<Measurement[], number>();

/**
 * The decay-curve rule: the trial's fitted curve, read at the horizon (the median final x of the
 * trials that ran to their end; at its plateau for a trial at or past it), made optimistic,
 * against the best completed trial's final value. The optimism is the larger of two residual
 * deviations (with n − 3 degrees of freedom: three parameters are fitted) and how far the same
 * fit fell short of the truth on the trials that ran to their end: each one's first n points,
 * fitted and read at its own final x, against its final value. A saturating curve levels off
 * sooner than most learning curves, which keep rising slowly; that shortfall, measured on the
 * study's own curves, is what keeps a slow riser running.
 */
export function decayCurveRule(current: Point[], ranToEnd: Point[][], completedFinals: number[], sign: number): StopDecision | undefined {
  const n = current.length;
  const full = ranToEnd.filter((c) => c.length > 0);
  if (n < MIN_MEASUREMENTS_DECAY || completedFinals.length < MIN_COMPLETED_TRIALS || full.length === 0) return undefined;
  const fit = fitSaturating(current);
  if (!fit) return undefined;
  // A trial already at or past it (trials of different lengths, or a slower one by elapsed time)
  // ends where is not known: read at its plateau, as hopeful as the curve gets. Read where it is,
  // a slow trial heading for the best value was stopped on the value it had reached so far.
  const horizon = median(full.map((c) => c[c.length - 1].x));
  const x = current[n - 1].x < horizon ? horizon : Infinity;
  const deviation = fit.rms * Math.sqrt(n / (n - 3));
  let shortfall = 0;
  for (const other of full) {
    const short = shortfallOf(other, n);
    if (short !== undefined) shortfall = Math.max(shortfall, sign * short);
  }
  const margin = Math.max(2 * deviation, shortfall);
  const predicted = predict(fit, x);
  const best = completedFinals.reduce((b, v) => (sign * v > sign * b ? v : b));
  return {
    stop: sign * (predicted + sign * margin) < sign * best,
    why: `predicted ${predicted.toFixed(4)} (±${margin.toFixed(4)}) ${Number.isFinite(x) ? `at ${x}` : "at its plateau"} vs best completed ${best}`,
  };
}

/** A completed trial as the rules see it. */
export interface CompletedCurve {
  measurements: Measurement[];
  /** Its final value (of the final measurement), if it has one. */
  final?: number;
  /** True when it was stopped early: its last x is where a rule cut it, not where trials end. */
  stoppedEarly?: boolean;
}

/** A completed trial's first and last step, kept as its curve is (see completedCurves). */
const completedSteps = new WeakMap<Measurement[], { length: number; first: number; last: number }>();

function stepsOf(measurements: Measurement[]): { first: number; last: number } {
  const cached = completedSteps.get(measurements);
  if (cached?.length === measurements.length) return cached;
  let first = Infinity;
  let last = -Infinity;
  for (const m of measurements) {
    first = Math.min(first, Number(m.stepCount));
    last = Math.max(last, Number(m.stepCount));
  }
  const steps = { length: measurements.length, first, last };
  completedSteps.set(measurements, steps);
  return steps;
}

/**
 * The step at which the study's trials end, when it has one: every trial that ran to its end
 * ended at that step. Undefined when they ended at different steps (the number of epochs is
 * itself tuned, or the trainer counts optimizer steps and the batch size is tuned): then where a
 * trial ends is not known. By elapsed time, steps that never advance (a trainer that reports
 * without global_step: all at 0) tell no end either.
 */
function commonEnd(ranToEnd: Measurement[][], elapsed: boolean): number | undefined {
  let end: number | undefined;
  for (const measurements of ranToEnd) {
    const { first, last } = stepsOf(measurements);
    if (end !== undefined && last !== end) return undefined;
    if (elapsed && first === last) return undefined;
    end = last;
  }
  return end;
}

/** The study's early-stopping rule, if it has one. */
export function stoppingRule(spec: VertexStudySpec): "median" | "decay" | undefined {
  return spec.medianAutomatedStoppingSpec ? "median" : spec.decayCurveStoppingSpec ? "decay" : undefined;
}

/**
 * Whether the study's stopping rule (if any) stops a running trial with these measurements. A
 * measurement at the step where every trial that ran to its end ended is not judged: the trial
 * is about to end by itself, so stopping it saves nothing and may cut its model's save. Only
 * that: Vertex's rules judge a trial at its latest measurement with no horizon, so a trial whose
 * end is not known (trials of different lengths; one slower than the median trial by elapsed
 * time) is judged to its end, as on Vertex. Judging no trial past the median completed length
 * left the longest and slowest trials, those early stopping saves most on, never judged there.
 * @param fresh how many of the measurements (the last ones) are new since the trial was last
 *   judged: the median rule judges at each one's step; the decay-curve rule at each that is a
 *   checkpoint (decayCheckpoint), on the curve up to it, DECAY_FITS_PER_LOOK at most
 * @param medians the study's MedianTable (by steps; not used by elapsed time)
 */
export function shouldStop(spec: VertexStudySpec, measurements: Measurement[], completed: CompletedCurve[], fresh = 1, medians?: MedianTable): StopDecision | undefined {
  const metricId = spec.metrics?.[0]?.metricId ?? "";
  const sign = spec.metrics?.[0]?.goal === "MINIMIZE" ? -1 : 1;
  const rule = stoppingRule(spec);
  if (!rule) return undefined;
  const elapsed = Boolean((rule === "median" ? spec.medianAutomatedStoppingSpec : spec.decayCurveStoppingSpec)?.useElapsedDuration);
  const current = curve(measurements, metricId, elapsed);
  const curves = completed.map((c) => completedCurve(c.measurements, metricId, elapsed));
  // The completed trials that ran to their end (not stopped early) and reported the metric.
  const ran = completed.flatMap((c, i) => (!c.stoppedEarly && curves[i]!.length > 0 ? [i] : []));
  const ranToEnd = ran.map((i) => curves[i]!);
  const end = commonEnd(ran.map((i) => completed[i]!.measurements), elapsed);
  // A measurement is judged unless it is at the end (one past it is of a longer trial).
  const judged = (k: number) => Number(measurements[k - 1]!.stepCount) !== end;
  const from = Math.max(0, measurements.length - fresh);
  if (rule === "median") {
    const at: Measurement[] = [];
    for (let k = from + 1; k <= measurements.length; k++) if (judged(k)) at.push(measurements[k - 1]!);
    return at.length ? medianRule(current, curves, sign, curve(at, metricId, elapsed).map((p) => p.x), elapsed ? undefined : medians) : undefined;
  }
  const finals = completed.map((c) => c.final).filter((v): v is number => v !== undefined);
  // Too few completed trials to judge by: the checkpoints up to here pass unjudged, as a look
  // per report would have passed them. Left for later, they were judged DECAY_FITS_PER_LOOK a
  // look once the trials had completed, so a trainer reporting many times a look was judged
  // ever further behind its reports, and stopped late.
  if (finals.length < MIN_COMPLETED_TRIALS || ranToEnd.length === 0) {
    decayJudged.set(measurements, measurements.length);
    return undefined;
  }
  // At each checkpoint, in order, on the curve up to it, as a look per report would: the first
  // stop wins. At most DECAY_FITS_PER_LOOK a look; the next look goes on from there.
  let k = Math.min(from, decayJudged.get(measurements) ?? from);
  let verdict: StopDecision | undefined;
  for (let fits = 0; k < measurements.length && fits < DECAY_FITS_PER_LOOK && !verdict?.stop; ) {
    k++;
    if (!decayCheckpoint(k) || !judged(k)) continue;
    fits++;
    verdict = decayCurveRule(k === measurements.length ? current : curve(measurements.slice(0, k), metricId, elapsed), ranToEnd, finals, sign) ?? verdict;
  }
  decayJudged.set(measurements, k);
  return verdict;
}
