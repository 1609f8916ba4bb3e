/**
 * `report.html`: one self-contained page (no scripts, no network) with the optimization history
 * (each trial's value and the best so far) and each parameter against the metric, as inline
 * SVG, and the table of trials.
 */
import { bestTrial, finalValue, plainText, reasonLine, type VertexJob, type VertexParameterSpec, type VertexTrial } from "../components/spec";
import { metricIdOf } from "./progress";

interface Point {
  x: number | string;
  y: number;
  title: string;
  /** Drawn hollow: a trial stopped early. */
  hollow?: boolean;
}

interface Plot {
  title: string;
  xLabel: string;
  yLabel: string;
  points: Point[];
  /** x axis: numbers (linear or log) or categories in the given order. */
  xAxis: { kind: "linear" | "log"; integerTicks?: boolean } | { kind: "category"; values: string[] };
  /** A step line through these points: flat until the next point (best so far). */
  line?: { x: number; y: number }[];
}

const W = 460;
const H = 280;
const M = { left: 60, right: 16, top: 28, bottom: 44 };

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Tick values at round numbers inside [lo, hi]: multiples of a step of 1, 2 or 5 times a power of
 * ten, about `n` of them, and steps of at least `minStep`. Five evenly spaced ticks from the data's
 * own ends labelled the axes 0.9412, 0.9450, 0.9488...: a reader could not place a point by eye.
 */
function niceTicks(lo: number, hi: number, n = 5, minStep = 0): { values: number[]; step: number } {
  if (!(hi > lo)) return { values: [lo], step: Math.max(Math.abs(lo), 1) };
  const power = 10 ** Math.floor(Math.log10((hi - lo) / (n - 1)));
  const count = (step: number) => Math.floor(hi / step) - Math.ceil(lo / step) + 1;
  const step = [1, 2, 5, 10, 20]
    .map((m) => Math.max(m * power, minStep))
    .reduce((best, s) => (Math.abs(count(s) - n) < Math.abs(count(best) - n) ? s : best));
  const values: number[] = [];
  // k × step to 15 digits, so that 3 × 0.1 is 0.3, not 0.30000000000000004.
  for (let k = Math.ceil(lo / step); k <= Math.floor(hi / step); k++) values.push(Number((k * step).toPrecision(15)));
  return { values, step };
}

/**
 * A tick's label: the fewest significant digits that give its value back to within a millionth of
 * the step, in exponent form for very large or very small numbers (which would not fit the margin).
 */
function tickLabel(value: number, step: number): string {
  if (value === 0) return "0";
  let digits = 1;
  while (digits < 15 && Math.abs(Number(value.toPrecision(digits)) - value) > step * 1e-6) digits++;
  const magnitude = Math.abs(value);
  return magnitude >= 1e6 || magnitude < 1e-3 ? value.toExponential(digits - 1) : String(Number(value.toPrecision(digits)));
}

/**
 * Ticks of a log axis, placed in log10 units: whole decades where the axis spans three or more, 1,
 * 2 and 5 times a power of ten where it spans at least half of one, else round values as on a linear axis.
 */
function logTicks(lo: number, hi: number): { at: number; label: string }[] {
  const tick = (value: number, step: number) => ({ at: Math.log10(value), label: tickLabel(value, step) });
  if (hi - lo >= 3) return niceTicks(lo, hi, 5, 1).values.map((e) => tick(10 ** e, 10 ** e));
  if (hi - lo >= 0.5) {
    const marks: { at: number; label: string }[] = [];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const m of [1, 2, 5]) if (e + Math.log10(m) >= lo && e + Math.log10(m) <= hi) marks.push(tick(m * 10 ** e, m * 10 ** e));
    }
    return marks;
  }
  const { values, step } = niceTicks(10 ** lo, 10 ** hi);
  return values.map((v) => tick(v, step));
}

/** One scatter plot as an SVG element. */
function svg(plot: Plot): string {
  const ys = plot.points.map((p) => p.y).concat((plot.line ?? []).map((p) => p.y));
  let yLo = Math.min(...ys);
  let yHi = Math.max(...ys);
  if (!(yHi > yLo)) { yLo -= 0.5; yHi += 0.5; }
  const pad = (yHi - yLo) * 0.05;
  yLo -= pad; yHi += pad;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const sy = (y: number) => M.top + plotH * (1 - (y - yLo) / (yHi - yLo));
  let sx: (x: number | string) => number;
  let xTicks: { at: number; label: string }[];
  if (plot.xAxis.kind === "category") {
    const values = plot.xAxis.values;
    sx = (x) => M.left + (plotW * (values.indexOf(String(x)) + 0.5)) / values.length;
    xTicks = values.map((v) => ({ at: sx(v), label: v }));
  } else {
    const log = plot.xAxis.kind === "log";
    const f = (x: number) => (log ? Math.log10(x) : x);
    const xs = plot.points.map((p) => f(Number(p.x))).concat((plot.line ?? []).map((p) => f(p.x)));
    const xLo = Math.min(...xs);
    const xHi = Math.max(...xs);
    // Pad the range so that points on its ends are not cut by the frame.
    const xPad = xHi > xLo ? (xHi - xLo) * 0.04 : 0.5;
    const lo = xLo - xPad;
    const hi = xHi + xPad;
    sx = (x) => M.left + (plotW * (f(Number(x)) - lo)) / (hi - lo);
    const at = (t: number) => M.left + (plotW * (t - lo)) / (hi - lo);
    const marks = log
      ? logTicks(lo, hi)
      : (({ values, step }) => values.map((t) => ({ at: t, label: tickLabel(t, step) })))(niceTicks(lo, hi, 5, plot.xAxis.integerTicks ? 1 : 0));
    xTicks = marks.map((t) => ({ at: at(t.at), label: t.label }));
  }
  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" class="title">${escape(plot.title)}</text>`);
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" class="frame"/>`);
  const yTicks = niceTicks(yLo, yHi);
  for (const t of yTicks.values) {
    const y = sy(t);
    parts.push(`<line x1="${M.left - 4}" x2="${M.left + plotW}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y + 4}" text-anchor="end">${tickLabel(t, yTicks.step)}</text>`);
  }
  for (const t of xTicks) parts.push(`<text x="${t.at}" y="${M.top + plotH + 16}" text-anchor="middle">${escape(t.label)}</text>`);
  parts.push(`<text x="${M.left + plotW / 2}" y="${H - 8}" text-anchor="middle" class="axis">${escape(plot.xLabel)}</text>`);
  parts.push(`<text x="14" y="${M.top + plotH / 2}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${M.top + plotH / 2})">${escape(plot.yLabel)}</text>`);
  if (plot.line?.length) {
    const d = plot.line
      .map((p, i) => `${i ? `H${sx(p.x).toFixed(1)} V` : `M${sx(p.x).toFixed(1)},`}${sy(p.y).toFixed(1)}`)
      .join(" ");
    parts.push(`<path d="${d}" class="best"/>`);
  }
  for (const p of plot.points) {
    parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="4.5" class="${p.hollow ? "stopped" : "point"}"><title>${escape(p.title)}</title></circle>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join("")}</svg>`;
}

type Trial = VertexTrial & { earlyStopped?: boolean };

function value(trial: VertexTrial, id: string): number | string | undefined {
  const v = trial.parameters?.find((p) => p.parameterId === id)?.value;
  return typeof v === "number" || typeof v === "string" ? v : undefined;
}

function flatParameters(specs: VertexParameterSpec[] | undefined): VertexParameterSpec[] {
  return (specs ?? []).flatMap((p) => [p, ...flatParameters((p.conditionalParameterSpecs ?? []).map((c) => c.parameterSpec ?? {}))]);
}

/** The report page for a finished (or running) job. */
export function renderReport(job: VertexJob): string {
  const metricId = metricIdOf(job);
  const goal = job.studySpec?.metrics?.[0]?.goal ?? "MAXIMIZE";
  const sign = goal === "MINIMIZE" ? -1 : 1;
  const trials = (job.trials ?? []) as Trial[];
  const scored = trials
    .map((t) => ({ t, v: t.state === "SUCCEEDED" ? finalValue(t, metricId) : undefined }))
    .filter((s): s is { t: Trial; v: number } => s.v !== undefined);
  const title = (t: Trial, v: number) => `trial ${t.id}: ${metricId} ${v}${t.earlyStopped ? " (stopped early)" : ""}`;
  const plots: string[] = [];
  if (scored.length) {
    let best = -Infinity;
    const line = scored.map(({ t, v }) => {
      best = Math.max(best, sign * v);
      return { x: Number(t.id), y: sign * best };
    });
    plots.push(svg({
      title: "Optimization history",
      xLabel: "trial",
      yLabel: metricId,
      xAxis: { kind: "linear", integerTicks: true },
      points: scored.map(({ t, v }) => ({ x: Number(t.id), y: v, title: title(t, v), hollow: t.earlyStopped })),
      line,
    }));
    for (const spec of flatParameters(job.studySpec?.parameters)) {
      const id = spec.parameterId ?? "";
      const points: Point[] = [];
      for (const { t, v } of scored) {
        const x = value(t, id);
        if (x !== undefined) points.push({ x, y: v, title: `${title(t, v)}, ${id} ${x}`, hollow: t.earlyStopped });
      }
      if (!points.length) continue;
      const xAxis: Plot["xAxis"] = spec.categoricalValueSpec
        ? { kind: "category", values: spec.categoricalValueSpec.values ?? [] }
        // An INTEGER parameter's ticks are whole numbers, as the trial axis's: a tick at 3.5 named a value no trial can take.
        : { kind: spec.scaleType === "UNIT_LOG_SCALE" ? "log" : "linear", integerTicks: spec.integerValueSpec !== undefined };
      plots.push(svg({ title: `${id} vs ${metricId}`, xLabel: id, yLabel: metricId, xAxis, points }));
    }
  }
  const best = bestTrial(job);
  const ids = flatParameters(job.studySpec?.parameters).map((p) => p.parameterId ?? "");
  const rows = trials.map((t) => {
    const v = finalValue(t, metricId);
    const cells = [t.id ?? "", t.state ?? "", v === undefined ? "" : String(v), ...ids.map((id) => String(value(t, id) ?? "")), t.earlyStopped ? "stopped early" : reasonLine(t.infeasibleReason)];
    return `<tr${best?.id === t.id ? ' class="bestrow"' : ""}>${cells.map((c) => `<td>${escape(c)}</td>`).join("")}</tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(job.displayName ?? "study")} — tuning report</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
svg{margin:8px;border:1px solid #eee;background:#fff}
svg text{font-size:11px;fill:#444} svg .title{font-size:13px;font-weight:600;fill:#222} svg .axis{font-size:12px}
.frame{fill:none;stroke:#ccc} .grid{stroke:#eee} .best{fill:none;stroke:#d62728;stroke-width:2}
.point{fill:#1f77b4;opacity:.8} .stopped{fill:#fff;stroke:#1f77b4;stroke-width:1.5}
.error{background:#fdecea;padding:8px;white-space:pre-wrap}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left} .bestrow{background:#fff3c4}
</style></head><body>
<h1>${escape(job.displayName ?? "study")}</h1>
<p>${escape(job.name ?? "")} · ${escape(job.state ?? "")} · ${trials.length} trials · goal ${escape(goal)} ${escape(metricId)}${
    best ? ` · best trial ${escape(best.id)}: ${escape(metricId)} ${best.metricValue}` : ""
  }</p>${job.error?.message ? `\n<pre class="error">${escape(plainText(job.error.message))}</pre>` : ""}
<p>Filled dots: trials that ran to the end; hollow dots: trials stopped early; red line: best so far.</p>
<div>${plots.join("\n")}</div>
<h2>Trials</h2>
<table><tr>${["trial", "state", metricId, ...ids, "note"].map((h) => `<th>${escape(h)}</th>`).join("")}</tr>
${rows.join("\n")}</table>
</body></html>
`;
}
