/**
 * The local backend's pure parts: the metrics reader, the list filter, the early-stopping rules,
 * the journal's torn-line handling, job ids and ordinals, the suggestion seed.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { DECAY_FITS_PER_LOOK, decayCheckpoint, decayCurveRule, fitSaturating, MedianTable, medianRule, shouldStop } from "../../local/earlyStopping";
import { parseFilter } from "../../local/filter";
import { Journal, replayJournal } from "../../local/journal";
import { LOOK_BYTES, MetricsReader, selectFinal, type Measurement } from "../../local/metrics";
import { studySeed, suggestionSeed, unrecorded } from "../../local/scheduler";
import { Store } from "../../local/store";
import { tempDir } from "./helpers";

const line = (step: number, value: string, timestamp: number, tag = "accuracy") =>
  JSON.stringify({ [tag]: value, global_step: String(step), timestamp, trial: "1" });

describe("metrics reader", () => {
  it("parses hypertune lines into Vertex measurements, merging re-reads by (global_step, timestamp)", () => {
    const reader = new MetricsReader("/nonexistent", "accuracy", 1000_000);
    const first = reader.parse(`${line(1, "0.5", 1001)}\n`);
    expect(first.measurements).toEqual([{ stepCount: "1", elapsedDuration: "1.000s", metrics: [{ metricId: "accuracy", value: 0.5 }] }]);
    // The library rewrites the whole file: the old line again plus a new one; only the new one is new.
    const second = reader.parse(`${line(1, "0.5", 1001)}\n${line(2, "0.7", 1002.5)}\n`);
    expect(second.measurements.map((m) => m.stepCount)).toEqual(["2"]);
    expect(second.measurements[0].elapsedDuration).toBe("2.500s");
  });

  it("treats a torn last line as not yet written, and reads it once complete", () => {
    const reader = new MetricsReader("/nonexistent", "accuracy", 0);
    const full = line(1, "0.5", 1);
    expect(reader.parse(full.slice(0, 20)).measurements).toHaveLength(0);
    expect(reader.parse(`${full}`).measurements).toHaveLength(0);
    expect(reader.parse(`${full}\n`).measurements).toHaveLength(1);
    // Once the process has ended, a last line without its newline is complete.
    const ended = new MetricsReader("/nonexistent", "accuracy", 0);
    expect(ended.parse(full, true).measurements).toHaveLength(1);
    expect(ended.parse(`${full}\n`, true).measurements).toHaveLength(0);
  });

  it("keeps measurements that scrolled out of the last 100 lines, skips malformed lines once, flags NaN, ignores other tags", () => {
    const reader = new MetricsReader("/nonexistent", "accuracy", 0);
    const all = Array.from({ length: 120 }, (_, i) => line(i + 1, String(i / 100), i + 1));
    expect(reader.parse(`${all.slice(0, 100).join("\n")}\n`).measurements).toHaveLength(100);
    expect(reader.parse(`${all.slice(20, 120).join("\n")}\n`).measurements).toHaveLength(20);
    const checkpointed = JSON.stringify({ loss: "0.3", global_step: "202", checkpoint_path: "/tmp/ckpt", timestamp: 202, trial: "1" });
    const mixed = `not json\n${line(200, "nan", 200)}\n${line(201, "0.3", 201, "loss")}\n${checkpointed}\n`;
    const update = reader.parse(mixed);
    expect(update.malformed).toEqual(["not json"]);
    expect(update.nonFinite).toEqual([{ step: "200", value: NaN }]);
    expect(update.measurements).toHaveLength(0);
    expect(reader.parse(mixed).malformed).toEqual([]);
    expect([...reader.tags].sort()).toEqual(["accuracy", "loss"]);
  });

  it("takes no null, empty or boolean value for a number, and tells unstamped appended reports apart", () => {
    const reader = new MetricsReader("/nonexistent", "accuracy", 0);
    const odd = ['{"accuracy": null, "global_step": "1", "timestamp": 1}', '{"accuracy": "", "global_step": "2", "timestamp": 2}', '{"accuracy": true, "global_step": "3", "timestamp": 3}'];
    const update = reader.parse(`${odd.join("\n")}\n`);
    expect(update.measurements).toEqual([]);
    expect(update.malformed).toEqual(odd);
    // Written by hand, appended, with neither a step nor a stamp: three reports, not one.
    const appended = new MetricsReader("/nonexistent", "accuracy", 0);
    const plain = ['{"accuracy": 0.5}', '{"accuracy": 0.6}', '{"accuracy": 0.7}'];
    expect(appended.parse(`${plain.join("\n")}\n`).measurements.map((m) => m.metrics[0].value)).toEqual([0.5, 0.6, 0.7]);
    expect(appended.parse(`${plain.join("\n")}\n`).measurements).toEqual([]);
  });

  it("reads a value's text as a float parser does: a tensor's text is malformed, not NaN; nan and inf are non-finite", () => {
    const reader = new MetricsReader("/nonexistent", "accuracy", 0);
    const tensor = line(1, "tf.Tensor(0.91, shape=(), dtype=float32)", 1);
    const update = reader.parse(`${tensor}\n${line(2, "0x10", 2)}\n${line(3, "inf", 3)}\n${line(4, "-nan", 4)}\n${line(5, " 1e-3 ", 5)}\n`);
    expect(update.malformed).toEqual([tensor, line(2, "0x10", 2)]);
    expect(update.nonFinite).toEqual([{ step: "3", value: Infinity }, { step: "4", value: NaN }]);
    expect(update.measurements.map((m) => m.metrics[0].value)).toEqual([0.001]);
    expect(reader.unreadable).toBe('"tf.Tensor(0.91, shape=(), dtype=float32)"');
  });

  it("reads the NaN and infinities of Python's json.dumps (bare NaN, Infinity, -Infinity) as non-finite reports, not malformed lines", () => {
    const reader = new MetricsReader("/nonexistent", "loss", 0);
    // json.dumps({"loss": x, "global_step": n}) for x = nan, inf, -inf, then a finite one and a string holding the words.
    const lines = ['{"loss": NaN, "global_step": 3}', '{"loss": Infinity, "global_step": 4}', '{"loss": -Infinity, "global_step": 5}', '{"loss": 0.5, "global_step": 6, "note": "NaN or Infinity"}'];
    const update = reader.parse(`${lines.join("\n")}\n`);
    expect(update.malformed).toEqual([]);
    expect(update.nonFinite).toEqual([{ step: "3", value: NaN }, { step: "4", value: Infinity }, { step: "5", value: -Infinity }]);
    expect(update.measurements.map((m) => [m.stepCount, m.metrics[0].value])).toEqual([["6", 0.5]]);
    // Still no number: a bare word that is none of Python's tokens.
    expect(reader.parse('{"loss": nan, "global_step": 7}\n').malformed).toEqual(['{"loss": nan, "global_step": 7}']);
  });

  it("writes a step as an int64's exact digits, and skips a report whose step no int64 holds", () => {
    const reader = new MetricsReader("/nonexistent", "accuracy", 0);
    const at = (step: unknown, timestamp: number) => JSON.stringify({ accuracy: "0.5", global_step: step, timestamp });
    // cloudml-hypertune writes str(int(step)): a nanosecond clock's step is past 2^53.
    const steps = ["1733464935123456789", "9223372036854775807", "-9223372036854775808", "1.9", "1e3", "abc", 12];
    const update = reader.parse(`${steps.map((s, i) => at(s, i)).join("\n")}\n`);
    expect(update.measurements.map((m) => m.stepCount)).toEqual(["1733464935123456789", "9223372036854775807", "-9223372036854775808", "1", "1000", "0", "12"]);
    // Beyond int64 (1e21 was written "1e+21"): no client reading int64 takes it, Google's Python one fails on the whole job.
    const beyond = [at("1000000000000000000000", 10), at(1e21, 11), at("9223372036854775808", 12), at("Infinity", 13)];
    const skipped = reader.parse(`${beyond.join("\n")}\n`);
    expect(skipped.measurements).toEqual([]);
    expect(skipped.malformed).toEqual(beyond);
  });

  it("tells the reports a new server reads again from those the last one recorded, equal ones counted", () => {
    const m = (value: number) => ({ stepCount: "0", elapsedDuration: "1s", metrics: [{ metricId: "accuracy", value }] });
    // cloudml-hypertune's default step is 0, and a plateau repeats a value: recorded 0.9 and 0.95, then 0.9 again unread.
    const unseen = unrecorded({ trial: { id: "1", state: "ACTIVE", parameters: [], measurements: [m(0.9), m(0.95)] } } as never);
    expect([m(0.9), m(0.95), m(0.9)].map(unseen)).toEqual([false, false, true]);
  });

  it("reads the file from disk; a missing file is no measurement yet", () => {
    const path = join(tempDir(), "output.metrics");
    const reader = new MetricsReader(path, "accuracy", 0);
    expect(reader.read().measurements).toEqual([]);
    writeFileSync(path, `${line(1, "0.5", 1)}\n`);
    expect(reader.read().measurements).toHaveLength(1);
  });

  it("reads on from where the last look ended while the file grows (lines split across looks included), and whole again once it is rewritten", () => {
    const path = join(tempDir(), "output.metrics");
    const reader = new MetricsReader(path, "accuracy", 0);
    const steps = (update: { measurements: { stepCount: string }[] }) => update.measurements.map((m) => m.stepCount);
    const lines = Array.from({ length: 8 }, (_, i) => `${line(i + 1, String(i / 10), i + 1)}\n`);
    writeFileSync(path, `${lines[0]}${lines[1].slice(0, 10)}`);
    expect(steps(reader.read())).toEqual(["1"]);
    appendFileSync(path, `${lines[1].slice(10)}${lines[2].slice(0, 5)}`);
    expect(steps(reader.read())).toEqual(["2"]);
    // A line cut inside a UTF-8 character is read whole once its rest comes.
    const accented = Buffer.from(`${JSON.stringify({ accuracy: "0.9", global_step: "4", timestamp: 4, note: "é" })}\n`);
    const cut = accented.indexOf(Buffer.from("é")) + 1;
    appendFileSync(path, Buffer.concat([Buffer.from(lines[2].slice(5)), accented.subarray(0, cut)]));
    expect(steps(reader.read())).toEqual(["3"]);
    appendFileSync(path, accented.subarray(cut));
    const fourth = reader.read();
    expect([steps(fourth), fourth.malformed]).toEqual([["4"], []]);
    // Only what was appended is parsed again: a file a trainer appends to a line a step reaches
    // millions of lines, and parsing it whole at every look blocked the server for seconds each.
    const parse = vi.spyOn(JSON, "parse");
    try {
      appendFileSync(path, lines[4]);
      expect(steps(reader.read())).toEqual(["5"]);
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
    // Rewritten as cloudml-hypertune does past 100 reports (the first line gone): only the new line is new.
    writeFileSync(path, `${lines[1]}${lines[2]}${lines[4]}${lines[5]}`);
    expect(steps(reader.read())).toEqual(["6"]);
    // Truncated, then written again.
    writeFileSync(path, "");
    expect(steps(reader.read())).toEqual([]);
    writeFileSync(path, `${lines[6]}${lines[7].trimEnd()}`);
    expect(steps(reader.read())).toEqual(["7"]);
    // Once the process has ended, a last line without its newline is complete.
    expect(steps(reader.read(true))).toEqual(["8"]);
  });

  it("reads a big file a piece a look while the trial runs, and to its end at the last look", () => {
    const path = join(tempDir(), "output.metrics");
    const all = Array.from({ length: Math.ceil((2.5 * LOOK_BYTES) / line(1, "0.5", 1).length) }, (_, i) => `${line(i + 1, "0.5", i + 1)}\n`);
    writeFileSync(path, all.join(""));
    const reader = new MetricsReader(path, "accuracy", 0);
    const first = reader.read().measurements.map((m) => Number(m.stepCount));
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(all.length / 2);
    const rest = reader.read(true).measurements.map((m) => Number(m.stepCount));
    expect([...first, ...rest]).toEqual(all.map((_, i) => i + 1));
    // A line longer than a piece is skipped as malformed, a piece at a time, and the lines after it are read.
    const long = join(tempDir(), "output.metrics");
    writeFileSync(long, `${"x".repeat(LOOK_BYTES + 10)}\n${all[0]}`);
    const after = new MetricsReader(long, "accuracy", 0);
    const updates = [after.read(), after.read(), after.read()];
    expect(updates.flatMap((u) => u.measurements.map((m) => m.stepCount))).toEqual(["1"]);
    expect(updates.flatMap((u) => u.malformed).join("")).toBe("x".repeat(LOOK_BYTES + 10));
  });

  it("tells unstamped appended reports apart by their place when read a look at a time", () => {
    const path = join(tempDir(), "output.metrics");
    const reader = new MetricsReader(path, "accuracy", 0);
    writeFileSync(path, '{"accuracy": 0.5}\n{"accuracy": 0.5}\n');
    expect(reader.read().measurements).toHaveLength(2);
    appendFileSync(path, '{"accuracy": 0.5}\n');
    expect(reader.read().measurements).toHaveLength(1);
    expect(reader.read().measurements).toHaveLength(0);
  });

  it("reads a metrics path that is no file (a trainer made it a folder) as no report, not as an error out of the server's poll", () => {
    const path = join(tempDir(), "output.metrics");
    mkdirSync(path);
    const reader = new MetricsReader(path, "accuracy", 0);
    expect(reader.read()).toEqual({ measurements: [], nonFinite: [], malformed: [] });
    expect(reader.read(true)).toEqual({ measurements: [], nonFinite: [], malformed: [] });
  });

  it("selects the final measurement: last by default, best by the goal with BEST_MEASUREMENT", () => {
    const ms = [0.3, 0.9, 0.6].map((v, i) => ({ stepCount: String(i + 1), elapsedDuration: "1s", metrics: [{ metricId: "m", value: v }] }));
    expect(selectFinal(ms, undefined, "m", "MAXIMIZE")!.stepCount).toBe("3");
    expect(selectFinal(ms, "LAST_MEASUREMENT", "m", "MAXIMIZE")!.stepCount).toBe("3");
    expect(selectFinal(ms, "BEST_MEASUREMENT", "m", "MAXIMIZE")!.stepCount).toBe("2");
    expect(selectFinal(ms, "BEST_MEASUREMENT", "m", "MINIMIZE")!.stepCount).toBe("1");
    expect(selectFinal([], "BEST_MEASUREMENT", "m", "MAXIMIZE")).toBeUndefined();
  });
});

describe("list filter", () => {
  const job = { state: "JOB_STATE_RUNNING", displayName: "study-7", labels: { team: "ml", "pulumi-spec": "abc" } };
  it("matches labels, state and display_name joined by AND, quoted or not", () => {
    expect(parseFilter("labels.team=ml")(job)).toBe(true);
    expect(parseFilter('labels.team="ml" AND labels.pulumi-spec=abc')(job)).toBe(true);
    expect(parseFilter("labels.team:*")(job)).toBe(true);
    expect(parseFilter("labels.owner:*")(job)).toBe(false);
    expect(parseFilter("state=JOB_STATE_RUNNING")(job)).toBe(true);
    expect(parseFilter("state!=JOB_STATE_RUNNING")(job)).toBe(false);
    expect(parseFilter("state!=JOB_STATE_SUCCEEDED")(job)).toBe(true);
    expect(parseFilter('labels.team!="ops" AND display_name!=study-8')(job)).toBe(true);
    expect(parseFilter('display_name:"study-*"')(job)).toBe(true);
    expect(parseFilter("display_name=study-8")(job)).toBe(false);
    expect(parseFilter("")(job)).toBe(true);
  });
  it("refuses what it does not support instead of matching everything", () => {
    expect(() => parseFilter('end_time>"2020-01-01T00:00:00Z"')).toThrow(/unsupported filter/);
    expect(() => parseFilter("state:JOB*")).toThrow(/only = and !=/);
    expect(() => parseFilter("labels.a=b OR labels.c=d")).toThrow(/unsupported filter/);
    // The refusal lists every form it takes, the negations included.
    expect(() => parseFilter('end_time>"2020-01-01T00:00:00Z"')).toThrow(
      "supports labels.<k>=<v>, labels.<k>!=<v>, labels.<k>:*, state=, state!=, display_name=, display_name!=, display_name: and create_time with =, !=, <, <=, >, >=, joined by AND",
    );
  });
  it("compares create_time with an RFC 3339 time, as Vertex documents (create_time>\"2021-05-18T00:00:00Z\")", () => {
    const created = { ...job, createTime: "2026-03-01T12:00:00.250Z" };
    expect(parseFilter('create_time>"2026-01-01T00:00:00Z"')(created)).toBe(true);
    expect(parseFilter("create_time>2026-01-01T00:00:00Z AND labels.team=ml")(created)).toBe(true);
    expect(parseFilter('create_time<"2026-01-01T00:00:00Z"')(created)).toBe(false);
    expect(parseFilter('create_time>="2026-03-01T12:00:00.25Z"')(created)).toBe(true);
    expect(parseFilter('create_time<="2026-03-01T12:00:00.250Z" AND create_time="2026-03-01T12:00:00.250000000Z"')(created)).toBe(true);
    expect(parseFilter('create_time!="2026-03-01T12:00:00.250Z"')(created)).toBe(false);
    // An offset is the same instant; a bound between two milliseconds compares as it does on Vertex.
    expect(parseFilter('create_time="2026-03-01T13:00:00.250+01:00"')(created)).toBe(true);
    expect(parseFilter('create_time<"2026-03-01T12:00:00.2500001Z"')(created)).toBe(true);
    expect(parseFilter('create_time>="2026-03-01T12:00:00.2500001Z"')(created)).toBe(false);
    for (const bad of ['create_time>"2026-01-01"', 'create_time>"2026-02-30T00:00:00Z"', 'create_time>"yesterday"', 'create_time>"2026-01-01T24:00:00Z"']) {
      expect(() => parseFilter(bad), bad).toThrow(expect.objectContaining({ status: "INVALID_ARGUMENT", message: expect.stringContaining("is no RFC 3339 time") }));
    }
    expect(() => parseFilter('create_time:"2026*"')).toThrow(/create_time supports only/);
    expect(() => parseFilter("display_name>a")).toThrow(/only create_time supports </);
  });
  it("refuses a state that is no JobState name instead of matching no job (=) or every job (!=)", () => {
    for (const filter of ["state=SUCCEEDED", 'state!="JOB_STATE_SUCEEDED"', "state=job_state_running"]) {
      expect(() => parseFilter(filter), filter).toThrow(/is no JobState: use one of .*JOB_STATE_SUCCEEDED/);
    }
    expect(parseFilter('state="JOB_STATE_PARTIALLY_SUCCEEDED"')({ state: "JOB_STATE_RUNNING" })).toBe(false);
  });
  it("matches * wildcards in time linear in the name, not by backtracking over every way to place them", () => {
    // A regular expression of .*s took 14 s here over this name (each further * about ten times more).
    const name = { displayName: "a".repeat(40) };
    const started = performance.now();
    expect(parseFilter(`display_name:"${"a*".repeat(10)}b"`)(name)).toBe(false);
    expect(parseFilter(`display_name:"${"a*".repeat(10)}a"`)(name)).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
    for (const [pattern, text, matches] of [
      ["*", "", true], ["ab*", "ab", true], ["*ab*ba*", "xabaxba", true], ["a*a", "a", false], ["a*b*c", "acb", false], ["a.b*", "axb", false], ["*x*", "line\nx", true],
    ] as const) {
      expect(parseFilter(`display_name:${JSON.stringify(pattern)}`)({ displayName: text }), `${pattern} ${JSON.stringify(text)}`).toBe(matches);
    }
  });
  it("splits on AND only outside quoted strings", () => {
    const named = { state: "JOB_STATE_RUNNING", displayName: "a AND b", labels: { "x-and-y": "p AND q" } };
    expect(parseFilter('display_name="a AND b"')(named)).toBe(true);
    expect(parseFilter('display_name="a AND b" AND labels.x-and-y="p AND q" AND state=JOB_STATE_RUNNING')(named)).toBe(true);
    expect(parseFilter('display_name:"a AND *" AND display_name!="a AND c"')(named)).toBe(true);
    expect(parseFilter('display_name="a AND b" AND state=JOB_STATE_FAILED')(named)).toBe(false);
    // An escaped quote does not end the string.
    expect(parseFilter('display_name="say \\"a AND b\\""')(named)).toBe(false);
    expect(() => parseFilter('display_name="a AND b')).toThrow(/unsupported filter term/);
  });
  it("reads a job's own labels only, not what every object inherits", () => {
    for (const key of ["constructor", "__proto__", "toString"]) {
      expect(parseFilter(`labels.${key}:*`)(job), key).toBe(false);
      expect(parseFilter(`labels.${key}!=x`)(job), key).toBe(true);
    }
    // As a request's JSON makes them: real labels of these names match.
    const own = { labels: JSON.parse('{"constructor": "c", "__proto__": "p"}') as Record<string, string> };
    expect(parseFilter("labels.constructor:* AND labels.constructor=c AND labels.__proto__=p")(own)).toBe(true);
  });
  it("refuses a quoted string that is no JSON string with 400 naming it, not a 500", () => {
    for (const [filter, literal] of [['display_name="\\q"', '"\\q"'], ['display_name="\\u12"', '"\\u12"'], ['labels."\\q"=x', '"\\q"']]) {
      expect(() => parseFilter(filter), filter).toThrow(expect.objectContaining({ status: "INVALID_ARGUMENT", message: expect.stringContaining(`quoted string ${literal} is not`) }));
    }
  });
});

describe("early-stopping rules", () => {
  const rising = (q: number, n: number) => Array.from({ length: n }, (_, i) => ({ x: i + 1, y: q * (1 - Math.exp(-(i + 1) / 2)) }));

  it("median: stops a trial whose best is below the median running average at its step, only with 3 completed trials", () => {
    const completed = [rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)];
    expect(medianRule(rising(0.1, 2), completed, 1)!.stop).toBe(true);
    expect(medianRule(rising(0.95, 2), completed, 1)!.stop).toBe(false);
    expect(medianRule(rising(0.1, 1), completed, 1)).toBeUndefined();
    expect(medianRule(rising(0.1, 2), completed.slice(0, 2), 1)).toBeUndefined();
    // MINIMIZE: a loss curve far above the others' is stopped.
    const losses = completed.map((c) => c.map((p) => ({ x: p.x, y: 1 - p.y })));
    expect(medianRule(rising(0.1, 3).map((p) => ({ x: p.x, y: 1 - p.y })), losses, -1)!.stop).toBe(true);
  });

  it("median: counts every completed trial, those stopped before the step too, with their whole curve's running average (Vertex: all completed trials)", () => {
    const ranToEnd = [rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)];
    const stoppedAtStep2 = [rising(0.3, 2), rising(0.3, 2), rising(0.3, 2)];
    const current = [0.2, 0.35, 0.45, 0.52].map((y, i) => ({ x: i + 1, y }));
    // At step 4 the running averages are 0.600, 0.567, 0.533 (ran to the end) and 0.154 three
    // times (stopped at step 2): the median of all six is 0.343, and a best of 0.52 is kept.
    // Counting only the trials that reached step 4 (median 0.567) would stop it.
    const verdict = medianRule(current, [...ranToEnd, ...stoppedAtStep2], 1)!;
    expect(verdict.stop).toBe(false);
    expect(verdict.why).toMatch(/of 6 completed trials/);
    // Elapsed seconds: a trial judged past the shortest completed trial's end is judged by all three.
    const seconds = (n: number, q: number) => rising(q, n).map((p) => ({ x: p.x * 10, y: p.y }));
    expect(medianRule(seconds(7, 0.1), [seconds(6, 0.9), seconds(6, 0.85), seconds(7, 0.8)], 1)!.why).toMatch(/of 3 completed trials' running averages at 70$/);
  });

  it("median: a study's table reads each completed curve once per step, not again at each look of each running trial", () => {
    // Counts reads of the completed curves' points: at each judged step of each look, every
    // completed curve was searched and their averages sorted, which took a third of the server's
    // CPU at 1,500 completed trials (8 trials reporting 50 steps at 100 a second).
    let reads = 0;
    const counted = (points: { x: number; y: number }[]) =>
      new Proxy(points, { get: (target, key, receiver) => (typeof key === "string" && /^\d+$/.test(key) && reads++, Reflect.get(target, key, receiver)) });
    const completed = Array.from({ length: 20 }, (_, i) => counted(rising(0.5 + i / 50, 8)));
    const table = new MedianTable();
    const first = medianRule(rising(0.1, 5), completed, 1, [2, 3, 4, 5], table)!;
    expect(first).toEqual(medianRule(rising(0.1, 5), completed, 1, [2, 3, 4, 5]));
    reads = 0;
    // Other trials' looks at the same steps: no completed curve is read again.
    for (const q of [0.2, 0.6, 0.9]) expect(medianRule(rising(q, 5), completed, 1, [2, 3, 4, 5], table)).toEqual(medianRule(rising(q, 5), completed.slice(), 1, [2, 3, 4, 5]));
    const uncachedReads = reads;
    reads = 0;
    for (const q of [0.2, 0.6, 0.9]) medianRule(rising(q, 5), completed, 1, [2, 3, 4, 5], table);
    expect(reads).toBe(0);
    expect(uncachedReads).toBeGreaterThan(0);
    // A trial that completes is read once, for the steps kept, and counts from then on.
    const next = counted(rising(0.05, 8));
    const grown = [...completed, next];
    const verdict = medianRule(rising(0.1, 5), grown, 1, [2, 3, 4, 5], table)!;
    expect(verdict.why).toMatch(/of 21 completed trials/);
    const once = reads;
    expect(once).toBeGreaterThan(0);
    reads = 0;
    medianRule(rising(0.3, 5), grown, 1, [2, 3, 4, 5], table);
    expect(reads).toBe(0);
  });

  it("median: a study's table answers as the rule without it, whatever set of completed curves each look gives", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pool = Array.from({ length: 30 }, () => rising(random(), 1 + Math.floor(random() * 10)));
    const table = new MedianTable();
    let completed: { x: number; y: number }[][] = [];
    for (let look = 0; look < 300; look++) {
      const r = random();
      // Mostly a trial completing; sometimes one given twice, one gone, or a curve that grew (a new array).
      if (r < 0.6) completed = [...completed, pool[Math.floor(random() * pool.length)]];
      else if (r < 0.7 && completed.length) completed = completed.filter((_, i) => i !== Math.floor(random() * completed.length));
      else if (r < 0.75 && completed.length) completed = completed.map((c, i) => (i === 0 ? [...c, { x: c.length + 1, y: random() }] : c));
      const current = rising(random(), 1 + Math.floor(random() * 12));
      const at = current.slice(-1 - Math.floor(random() * 3)).map((p) => p.x);
      const sign = random() < 0.5 ? 1 : -1;
      expect(medianRule(current, completed, sign, at, table), `look ${look}`).toEqual(medianRule(current, completed, sign, at));
    }
  });

  it("decay curve: recovers a saturating curve and stops only when even its optimistic plateau loses", () => {
    const fit = fitSaturating(rising(0.6, 5))!;
    expect(fit.a).toBeCloseTo(0.6, 1);
    const completed = [rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)];
    const finals = completed.map((c) => c[c.length - 1].y);
    expect(decayCurveRule(rising(0.2, 4), completed, finals, 1)!.stop).toBe(true);
    expect(decayCurveRule(rising(0.95, 4), completed, finals, 1)!.stop).toBe(false);
    // Three points fit a three-parameter curve exactly: no residual, no verdict.
    expect(decayCurveRule(rising(0.2, 3), completed, finals, 1)).toBeUndefined();
  });

  it("decay curve: fits a curve whose steps start far from 0 (a fine-tune's optimizer steps), as the same curve from 0", () => {
    const late = (points: { x: number; y: number }[]) => points.map((p) => ({ x: p.x * 100 + 1_000_000, y: p.y }));
    expect(fitSaturating(late(rising(0.6, 5)))!.a).toBeCloseTo(0.6, 1);
    const completed = [rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)].map(late);
    const finals = completed.map((c) => c[c.length - 1].y);
    expect(decayCurveRule(late(rising(0.2, 4)), completed, finals, 1)!.stop).toBe(true);
    expect(decayCurveRule(late(rising(0.95, 4)), completed, finals, 1)!.stop).toBe(false);
  });

  // Learning curves that keep rising slowly (a power law), which a saturating fit levels off too soon.
  const slow = (q: number, n: number) => Array.from({ length: n }, (_, i) => ({ x: i + 1, y: q - 0.5 / Math.sqrt(i + 1) }));

  it("decay curve: keeps a slow riser that will end best, by the shortfall of the same fit on the study's finished curves", () => {
    const completed = [slow(0.9, 20), slow(0.88, 20), slow(0.86, 20)];
    const finals = completed.map((c) => c[c.length - 1].y);
    // Ends at 0.838 against the best completed 0.788.
    for (const n of [4, 5, 6, 8, 12]) expect(decayCurveRule(slow(0.95, n), completed, finals, 1)!.stop, `${n} points`).toBe(false);
    // Ends at 0.588: stopped.
    expect(decayCurveRule(slow(0.7, 8), completed, finals, 1)!.stop).toBe(true);
  });

  /** A curve's measurements: its x is the step, reached after `secondsPerStep` seconds a step. */
  const measured = (points: { x: number; y: number }[], secondsPerStep = 1) =>
    points.map((p) => ({ stepCount: String(p.x), elapsedDuration: `${p.x * secondsPerStep}s`, metrics: [{ metricId: "accuracy", value: p.y }] }));
  /** Completed trials that ran to their end, of these curves (the i-th's measurements by `measure`). */
  const ranToEnd = (curves: { x: number; y: number }[][], measure: (c: { x: number; y: number }[], i: number) => Measurement[] = (c) => measured(c)) =>
    curves.map((c, i) => ({ measurements: measure(c, i), final: c[c.length - 1].y }));
  const spec = (rule: "median" | "decay") => ({
    metrics: [{ metricId: "accuracy", goal: "MAXIMIZE" as const }],
    ...(rule === "median" ? { medianAutomatedStoppingSpec: {} } : { decayCurveStoppingSpec: {} }),
  });

  it("decay curve: reads the curve at the end of the trials that ran to it, not where the stopped ones were cut", () => {
    const full = ranToEnd([slow(0.9, 20), slow(0.88, 20), slow(0.86, 20)]);
    const cut = Array.from({ length: 4 }, () => slow(0.5, 3)).map((c) => ({ measurements: measured(c), final: c[c.length - 1].y, stoppedEarly: true }));
    const riser = measured(slow(0.95, 5));
    expect(shouldStop(spec("decay"), riser, full)!.why).toMatch(/ at 20 vs /);
    expect(shouldStop(spec("decay"), riser, [...full, ...cut])!.stop).toBe(false);
    expect(shouldStop(spec("decay"), riser, [...full, ...cut])!.why).toMatch(/ at 20 vs /);
  });

  it("median: judges every measurement a look found, not only the last: a trial below the median at a step inside the look is stopped", () => {
    const completed = ranToEnd([rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)]);
    // Below the median running average at step 3 (0.4 against 0.51), above it at step 4 (0.7 against 0.57).
    const catchingUp = measured([0.3, 0.35, 0.4, 0.7].map((y, i) => ({ x: i + 1, y })));
    expect(shouldStop(spec("median"), catchingUp.slice(0, 3), completed)!.stop).toBe(true);
    expect(shouldStop(spec("median"), catchingUp, completed)!.stop).toBe(false);
    // Steps 3 and 4 read by one look: the verdict at step 3 is the one a look per step gives.
    expect(shouldStop(spec("median"), catchingUp, completed, 2)!.stop).toBe(true);
    expect(shouldStop(spec("median"), catchingUp, completed, 2)!.why).toMatch(/ at 3$/);
  });

  it("decay curve: the verdict does not depend on how the poll cut the reports into looks", () => {
    const completed = ranToEnd([rising(0.9, 12), rising(0.85, 12), rising(0.8, 12)]);
    // A slow start, then a late rise: the fit of its first 4 points loses, that of 8 does not.
    const late = measured([0.1, 0.15, 0.18, 0.2, 0.5, 0.8, 0.9, 0.92].map((y, i) => ({ x: i + 1, y })));
    expect(shouldStop(spec("decay"), late.slice(0, 4), completed)!.stop).toBe(true);
    expect(shouldStop(spec("decay"), late, completed)!.stop).toBe(false);
    // Steps 4 to 8 read by one look: stopped at 4, as looks of one report each stop it.
    const verdict = shouldStop(spec("decay"), late, completed, 5)!;
    expect(verdict.stop).toBe(true);
    expect(verdict.why).toBe(shouldStop(spec("decay"), late.slice(0, 4), completed)!.why);
    // Past 64 reports, at fixed counts: 32 per doubling.
    expect([64, 65, 66, 127, 128, 130, 132].map(decayCheckpoint)).toEqual([true, false, true, false, true, false, true]);
    // A look that read more checkpoints than a look fits judges the first ones, and the next look
    // goes on from there: the same verdicts, in the same order, a look later.
    const good = measured(rising(0.95, 11));
    // The verdicts at 4 to 11 reports (none stops it), as looks of one report each give them.
    const each = Array.from({ length: 8 }, (_, i) => shouldStop(spec("decay"), good.slice(0, i + 4), completed)!.why);
    expect(new Set(each).size).toBe(8);
    const store = good.slice(0, 10);
    const looked = [shouldStop(spec("decay"), store, completed, 10)!.why];
    store.push(good[10]);
    looked.push(shouldStop(spec("decay"), store, completed, 1)!.why);
    expect(looked).toEqual([each[DECAY_FITS_PER_LOOK - 1], each[2 * DECAY_FITS_PER_LOOK - 1]]);
  });

  it("decay curve: checkpoints passed while too few trials had completed are not judged later, behind the trial's reports", () => {
    const three = ranToEnd([rising(0.9, 12), rising(0.85, 12), rising(0.8, 12)]);
    const poor = measured(rising(0.2, 40));
    // 30 reports, two looks, while two trials had completed: nothing to judge by.
    const store = poor.slice(0, 20);
    expect(shouldStop(spec("decay"), store, three.slice(0, 2), 20)).toBeUndefined();
    store.push(...poor.slice(20, 30));
    expect(shouldStop(spec("decay"), store, three.slice(0, 2), 10)).toBeUndefined();
    // The third completes; the next look, of one report, judges at the report it read (31), as a
    // look per report would, not at the 4th to 7th of a backlog of checkpoints.
    store.push(poor[30]);
    const verdict = shouldStop(spec("decay"), store, three, 1)!;
    expect(verdict.why).toBe(shouldStop(spec("decay"), poor.slice(0, 31), three)!.why);
    expect(verdict.stop).toBe(true);
  });

  it("median: reads a completed trial's measurements once, not again at each look of each running trial", () => {
    // Counts reads of the completed trials' measurements: rebuilt at every look, a study of 2000
    // completed trials of 100 measurements spent 100 ms of the server's loop on each look.
    let reads = 0;
    const counted = (points: { x: number; y: number }[]) =>
      new Proxy(measured(points), { get: (target, key, receiver) => (typeof key === "string" && /^\d+$/.test(key) && reads++, Reflect.get(target, key, receiver)) });
    const completed = ranToEnd([rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)], counted);
    expect(shouldStop(spec("median"), measured(rising(0.1, 3)), completed)!.stop).toBe(true);
    expect(reads).toBeGreaterThan(0);
    reads = 0;
    for (const n of [4, 5, 6]) expect(shouldStop(spec("median"), measured(rising(0.1, n)), completed)!.stop).toBe(true);
    expect(reads).toBe(0);
    // One that grew since (none does once completed, but a cached curve must not hide it) is read again.
    completed[0].measurements.push(...measured([{ x: 9, y: 0.95 }]));
    shouldStop(spec("median"), measured(rising(0.1, 3)), completed);
    expect(reads).toBeGreaterThan(0);
  });

  it("judges no trial already at the end of the trials that ran to it: stopping it would save nothing", () => {
    const completed = ranToEnd([rising(0.9, 4), rising(0.85, 4), rising(0.8, 4)]);
    expect(shouldStop(spec("median"), measured(rising(0.1, 3)), completed)!.stop).toBe(true);
    expect(shouldStop(spec("median"), measured(rising(0.1, 4)), completed)).toBeUndefined();
  });

  it("judges a trial past the median completed length when trials end at different steps (epochs tuned), as Vertex, which has no horizon", () => {
    // Trials of 4, 8 and 12 epochs ran to their end: the median length is 8, but a trial of 20
    // epochs is not near its end at step 10, and Vertex judges it at its latest measurement.
    const completed = ranToEnd([rising(0.9, 4), rising(0.85, 8), rising(0.8, 12)]);
    const verdict = shouldStop(spec("median"), measured(rising(0.1, 10)), completed)!;
    expect(verdict.stop).toBe(true);
    expect(verdict.why).toMatch(/of 3 completed trials' running averages at 10$/);
    const decay = shouldStop(spec("decay"), measured(rising(0.1, 10)), completed)!;
    expect(decay.stop).toBe(true);
    expect(decay.why).toMatch(/ at its plateau vs /);
  });

  it("decay curve: reads a trial past the median completed length at its plateau, not where it is: where it ends is not known", () => {
    // 8 steps at 10 s each: the median trial ended at 80 s, best 0.88. A trial at 30 s a step,
    // heading for 0.95, is at 0.82 at step 4 (120 s): read there, it lost; it ends best.
    const completed = ranToEnd([rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)], (c) => measured(c, 10));
    const elapsedSpec = { ...spec("decay"), decayCurveStoppingSpec: { useElapsedDuration: true } };
    const verdict = shouldStop(elapsedSpec, measured(rising(0.95, 4), 30), completed)!;
    expect(verdict.stop).toBe(false);
    expect(verdict.why).toMatch(/^predicted 0\.9\d+ .* at its plateau vs /);
    // One heading below the best is still stopped.
    expect(shouldStop(elapsedSpec, measured(rising(0.6, 4), 30), completed)!.stop).toBe(true);
  });

  it("by elapsed time, judges a trial slower than the median completed trial, and not at the step every trial ends at", () => {
    // 8 steps each, at 8, 10 and 12 s a step: the median trial ended at 80 s. A trial at 20 s a
    // step is at step 5 of 8 at 100 s, far from its end.
    const completed = ranToEnd([rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)], (c, i) => measured(c, 8 + 2 * i));
    const elapsedSpec = { ...spec("median"), medianAutomatedStoppingSpec: { useElapsedDuration: true } };
    expect(shouldStop(elapsedSpec, measured(rising(0.1, 5), 20), completed)!.stop).toBe(true);
    // At step 8 it ends by itself: not judged.
    expect(shouldStop(elapsedSpec, measured(rising(0.1, 8), 20), completed)).toBeUndefined();
    // A trainer that reports without global_step (all at step 0) is judged by time, as before.
    const stepless = (points: { x: number; y: number }[], secondsPerStep: number) => measured(points, secondsPerStep).map((m) => ({ ...m, stepCount: "0" }));
    const steplessCompleted = ranToEnd([rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)], (c, i) => stepless(c, 8 + 2 * i));
    expect(shouldStop(elapsedSpec, stepless(rising(0.1, 3), 20), steplessCompleted)!.stop).toBe(true);
  });

  it("judges a trial past the step every completed trial ended at (it is longer: epochs tuned, the first trials all short)", () => {
    const completed = ranToEnd([rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)]);
    expect(shouldStop(spec("median"), measured(rising(0.1, 8)), completed)).toBeUndefined();
    expect(shouldStop(spec("median"), measured(rising(0.1, 9)), completed)!.stop).toBe(true);
  });

  it("median: a look that reads the last steps before the end and the end together judges those before it", () => {
    const completed = ranToEnd([rising(0.9, 8), rising(0.85, 8), rising(0.8, 8)]);
    // Steps 6, 7 and 8 in one look: a look per step stops it at 6.
    expect(shouldStop(spec("median"), measured(rising(0.1, 6)), completed)!.stop).toBe(true);
    const verdict = shouldStop(spec("median"), measured(rising(0.1, 8)), completed, 3)!;
    expect(verdict.stop).toBe(true);
    expect(verdict.why).toMatch(/ at 6$/);
  });
});

describe("journal", () => {
  it("ignores a torn last line on replay and starts the next event on a fresh line", () => {
    const path = join(tempDir(), "journal.jsonl");
    const journal = new Journal<{ n: number }>(path);
    journal.append({ n: 1 });
    journal.close();
    appendFileSync(path, '{"n": 2, "torn');
    expect(replayJournal(path)).toEqual([{ n: 1 }]);
    const reopened = new Journal<{ n: number }>(path);
    reopened.append({ n: 3 });
    reopened.close();
    expect(replayJournal(path)).toEqual([{ n: 1 }, { n: 3 }]);
    expect(readFileSync(path, "utf8").endsWith('{"n":3}\n')).toBe(true);
  });
});

describe("job ids", () => {
  /** Creates a job in a store on `dir` (which the call opens and closes), returns its id and ordinal. */
  function createIn(dir: string): { id: number; ordinal: number } {
    const store = new Store(dir);
    try {
      const record = store.createJob("projects/p/locations/l", { displayName: "x" });
      return { id: Number(record.id), ordinal: record.ordinal };
    } finally {
      store.close();
    }
  }

  it("are never reused: not after a restart, not by a fresh state folder, while ordinals count per folder", () => {
    const folder = tempDir();
    const started = Date.now();
    const first = createIn(folder);
    const second = createIn(folder);
    // An id is at least the time of its creation in ms, so a folder started after the last id's
    // millisecond (a deleted folder's replacement) begins above it.
    while (Date.now() <= second.id);
    const fresh = createIn(tempDir());
    expect(first.id).toBeGreaterThanOrEqual(started);
    expect(second.id).toBeGreaterThan(first.id);
    expect(fresh.id).toBeGreaterThan(second.id);
    expect([first.ordinal, second.ordinal, fresh.ordinal]).toEqual([1, 2, 1]);
    // The replayed journal gives every job its ordinal back.
    const reopened = new Store(folder);
    expect(reopened.list().map((r) => [Number(r.id), r.ordinal])).toEqual([[first.id, 1], [second.id, 2]]);
    reopened.close();
  });
});

describe("store", () => {
  it("finds a trial event's trial by its id, not by a search of the job's trials, and replays each event onto its own trial", () => {
    const folder = tempDir();
    const store = new Store(folder);
    const { id } = store.createJob("projects/p/locations/l", { displayName: "x" });
    for (let i = 0; i < 50; i++) store.startTrial(id, [{ parameterId: "x", value: i }]);
    // Counts reads of the job's trials: every measurement, pid, stop and end event looks up its
    // trial, and a search read each trial before it (quadratic in a study's trials, on replay too).
    let reads = 0;
    const record = store.get(id)!;
    record.trials = new Proxy(record.trials, { get: (target, key, receiver) => (typeof key === "string" && /^\d+$/.test(key) && reads++, Reflect.get(target, key, receiver)) });
    const m: Measurement = { stepCount: "1", elapsedDuration: "1s", metrics: [{ metricId: "accuracy", value: 0.5 }] };
    store.addMeasurement(id, "37", m);
    store.endTrial(id, "50", "succeeded", undefined, m);
    // Ids that name no trial change nothing.
    for (const unknown of ["51", "0", "037", "x"]) store.addMeasurement(id, unknown, m);
    expect(reads).toBeLessThanOrEqual(6);
    store.close();
    const replayed = new Store(folder).get(id)!;
    expect(replayed.trials.flatMap((t) => (t.trial.measurements.length ? [t.trial.id] : []))).toEqual(["37"]);
    expect(replayed.trials.flatMap((t) => (t.outcome ? [`${t.trial.id} ${t.outcome}`] : []))).toEqual(["50 succeeded"]);
  });
});

describe("suggestion seed", () => {
  it("depends only on the job's ordinal and the suggestion's index, so a restart asks the same question", () => {
    // Pinned values: a seed that mixed in anything of the process (a pid, the clock) would move them.
    expect(suggestionSeed(7, 3)).toBe(287060127);
    expect(suggestionSeed(7, 4)).toBe(46927879);
    expect(suggestionSeed(7, 3)).not.toBe(suggestionSeed(7, 4));
    expect(suggestionSeed(7, 3)).not.toBe(suggestionSeed(8, 3));
  });

  it("gives each job one study seed of its own, the same after a restart", () => {
    expect(studySeed(7)).toBe(2030201243);
    expect(studySeed(7)).not.toBe(studySeed(8));
    expect(Number.isInteger(studySeed(7)) && studySeed(7) >= 0 && studySeed(7) < 2 ** 32).toBe(true);
  });
});
