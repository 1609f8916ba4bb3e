/**
 * Reads a trial's cloudml-hypertune metrics file into Vertex measurements.
 *
 * The library rewrites the file whole on every report and keeps only its last 100 lines, one
 * JSON object a line: `{"accuracy": "0.91", "global_step": "3", "timestamp": 1712.3, "trial": "7"}`.
 * A trainer that writes the file itself may instead append to it, a line a step, to millions of
 * lines. So the reader reads on from where its last look ended while the file only grew, and
 * re-parses it whole when it was rewritten otherwise (the library's, past 100 reports, starts a
 * report later); it remembers what it has already seen by (global_step, timestamp): lines that
 * scrolled out of the file stay measured, lines seen twice count once. A last line without its
 * newline may be half-written and is left for the next look.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

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
  /** Reports of the metric as NaN or an infinity: each one's step and value (a trial's reason names which it was). */
  nonFinite: { step: string; value: number }[];
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

/** The range of a Vertex int64 (a measurement's stepCount). */
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

/**
 * A report's global_step as a measurement's stepCount, an int64's decimal digits: exact, as
 * cloudml-hypertune writes them (`str(int(step))`), so a step past 2^53 (a nanosecond clock's)
 * keeps its digits and one of 1e21 is no "1e+21", which no int64 reader takes; a fraction is cut
 * off, and what is no number is step 0. Undefined for a step beyond int64: no measurement can
 * carry it, and a client that reads the job's stepCounts as int64 (Google's Python one) would fail
 * on the whole job.
 */
function stepCount(text: string): string | undefined {
  const digits = /^\s*([+-]?\d+)\s*$/.exec(text)?.[1];
  const number = Number(text);
  const step = digits !== undefined ? BigInt(digits) : Number.isNaN(number) ? 0n : Number.isFinite(number) ? BigInt(Math.trunc(number)) : undefined;
  return step !== undefined && step >= INT64.min && step <= INT64.max ? String(step) : undefined;
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
  /** Bytes of the file read so far: up to the end of the last complete line of the last look. */
  private offset = 0;
  /** Lines of the file read so far (an unstamped line is told apart by its place). */
  private lineCount = 0;
  /** The file's first bytes and those before `offset`, as last read: when they still match, the file only grew. */
  private head = Buffer.alloc(0);
  private tail = Buffer.alloc(0);
  /** Every metric tag met in the file: the reason text of "never reported the metric" lists them. */
  readonly tags = new Set<string>();
  /** The first value of the study's metric that is no number (see metricNumber), as JSON: the trial's reason quotes it. */
  unreadable?: string;
  /** The first line that is no report: a trial that never reported the metric quotes it. */
  firstMalformed?: string;

  constructor(readonly path: string, readonly metricId: string, readonly startedAt: number) {}

  /**
   * Reads the file (absent, or no regular file = nothing yet) and returns what is new since the
   * last look: while the trial runs, at most LOOK_BYTES of it (the rest at the next looks), so that
   * no look at a big file (a new server's first) blocks the server for long, or makes a string
   * past V8's limit.
   * @param final the trial's process has ended: a last line without its newline is complete, and the file is read to its end
   */
  read(final = false): MetricsUpdate {
    const update: MetricsUpdate = { measurements: [], nonFinite: [], malformed: [] };
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch {
      return update;
    }
    try {
      const stat = fstatSync(fd);
      // A folder (a trainer that made one there) reads as no file: read(2) on it throws out of the
      // server's poll, which ended the server, and every next one that followed the trial.
      if (!stat.isFile()) return update;
      const size = stat.size;
      // The bytes before where the last look ended are read with the first new ones, so the check
      // that they are unchanged holds for the bytes parsed, even if the file is rewritten meanwhile.
      let skip = this.tail.length;
      let piece = Buffer.alloc(Math.max(0, Math.min(size - this.offset, LOOK_BYTES)) + skip);
      let length = readFully(fd, piece, this.offset - skip);
      if (size < this.offset || length < skip || !piece.subarray(0, skip).equals(this.tail) || !bytesAt(fd, 0, this.head)) {
        // Rewritten (shorter, or other bytes where the last look's were): read whole again; `seen` tells the new lines.
        this.offset = 0;
        this.lineCount = 0;
        this.head = this.tail = Buffer.alloc(0);
        skip = 0;
        piece = Buffer.alloc(Math.min(size, LOOK_BYTES));
        length = readFully(fd, piece, 0);
      }
      for (;;) {
        const chunk = piece.subarray(skip, length);
        const more = this.offset + chunk.length < size;
        // While the trial runs, the part after the last newline is a line still being written.
        // (A newline byte is never part of a UTF-8 character: the cut splits none.) A line longer
        // than a piece is no report (cloudml-hypertune's are some 100 bytes): it is read on as
        // malformed pieces.
        let end = final && !more ? chunk.length : chunk.lastIndexOf(0x0a) + 1;
        if (end === 0 && more) end = chunk.length;
        this.consume(chunk, end, update);
        if (!final || !more || end === 0) return update;
        skip = 0;
        piece = Buffer.alloc(Math.min(size - this.offset, LOOK_BYTES));
        length = readFully(fd, piece, this.offset);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Parses the first `end` bytes of `chunk`, the file's bytes from `offset`, into `update`, and reads on after them. */
  private consume(chunk: Buffer, end: number, update: MetricsUpdate): void {
    const lines = chunk.toString("utf8", 0, end).split("\n");
    // The text ends with its newline (but for a final look's last line): the "" after it is no line.
    if (lines[lines.length - 1] === "") lines.pop();
    this.parseLines(lines, this.lineCount, update);
    this.offset += end;
    this.lineCount += lines.length;
    // Copies, not views: a view would keep the whole piece in memory.
    if (this.head.length < WITNESS_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, Math.min(end, WITNESS_BYTES - this.head.length))]);
    const tail = Buffer.concat([this.tail, chunk.subarray(Math.max(0, end - WITNESS_BYTES), end)]);
    this.tail = Buffer.from(tail.subarray(Math.max(0, tail.length - WITNESS_BYTES)));
  }

  /** Parses a whole file's text; exposed for tests of torn and malformed content. */
  parse(text: string, final = false): MetricsUpdate {
    const lines = text.split("\n");
    // While the trial runs, the part after the last newline is a line still being written.
    if (!final) lines.pop();
    const update: MetricsUpdate = { measurements: [], nonFinite: [], malformed: [] };
    this.parseLines(lines, 0, update);
    return update;
  }

  /** Parses lines of the file, the first of them its `firstIndex`-th, into `update`. */
  private parseLines(lines: string[], firstIndex: number, update: MetricsUpdate): void {
    const malformed = (line: string): void => {
      if (!this.seenMalformed.has(line)) {
        this.seenMalformed.add(line);
        this.firstMalformed ??= line;
        update.malformed.push(line);
      }
    };
    lines.forEach((line, i) => {
      const index = firstIndex + i;
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
        update.nonFinite.push({ step, value });
        return;
      }
      const count = stepCount(step);
      if (count === undefined) return malformed(line);
      const timestamp = Number(report.timestamp);
      const elapsed = Number.isFinite(timestamp) ? Math.max(0, timestamp - this.startedAt / 1000) : (Date.now() - this.startedAt) / 1000;
      update.measurements.push({
        stepCount: count,
        elapsedDuration: `${elapsed.toFixed(3)}s`,
        metrics: [{ metricId: this.metricId, value }],
      });
    });
  }
}

/**
 * How many bytes at the file's start, and before where the last look ended, must read as they did
 * for the file to count as grown rather than rewritten: a line or more of cloudml-hypertune's.
 */
const WITNESS_BYTES = 4096;

/** The most of a metrics file one look reads while its trial runs (some 8 000 lines of cloudml-hypertune's; 0.1 s to parse here). */
export const LOOK_BYTES = 1024 * 1024;

/** Whether the file holds `expected` at `position` (nothing expected: yes). */
function bytesAt(fd: number, position: number, expected: Buffer): boolean {
  if (expected.length === 0) return true;
  const actual = Buffer.alloc(expected.length);
  return readFully(fd, actual, position) === expected.length && actual.equals(expected);
}

/** Reads into `buffer` from `position` until it is full or the file ends; returns the bytes read. */
function readFully(fd: number, buffer: Buffer, position: number): number {
  let length = 0;
  while (length < buffer.length) {
    const read = readSync(fd, buffer, length, buffer.length - length, position + length);
    if (read === 0) break;
    length += read;
  }
  return length;
}

/**
 * Python's `json.dumps` writes a NaN or an infinity as the bare tokens `NaN`, `Infinity` and
 * `-Infinity` (its `allow_nan` default), which JSON has not: a trainer that appends its reports
 * with it, as the README shows, had its NaN report skipped as malformed, and the trial succeeded
 * on its other reports where a NaN must fail it. Outside strings, such a token reads as its text,
 * which metricNumber takes as the float it is.
 */
const PYTHON_NON_FINITE = /"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g;

function parseLine(line: string): Record<string, unknown> | undefined {
  for (const text of [line, line.replace(PYTHON_NON_FINITE, (token) => (token.startsWith('"') ? token : `"${token}"`))]) {
    try {
      const value: unknown = JSON.parse(text);
      return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      // Not JSON as written: read again with Python's non-finite tokens, then given up.
    }
  }
  return undefined;
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
