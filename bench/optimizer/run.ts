/**
 * The optimizer benchmark. `npx tsx bench/optimizer/run.ts --tier quick|full [options]`; the
 * options are `USAGE` below (`--help` prints them).
 *
 * Each study's trace is cached in <root>/<optimizer>@<version>/<mode>-b<budget>/<problem>@<problems.ts
 * version>/<seed>.json. The root is bench/optimizer/peer-traces/ for the Python peers, which is
 * committed: their versions are pinned, and their studies take hours (OSS Vizier: 14–45 min each),
 * so a new checkout resumes them instead of running them again. Ours and random search go to
 * bench/optimizer/.cache/ (ignored): ours changes version with every edit and reruns in minutes.
 * The summary goes to stdout and bench/optimizer/results/<tier>.{json,md}; plots (regret vs trials,
 * one PNG per problem) are drawn by plot.py in the peer venv when it exists. A run that overrides
 * the tier's plan writes <tier>-partial.* instead (not committed), so a shard or a one-problem run
 * never replaces the tier's recorded table with its subset.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isPythonPeer, OPTIMIZERS, optimizerVersion, peersAvailable, problemsVersion, runStudy, type Mode, type Trace } from "./drivers";
import { isTabular, makeProblem, PROBLEMS } from "./problems";

interface Plan {
  tier: string;
  problems: string[];
  optimizers: string[];
  seeds: number;
  budget: number;
  modes: Mode[];
  /** Problems that also run in batch3 mode (ours only). */
  batchProblems: string[];
}

const TIERS: Record<string, Omit<Plan, "tier">> = {
  quick: { problems: ["branin", "hartmann6", "levy4", "hartmann6-mixed", "nn-australian", "nb201-cifar10"], optimizers: ["ours", "random"], seeds: 5, budget: 50, modes: ["seq"], batchProblems: [] },
  full: { problems: PROBLEMS, optimizers: ["ours", "random", "optuna-tpe", "optuna-gp", "vizier"], seeds: 20, budget: 100, modes: ["seq", "batch3"], batchProblems: ["branin", "hartmann6"] },
};

const CHECKPOINTS = [10, 20, 30, 50, 100];
const here = __dirname;

const USAGE = `npx tsx bench/optimizer/run.ts [options]
  --tier quick        ours vs random on a subset, 5 seeds, 50 trials (minutes; the default)
  --tier full         all problems, ours vs random and the Python peers, 20 seeds, 100 trials, + batch-of-3 runs
  --problems a,b  --optimizers a,b  --seeds N  --budget N  --modes seq,batch3   override the tier
  --shard i/k         run only every k-th study starting at i (results are cached, so shards resume)
  --summary-only      print the table and plots from the cache without running anything
  --help              print this and exit`;
// drivers.ts's Mode type, listed here rather than there: drivers.ts is part of ours' cache version.
const MODES: readonly Mode[] = ["seq", "batch3"];
const OPTIONS = ["tier", "problems", "optimizers", "seeds", "budget", "modes", "shard", "summary-only", "help"];

// Every option is checked before anything runs: an option ignored or misread (a typo, --help) ran
// the tier's whole plan instead, Vizier's hours included, and wrote over the tier's recorded results.
function parseArgs(argv: string[]): { plan: Plan; shard: [number, number]; summaryOnly: boolean } {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!;
    if (!key.startsWith("--")) throw new Error(`unexpected argument ${key}`);
    if (!OPTIONS.includes(key.slice(2))) throw new Error(`unknown option ${key}\n${USAGE}`);
    const value = argv[i + 1] && !argv[i + 1]!.startsWith("--") ? argv[++i]! : "true";
    args.set(key.slice(2), value);
  }
  if (args.has("help")) {
    console.log(USAGE);
    process.exit(0);
  }
  const count = (name: string, fallback: number): number => {
    const value = Number(args.get(name) ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, not ${args.get(name)}`);
    return value;
  };
  const tier = args.get("tier") ?? "quick";
  const base = TIERS[tier];
  if (!base) throw new Error(`unknown tier ${tier}`);
  const list = (name: string, fallback: string[]): string[] => args.get(name)?.split(",") ?? fallback;
  const plan: Plan = {
    tier,
    problems: list("problems", base.problems),
    optimizers: list("optimizers", base.optimizers),
    seeds: count("seeds", base.seeds),
    budget: count("budget", base.budget),
    modes: list("modes", base.modes) as Mode[],
    batchProblems: base.batchProblems,
  };
  for (const p of plan.problems) if (!PROBLEMS.includes(p)) throw new Error(`unknown problem ${p}`);
  for (const o of plan.optimizers) if (!OPTIMIZERS.includes(o)) throw new Error(`unknown optimizer ${o}`);
  for (const m of plan.modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}`);
  const shard = args.get("shard") ?? "0/1";
  const [i, k] = shard.split("/").map(Number);
  if (!/^\d+\/\d+$/.test(shard) || !(i! < k!)) throw new Error(`--shard must be i/k with 0 <= i < k, not ${shard}`);
  return { plan, shard: [i!, k!], summaryOnly: args.get("summary-only") === "true" };
}

interface Job {
  optimizer: string;
  problem: string;
  seed: number;
  mode: Mode;
  file: string;
}

function jobs(plan: Plan): Job[] {
  const out: Job[] = [];
  const problems = problemsVersion();
  for (const mode of plan.modes) {
    for (const optimizer of plan.optimizers) {
      if (mode === "batch3" && !optimizer.startsWith("ours")) continue;
      const version = optimizerVersion(optimizer);
      for (const problem of plan.problems) {
        if (mode === "batch3" && plan.tier === "full" && !plan.batchProblems.includes(problem)) continue;
        for (let seed = 0; seed < plan.seeds; seed++) {
          const root = isPythonPeer(optimizer) ? "peer-traces" : ".cache";
          const file = join(here, root, `${optimizer}@${version}`, `${mode}-b${plan.budget}`, `${problem}@${problems}`, `${seed}.json`);
          out.push({ optimizer, problem, seed, mode, file });
        }
      }
    }
  }
  return out;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

interface Row {
  problem: string;
  optimizer: string;
  mode: Mode;
  seeds: number;
  at: Record<number, { median: number; q25: number; q75: number }>;
  medianMillis: number;
  /** Median regret curve over trials, for the plots. */
  curve: number[];
  q25Curve: number[];
  q75Curve: number[];
}

function summarize(plan: Plan, all: Job[]): Row[] {
  const groups = new Map<string, { job: Job; trace: Trace }[]>();
  for (const job of all) {
    if (!existsSync(job.file)) continue;
    const key = `${job.problem}|${job.optimizer}|${job.mode}`;
    const list = groups.get(key) ?? [];
    list.push({ job, trace: JSON.parse(readFileSync(job.file, "utf8")) as Trace });
    groups.set(key, list);
  }
  const rows: Row[] = [];
  for (const [key, runs] of groups) {
    const [problem, optimizer, mode] = key.split("|") as [string, string, Mode];
    const length = Math.min(...runs.map((r) => r.trace.regrets.length));
    const column = (t: number): number[] => runs.map((r) => r.trace.regrets[t - 1]!).sort((a, b) => a - b);
    const at: Row["at"] = {};
    for (const c of CHECKPOINTS.filter((c) => c <= length)) {
      const col = column(c);
      at[c] = { median: quantile(col, 0.5), q25: quantile(col, 0.25), q75: quantile(col, 0.75) };
    }
    const millis = runs.flatMap((r) => r.trace.millis).sort((a, b) => a - b);
    const curves = Array.from({ length }, (_, t) => column(t + 1));
    rows.push({
      problem,
      optimizer,
      mode,
      seeds: runs.length,
      at,
      medianMillis: quantile(millis, 0.5),
      curve: curves.map((c) => quantile(c, 0.5)),
      q25Curve: curves.map((c) => quantile(c, 0.25)),
      q75Curve: curves.map((c) => quantile(c, 0.75)),
    });
  }
  const order = (r: Row): string => `${plan.problems.indexOf(r.problem).toString().padStart(3, "0")}|${r.mode}|${plan.optimizers.indexOf(r.optimizer)}`;
  return rows.sort((a, b) => order(a).localeCompare(order(b)));
}

function fmt(v: number | undefined): string {
  if (v === undefined) return "";
  if (v === 0) return "0";
  return Math.abs(v) >= 0.01 && Math.abs(v) < 1000 ? v.toPrecision(3) : v.toExponential(1);
}

function table(rows: Row[]): string {
  const cps = CHECKPOINTS.filter((c) => rows.some((r) => r.at[c]));
  const lines = [
    `| problem | optimizer | mode | seeds | ${cps.map((c) => `@${c} median [q25, q75]`).join(" | ")} | ms/suggestion (median) |`,
    `|---|---|---|---|${cps.map(() => "---|").join("")}---|`,
  ];
  for (const r of rows) {
    const cells = cps.map((c) => (r.at[c] ? `${fmt(r.at[c]!.median)} [${fmt(r.at[c]!.q25)}, ${fmt(r.at[c]!.q75)}]` : ""));
    lines.push(`| ${r.problem} | ${r.optimizer} | ${r.mode} | ${r.seeds} | ${cells.join(" | ")} | ${r.medianMillis.toFixed(0)} |`);
  }
  // Tabular summary: mean over tasks of the median normalized regret.
  const tabular = rows.filter((r) => isTabular(r.problem) && r.mode === "seq");
  if (tabular.length > 0) {
    lines.push("", `| tabular mean of per-task median normalized regret | tasks | ${cps.map((c) => `@${c}`).join(" | ")} |`, `|---|---|${cps.map(() => "---|").join("")}`);
    for (const optimizer of [...new Set(tabular.map((r) => r.optimizer))]) {
      const mine = tabular.filter((r) => r.optimizer === optimizer);
      const cells = cps.map((c) => (mine.every((r) => r.at[c]) ? fmt(mine.reduce((s, r) => s + r.at[c]!.median, 0) / mine.length) : ""));
      lines.push(`| ${optimizer} | ${mine.length} | ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

/** Whether a plan is its tier's own, with no option overriding it. */
function isTierPlan(plan: Plan): boolean {
  const base = TIERS[plan.tier]!;
  const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
  return same(plan.problems, base.problems) && same(plan.optimizers, base.optimizers) && same(plan.modes, base.modes) && plan.seeds === base.seeds && plan.budget === base.budget;
}

async function main(): Promise<void> {
  const { plan, shard, summaryOnly } = parseArgs(process.argv.slice(2));
  // A summary reads the peers' committed traces, with or without the venv that runs them.
  if (!summaryOnly && !peersAvailable()) {
    const missing = plan.optimizers.filter(isPythonPeer);
    if (missing.length > 0) {
      console.error(`peer venv missing (run bench/optimizer/setup-peers.sh); skipping ${missing.join(", ")}`);
      plan.optimizers = plan.optimizers.filter((o) => !missing.includes(o));
    }
  }
  const all = jobs(plan);
  if (!summaryOnly) {
    const mine = all.filter((_, i) => i % shard[1] === shard[0]);
    let done = 0;
    for (const job of mine) {
      done++;
      if (existsSync(job.file)) continue;
      const started = Date.now();
      try {
        const trace = await runStudy(job.optimizer, makeProblem(job.problem, job.seed), job.seed, plan.budget, job.mode);
        mkdirSync(dirname(job.file), { recursive: true });
        writeFileSync(job.file, JSON.stringify(trace));
        const last = trace.regrets[trace.regrets.length - 1]!;
        console.error(`[${done}/${mine.length}] ${job.optimizer} ${job.mode} ${job.problem} seed ${job.seed}: regret ${fmt(last)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } catch (error) {
        console.error(`[${done}/${mine.length}] ${job.optimizer} ${job.problem} seed ${job.seed} FAILED: ${(error as Error).message}`);
      }
    }
  }
  const rows = summarize(plan, all);
  const markdown = table(rows);
  console.log(markdown);
  const outDir = join(here, "results");
  mkdirSync(outDir, { recursive: true });
  const name = isTierPlan(plan) ? plan.tier : `${plan.tier}-partial`;
  writeFileSync(join(outDir, `${name}.md`), markdown + "\n");
  // plot.py names the PNGs after plan.tier.
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ plan: { ...plan, tier: name }, rows }, null, 1));
  if (peersAvailable()) {
    const plot = spawnSync(join(here, ".venv-peers", "bin", "python"), [join(here, "plot.py"), join(outDir, `${name}.json`), outDir], { stdio: "inherit" });
    if (plot.status !== 0) console.error("plot.py failed");
  } else {
    console.error("no peer venv: plots skipped");
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
