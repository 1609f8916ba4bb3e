/**
 * Optimizer drivers for the benchmark: ours (and its acquisition variants), our random search, and the
 * Python peers through peers.py. A driver runs one study on one problem instance and returns the
 * best-so-far regret after each trial and the time of each suggestion.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { DEFAULT_BAYES_OPTIONS, suggestBayesian, suggestRandom, type BayesOptions } from "../../optimizer";
import { UCB_COEFFICIENT } from "../../optimizer/acquisition";
import { hashString } from "../../optimizer/rng";
import type { Assignment, CompletedTrial, StudySpec, SuggestRequest } from "../../optimizer/types";
import type { Problem } from "./problems";

/** One study's trace. */
export interface Trace {
  /** Best regret among the first t+1 trials, for each t. */
  regrets: number[];
  /** Milliseconds per suggestion call. */
  millis: number[];
}

/** "seq": one trial at a time; "batch3": three trials in flight, a new one asked for as each finishes. */
export type Mode = "seq" | "batch3";

const OURS_VARIANTS: Record<string, BayesOptions> = {
  ours: DEFAULT_BAYES_OPTIONS,
  "ours-notr": { ...DEFAULT_BAYES_OPTIONS, trustRegion: false },
  // Vizier's GP-UCB-PE keeps its UCB coefficient while trials are pending.
  "ours-ucbpe": { ...DEFAULT_BAYES_OPTIONS, acquisition: "ucb-pe", ucbCoefficientWhilePending: UCB_COEFFICIENT },
  // The default before the sixth session: GP-BUCB with the sequential coefficient.
  "ours-bucb-1.8": { ...DEFAULT_BAYES_OPTIONS, ucbCoefficientWhilePending: UCB_COEFFICIENT },
  "ours-logei": { ...DEFAULT_BAYES_OPTIONS, acquisition: "logei", trustRegion: false },
  // The GP fitted to every completed trial, and to half as many as the default past its cap.
  "ours-uncapped": { ...DEFAULT_BAYES_OPTIONS, maxModelledTrials: Infinity },
  "ours-cap150": { ...DEFAULT_BAYES_OPTIONS, maxModelledTrials: 150 },
};
const PYTHON_PEERS = ["optuna-tpe", "optuna-gp", "vizier"];

/** Whether an optimizer is one of the Python peers run through peers.py. */
export function isPythonPeer(name: string): boolean {
  return PYTHON_PEERS.includes(name);
}

/** Every optimizer the harness knows. */
export const OPTIMIZERS = [...Object.keys(OURS_VARIANTS), "random", ...PYTHON_PEERS];

const here = __dirname;
const venvPython = join(here, ".venv-peers", "bin", "python");

/**
 * A version string for the cache: for ours, a hash of optimizer/ and of this file (which derives
 * the seeds each study's requests carry); for peers, the pinned package and a hash of the adapter
 * (peers.py) and of every pin: either can change what a peer suggests, and the peers' traces are
 * committed, so a stale one would otherwise stand.
 */
export function optimizerVersion(name: string): string {
  if (isPythonPeer(name)) {
    const pins = readFileSync(join(here, "peers-requirements.txt"), "utf8");
    const pkg = name === "vizier" ? "google-vizier" : "optuna";
    const pin = new RegExp(`^${pkg}(\\[[^\\]]*\\])?==(\\S+)`, "m").exec(pins);
    if (!pin) throw new Error(`peers-requirements.txt pins no version of ${pkg}`);
    const adapter = createHash("sha256").update(readFileSync(join(here, "peers.py"))).update(pins).digest("hex").slice(0, 10);
    return `${pkg}-${pin[2]}-${adapter}`;
  }
  const dir = join(here, "..", "..", "optimizer");
  const hash = createHash("sha256");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) hash.update(file).update(readFileSync(join(dir, file)));
  hash.update(readFileSync(__filename));
  return `src-${hash.digest("hex").slice(0, 10)}`;
}

/**
 * Version of the problem definitions. A trace depends on problems.ts as much as on the optimizer
 * (a domain, a shift or a tabular lookup changed there changes every regret), so the cache path
 * carries this next to each problem's name and an edit there never reuses a stale trace.
 */
export function problemsVersion(): string {
  return `p-${createHash("sha256").update(readFileSync(join(here, "problems.ts"))).digest("hex").slice(0, 10)}`;
}

/** Whether the peer venv exists (see setup-peers.sh). */
export function peersAvailable(): boolean {
  return existsSync(venvPython);
}

/** Runs one study. */
export async function runStudy(optimizer: string, problem: Problem, seed: number, budget: number, mode: Mode): Promise<Trace> {
  if (isPythonPeer(optimizer)) {
    if (mode !== "seq") throw new Error("peers run sequentially only");
    return runPeer(optimizer, problem, seed, budget);
  }
  const options = OURS_VARIANTS[optimizer];
  const suggestFn = options ? (r: SuggestRequest) => suggestBayesian(r, options) : optimizer === "random" ? suggestRandom : null;
  if (!suggestFn) throw new Error(`unknown optimizer "${optimizer}"`);
  return runLocal(suggestFn, problem, seed, budget, mode);
}

function runLocal(suggestFn: (r: SuggestRequest) => Assignment[], problem: Problem, seed: number, budget: number, mode: Mode): Trace {
  const completed: CompletedTrial[] = [];
  const pending: Assignment[] = [];
  const trace: Trace = { regrets: [], millis: [] };
  let best = Infinity;
  const inFlight = mode === "batch3" ? 3 : 1;
  let asked = 0;
  while (completed.length < budget) {
    const want = Math.min(inFlight - pending.length, budget - completed.length - pending.length);
    if (want > 0) {
      const started = performance.now();
      const next = suggestFn({
        space: problem.spec,
        completed,
        pending,
        count: want,
        seed: hashString(`${problem.name}/${seed}/${asked}`),
        // One initial design per (problem, seed), so the benchmark's seeds are independent studies.
        studySeed: hashString(`${problem.name}/${seed}`),
        budget,
      });
      trace.millis.push(performance.now() - started);
      asked++;
      if (next.length === 0 && pending.length === 0) break;
      pending.push(...next);
    }
    // The oldest running trial finishes first.
    const a = pending.shift()!;
    const value = problem.evaluate(a, completed.length);
    completed.push({ parameters: a, value });
    best = Math.min(best, problem.regret(a));
    trace.regrets.push(best);
  }
  return trace;
}

/** A running Python peer (peers.py) for one study. */
export interface PeerProcess {
  ask(): Promise<Assignment>;
  tell(value: number): void;
  /** Adds a finished trial the peer did not suggest (Optuna peers only). */
  record(parameters: Assignment, value: number): void;
  close(): void;
}

/** Starts a Python peer on a study spec and waits until it is ready. */
export async function startPeer(optimizer: string, spec: StudySpec, seed: number): Promise<PeerProcess> {
  const child = spawn(venvPython, [join(here, "peers.py"), optimizer, String(seed)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const read = async (): Promise<Record<string, unknown>> => {
    const next = await lines.next();
    if (next.done) throw new Error(`${optimizer} exited early`);
    return JSON.parse(next.value) as Record<string, unknown>;
  };
  const write = (obj: unknown): void => {
    child.stdin.write(JSON.stringify(obj) + "\n");
  };
  write({ spec });
  await read();
  return {
    ask: async () => {
      write({ ask: true });
      return ((await read()) as { params: Assignment }).params;
    },
    tell: (value) => write({ tell: value }),
    record: (parameters, value) => write({ record: { params: parameters, value } }),
    close: () => {
      child.stdin.end();
      child.kill();
    },
  };
}

async function runPeer(optimizer: string, problem: Problem, seed: number, budget: number): Promise<Trace> {
  const peer = await startPeer(optimizer, problem.spec, seed);
  try {
    const trace: Trace = { regrets: [], millis: [] };
    let best = Infinity;
    for (let t = 0; t < budget; t++) {
      const started = performance.now();
      const params = await peer.ask();
      trace.millis.push(performance.now() - started);
      peer.tell(problem.evaluate(params, t));
      best = Math.min(best, problem.regret(params));
      trace.regrets.push(best);
    }
    return trace;
  } finally {
    peer.close();
  }
}
