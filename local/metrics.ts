/**
 * Reads a trial's cloudml-hypertune metrics file into Vertex measurements.
 *
 * The library rewrites the file whole on every report and keeps only its last 100 lines, one
 * JSON object a line: `{"accuracy": "0.91", "global_step": "3", "timestamp": 1712.3, "trial": "7"}`.
 * So the reader re-parses the whole file at each look and remembers what it has already seen by
 * (global_step, timestamp): lines that scrolled out of the file stay measured, lines seen twice
 * count once. A last line without its newline may be half-written and is left for the next look.
 */
import { readFileSync } from "node:fs";

/** A Vertex measurement (proto3 JSON: stepCount as a string, elapsedDuration as "<s>s"). */
export interface Measurement {
  stepCount: string;
  elapsedDuration: string;
  metrics: { metricId: string; value: number }[];
}

/** What one look at the file found that was not seen before. */
export interface MetricsUpdate {
  /** New measurements of the study's metric, in file order. */
  measurements: Measurement[];
  /** Steps at which the metric was reported as NaN (or another non-finite value). */
  nonFinite: string[];
  /** Lines that are not a hypertune report (noted in the trial log). */
  malformed: string[];
}

/**
 * A metric value's text as a float parser reads it (Python's `float`, which is what a trainer
 * writes through cloudml-hypertune's `str(value)`): a decimal number, or nan, inf, infinity.
 * JavaScript's Number is looser in one way (hex, binary) and stricter in another (no "inf").
 */
const FLOAT_TEXT = /^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|nan|inf(?:inity)?)\s*$/i;

/**
 * A reported metric value as a number (NaN and infinities included: the caller fails the trial
 * on them), or undefined when it is no number at all: null, "", true, or the text of an object
 * such as a TensorFlow tensor's, "tf.Tensor(0.91, shape=(), dtype=float32)", which is what
 * `str()` gives for a tensor passed to cloudml-hypertune. Read as NaN, such a value failed the
 * trial as one that "reported NaN" and sent its user looking for a diverged loss.
 */
export function metricNumber(raw: unknown): number | undefined {
  if (typeof raw === "number") return raw;
  if (typeof raw !== "string" || !FLOAT_TEXT.test(raw)) return undefined;
  const text = raw.trim().toLowerCase().replace(/^\+/, "");
  if (/^-?nan$/.test(text)) return Number.NaN;
  if (/^-?inf(inity)?$/.test(text)) return text.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return Number(text);
}

/** The keys of a cloudml-hypertune report that are not metrics. */
const REPORT_FIELDS = new Set(["global_step", "timestamp", "trial", "checkpoint_path"]);

/**
 * Follows one trial's metrics file. `startedAt` (epoch ms) turns the report timestamps into
 * elapsed durations.
 */
export class MetricsReader {
  private readonly seen = new Set<string>();
  private readonly seenMalformed = new Set<string>();
  /** Every metric tag met in the file: the reason text of "never reported the metric" lists them. */
  readonly tags = new Set<string>();
  /** The first value of the study's metric that is no number (see metricNumber), as JSON: the trial's reason quotes it. */
  unreadable?: string;

  constructor(readonly path: string, readonly metricId: string, readonly startedAt: number) {}

  /**
   * Reads the file (absent = nothing yet) and returns what is new since the last look.
   * @param final the trial's process has ended: a last line without its newline is complete
   */
  read(final = false): MetricsUpdate {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch {
      return { measurements: [], nonFinite: [], malformed: [] };
    }
    return this.parse(text, final);
  }

  /** Parses a whole file's text; exposed for tests of torn and malformed content. */
  parse(text: string, final = false): MetricsUpdate {
    const update: MetricsUpdate = { measurements: [], nonFinite: [], malformed: [] };
    const lines = text.split("\n");
    // While the trial runs, the part after the last newline is a line still being written.
    if (!final) lines.pop();
    const malformed = (line: string): void => {
      if (!this.seenMalformed.has(line)) {
        this.seenMalformed.add(line);
        update.malformed.push(line);
      }
    };
    lines.forEach((line, index) => {
      if (!line.trim()) return;
      const report = parseLine(line);
      if (!report) return malformed(line);
      for (const tag of Object.keys(report)) if (!REPORT_FIELDS.has(tag)) this.tags.add(tag);
      if (!(this.metricId in report)) return;
      // A number, or a number's text as cloudml-hypertune writes it; null, "" or true are not 0 or 1.
      const value = metricNumber(report[this.metricId]);
      if (value === undefined) {
        this.unreadable ??= JSON.stringify(report[this.metricId]);
        return malformed(line);
      }
      const step = String(report.global_step ?? "0");
      // cloudml-hypertune stamps every report; a file written another way, without stamps, is
      // appended to, so a line's place in it tells its reports apart.
      const key = report.timestamp !== undefined ? `${step}\u0000${String(report.timestamp)}` : `${index}\u0000${line}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
      if (!Number.isFinite(value)) {
        update.nonFinite.push(step);
        return;
      }
      const timestamp = Number(report.timestamp);
      const elapsed = Number.isFinite(timestamp) ? Math.max(0, timestamp - this.startedAt / 1000) : (Date.now() - this.startedAt) / 1000;
      update.measurements.push({
        stepCount: String(Math.trunc(Number(step)) || 0),
        elapsedDuration: `${elapsed.toFixed(3)}s`,
        metrics: [{ metricId: this.metricId, value }],
      });
    });
    return update;
  }
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds of a Vertex duration string ("12.3s"). */
export function durationSeconds(duration: string | null | undefined): number {
  return duration ? parseFloat(duration) : 0;
}

/** The value of `metricId` in a measurement, if present. */
export function measurementValue(m: { metrics?: { metricId?: string | null; value?: number | null }[] | null }, metricId: string): number | undefined {
  const v = m.metrics?.find((x) => x.metricId === metricId)?.value;
  return typeof v === "number" ? v : undefined;
}

/**
 * The final measurement by `measurementSelectionType`: the last one (LAST_MEASUREMENT or
 * unspecified, as Vertex) or the best by the goal (BEST_MEASUREMENT).
 */
export function selectFinal(measurements: Measurement[], selection: string | null | undefined, metricId: string, goal: string | null | undefined): Measurement | undefined {
  if (measurements.length === 0) return undefined;
  if (selection !== "BEST_MEASUREMENT") return measurements[measurements.length - 1];
  const sign = goal === "MINIMIZE" ? -1 : 1;
  // Every measurement this reader makes carries the metric; ties go to the earlier one.
  const value = (m: Measurement) => {
    const v = measurementValue(m, metricId);
    return v === undefined ? Number.NEGATIVE_INFINITY : sign * v;
  };
  return measurements.reduce((best, m) => (value(m) > value(best) ? m : best));
}
