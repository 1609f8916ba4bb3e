/**
 * `tune run` end to end on a stack file of the test's own (the test trainer instead of
 * TensorFlow): config → job through the shared Vertex client → embedded server → result.json
 * and report.html; Ctrl-C cancelling the job with no trial process left behind; and a run killed
 * outright being followed, not doubled, by the next run.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cancelLocalJob } from "../../cli/cancel";
import { localStatus, statusText } from "../../cli/status";
import { bestLine, createProgress, formatMetric, POLL_FIELDS, trialLine } from "../../cli/progress";
import { renderReport } from "../../cli/report";
import { runStudy, SAME_SIGNAL_MS } from "../../cli/run";
import { loadStackJob } from "../../cli/study";
import { PROGRESS_FIELDS as PROVIDER_FIELDS, progressReporter } from "../../components/vertex/wait";
import { requestedFields, selectFields } from "../../local/fields";
import { INTERRUPTED_REASON, type VertexJob } from "../../components/spec";
import { startServer, type FaultRule } from "../../local/server";
import { alive, eventually, REPO_ROOT, tempDir, TRIAL_SCRIPT } from "./helpers";

/** A scratch repository with Pulumi.yaml and Pulumi.t.yaml whose trainer is the test trainer. */
function scratchRepo(trialArgs: string[], maxTrials = 6): string {
  const root = tempDir("tune-repo-");
  writeFileSync(join(root, "Pulumi.yaml"), "name: vertex-tuning\nruntime: nodejs\n");
  writeFileSync(
    join(root, "Pulumi.t.yaml"),
    `config:
  vertex-tuning:backend: local
  vertex-tuning:study:
    displayName: cli-test
    metric: { id: accuracy, goal: MAXIMIZE }
    parameters:
      - { id: x, type: DOUBLE, min: 0.1, max: 0.9 }
      - { id: tau, type: DISCRETE, values: [1, 2] }
    maxTrials: ${maxTrials}
    parallelTrials: 2
    earlyStopping: { median: {} }
    trial: { args: ${JSON.stringify(trialArgs)} }
  vertex-tuning:trainer:
    imageUri: local/test
    command: ["python3", ${JSON.stringify(join(REPO_ROOT, TRIAL_SCRIPT))}]
`,
  );
  return root;
}

/** `tune <args>` as its own process in `root`, its output collected and its exit code awaitable. */
function startTune(root: string, args: string[]) {
  const child = spawn(process.execPath, ["--import", join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs"), join(REPO_ROOT, "cli/main.ts"), ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout!.on("data", (c: Buffer) => (text += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  return { child, output: () => text, exited };
}

/** `tune run` of stack "t" as its own process on `<root>/state`. */
function startTuneRun(root: string) {
  const state = join(root, "state");
  mkdirSync(state);
  return { state, ...startTune(root, ["run", "--stack", "t", "--state", state]) };
}

/**
 * `tune run` of a 4-trial study whose trials hang, once its first two trials run: the run, the
 * root, the job's id and the two trials' pids.
 */
async function startHangingRun() {
  const root = scratchRepo(["--mode=hang"], 4);
  const run = startTuneRun(root);
  const seen = (id: string) => trialFile(run.state, id, "seen.json");
  expect(await eventually(() => existsSync(seen("1")) && existsSync(seen("2")), 20_000), run.output()).toBe(true);
  const pids = ["1", "2"].map((id) => JSON.parse(readFileSync(seen(id), "utf8")).pid as number);
  const [jobId] = readdirSync(join(run.state, "jobs"));
  return { root, run, jobId, pids };
}

/** A file of a trial of the state folder's only job ("" until that job's folder exists). */
function trialFile(state: string, trialId: string, file: string): string {
  const jobs = join(state, "jobs");
  const [job] = existsSync(jobs) ? readdirSync(jobs) : [];
  return job ? join(jobs, job, "trials", trialId, file) : "";
}

describe("npm run tune", () => {
  it("installs what it needs first, as npm run demo and npm test do, and passes its arguments to tune", () => {
    const scripts = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    expect(scripts.demo).toMatch(/^node scripts\/setup\.mjs && /);
    // npm appends `-- <args>` to the script's end: the last command must be tune itself. Node loads
    // the TypeScript through tsx's hooks (--import tsx) rather than under the tsx command, whose
    // own process relays a Ctrl-C to tune and SIGKILLs it when tune has not said within 60 ms that
    // it has it: with the event loop busy (a suggestion, 0.1-1 s) that killed 4 Ctrl-Cs of 6
    // outright, leaving the job's trials running with no server, and no summary or result.json.
    expect(scripts.tune).toBe("node scripts/setup.mjs && node --import tsx cli/main.ts");
    expect(scripts.demo).toBe("node scripts/setup.mjs && node --import tsx cli/main.ts demo");
  });

  it("shows its usage as the npm command a person types, with the defaults", async () => {
    const { output, exited } = startTune(tempDir("tune-help-"), ["--help"]);
    expect(await exited).toBe(0);
    const usage = output();
    for (const command of ["run", "serve", "cancel JOB", "status [JOB]"]) expect(usage).toContain(`npm run tune -- ${command} `);
    expect(usage).toContain("npm run demo");
    expect(usage).not.toMatch(/^\s*tune /m);
    expect(usage).toMatch(/^  --stack S .*; default local$/m);
    expect(usage).toMatch(/^  --state DIR .*; default \.tune\/state$/m);
    expect(usage).toMatch(/^  --out DIR .*; default \.tune\/out\/<stack>$/m);
  });

  it("refuses, with status 2 and the usage, an option or argument its command does not take", async () => {
    const cases: [string[], string][] = [
      [["cancel", "5", "--max-trials", "3"], "tune: --max-trials does not apply to cancel"],
      [["demo", "--stack", "dev"], "tune: --stack does not apply to demo"],
      [["run", "extra"], 'tune: run takes no argument "extra"'],
      [["run", "--stak", "dev"], "tune: Unknown option '--stak'"],
      [["cancel"], "tune: cancel takes one job"],
      [["launch"], 'tune: unknown command "launch"'],
      [["run", "--max-trials", "0"], 'tune: --max-trials must be a whole number >= 1 (got "0")'],
      [["serve", "--port", "abc"], 'tune: --port must be 0-65535 (got "abc")'],
      [["serve", "--port="], 'tune: --port must be 0-65535 (got "")'],
      [["cancel", "latest"], "tune: the job must be a numeric id or a full name"],
      [["status", "latest"], "tune: the job must be a numeric id or a full name"],
      [["status", "1", "2"], 'tune: status takes no further argument "2"'],
      [["status", "--stack", "t"], "tune: --stack does not apply to status"],
      [["demo", "--max-trials", "0"], 'tune: --max-trials must be a whole number >= 1 (got "0")'],
      [["serve", "--host", ""], 'tune: --host must be an address such as 127.0.0.1 (got "")'],
      [["serve", "--host", "0.0.0.0"], "tune: binding to 0.0.0.0 exposes the backend beyond this machine: pass allowRemote (--allow-remote) to do it anyway"],
      [["run", "--stack", "lcoal"], "tune: no stack file "],
    ];
    const folder = tempDir("tune-usage-");
    writeFileSync(join(folder, "Pulumi.yaml"), "name: vertex-tuning\nruntime: nodejs\n");
    for (const [args, message] of cases) {
      const { output, exited } = startTune(folder, args);
      expect(await exited, args.join(" ")).toBe(2);
      expect(output(), args.join(" ")).toContain(message);
      expect(output()).toContain("npm run tune -- run ");
      // Refused before anything starts (the demo's banner included).
      expect(output()).not.toContain("tune demo:");
    }
    // Nothing ran: no state folder was made.
    expect(existsSync(join(folder, ".tune"))).toBe(false);
  });

  it("answers a flag the study refuses (--parallel above the file's maxTrials) with status 2, as a mistake in the command line, and a file's own problem with 1", async () => {
    const root = scratchRepo([], 4);
    const state = join(root, "state");
    const flag = startTune(root, ["run", "--stack", "t", "--parallel", "9", "--state", state]);
    expect(await flag.exited, flag.output()).toBe(2);
    expect(flag.output()).toContain("--parallel: must not exceed maxTrials (9 > 4)");
    writeFileSync(join(root, "Pulumi.bad.yaml"), readFileSync(join(root, "Pulumi.t.yaml"), "utf8").replace("maxTrials: 4", "maxTrials: 0"));
    const file = startTune(root, ["run", "--stack", "bad", "--state", state]);
    expect(await file.exited, file.output()).toBe(1);
    expect(existsSync(state)).toBe(false);
  });
});

describe("tune run's reading of the stack file", () => {
  it("refuses a key of the project's namespace it does not know, naming the closest known key, with the other problems", () => {
    const root = scratchRepo([]);
    const text = readFileSync(join(root, "Pulumi.t.yaml"), "utf8");
    writeFileSync(join(root, "Pulumi.typo.yaml"), `${text}  vertex-tuning:lables: { team: a }\n  vertex-tuning:waitTimeoutMinute: 50\n  gcp:project: p\n`);
    expect(() => loadStackJob(root, "typo")).toThrow(
      /vertex-tuning:lables: unknown key: did you mean vertex-tuning:labels\?[\s\S]*\n  vertex-tuning:waitTimeoutMinute: unknown key: did you mean vertex-tuning:waitTimeoutMinutes\?/,
    );
  });

  it("refuses a parameter field its type does not take, which the job dropped", () => {
    const root = scratchRepo([]);
    const text = readFileSync(join(root, "Pulumi.t.yaml"), "utf8");
    writeFileSync(join(root, "Pulumi.foreign.yaml"), text.replace("values: [1, 2] }", "values: [1, 2], min: 1 }"));
    expect(() => loadStackJob(root, "foreign")).toThrow(
      "  vertex-tuning:study.parameters[1].min: min does not apply to a DISCRETE parameter (only DOUBLE and INTEGER take it): remove it, or change the type",
    );
  });

  it("names a meaning mistake at its namespaced key, alone or beside a shape mistake, and a flag's at the flag", () => {
    const root = scratchRepo([]);
    const text = readFileSync(join(root, "Pulumi.t.yaml"), "utf8");
    const meaning = text.replace("min: 0.1, max: 0.9", "min: 0.9, max: 0.1");
    writeFileSync(join(root, "Pulumi.meaning.yaml"), meaning);
    writeFileSync(join(root, "Pulumi.mixed.yaml"), meaning.replace("parallelTrials: 2", 'parallelTrials: "2"'));
    const message = (stack: string, overrides = {}) => {
      try {
        loadStackJob(root, stack, overrides);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${stack} loaded`);
    };
    const issue = /^  (.*)\.min: (.*)$/m;
    const alone = message("meaning").match(issue);
    const mixed = message("mixed").match(issue);
    expect(alone?.[1]).toBe("vertex-tuning:study.parameters[0]");
    expect(mixed?.[0]).toBe(alone?.[0]);
    expect(message("mixed")).toContain('  vertex-tuning:study.parallelTrials: must be a number (got "2")');
    // The value a flag replaced is the flag's mistake, not the file's.
    expect(message("t", { maxTrials: 200_000 })).toMatch(/^  --max-trials: must be between 1 and 100000/m);
    // A shorter run lowers the file's parallelism; a --parallel beside it is checked, not lowered.
    expect(loadStackJob(root, "t", { maxTrials: 1 }).parallelTrialCount).toBe(1);
    expect(message("t", { maxTrials: 2, parallelTrials: 3 })).toMatch(/^  --parallel: .*\(3 > 2\)/m);
  });
});

describe("tune run's source trainer", () => {
  it("refuses a source folder that python -m <last segment>.task from the repository root would not run, before any trial", async () => {
    const root = scratchRepo([]);
    // The repository's own trainer/ beside the user's ml/trainer, which the nested source ran in its place.
    for (const file of ["trainer/task.py", "ml/trainer/task.py", "other/main.py"]) {
      mkdirSync(join(root, file, ".."), { recursive: true });
      writeFileSync(join(root, file), "");
    }
    const text = readFileSync(join(root, "Pulumi.t.yaml"), "utf8").replace(/imageUri: .*\n.*command: .*\n/, "source: SOURCE\n");
    const stack = (name: string, source: string) => writeFileSync(join(root, `Pulumi.${name}.yaml`), text.replace("SOURCE", source));
    stack("nested", "ml/trainer");
    stack("missing", "mytr");
    stack("notask", "other");
    stack("top", "trainer");
    expect(() => loadStackJob(root, "nested")).toThrow(
      `  vertex-tuning:trainer.source: ${join(root, "ml/trainer")} is not a folder at the repository's top level: the local backend runs a source trainer as \`.venv/bin/python -m trainer.task\` from the repository root ${root}, which would run ${join(root, "trainer")}; move the package to the top level`,
    );
    expect(() => loadStackJob(root, "notask")).toThrow(`  vertex-tuning:trainer.source: ${join(root, "other")} has no task.py: `);
    await expect(runStudy({ repoRoot: root, stack: "missing", output: { write: () => {}, tty: false } })).rejects.toThrow(
      `  vertex-tuning:trainer.source: ${join(root, "mytr")} does not exist: `,
    );
    expect(existsSync(join(root, ".tune", "state"))).toBe(false);
    expect(loadStackJob(root, "top").trialJobSpec?.workerPoolSpecs?.[0]?.containerSpec?.command).toEqual([".venv/bin/python", "-m", "trainer.task"]);
  });
});

describe("tune run's decoding of the stack file, as pulumi up's", () => {
  it("reads a quoted value as the engine hands it to the program: JSON text is what it spells", () => {
    const root = scratchRepo([]);
    const text = readFileSync(join(root, "Pulumi.t.yaml"), "utf8");
    writeFileSync(join(root, "Pulumi.quoted.yaml"), `${text}  vertex-tuning:wait: "false"\n  vertex-tuning:waitTimeoutMinutes: "30"\n  vertex-tuning:labels: '{"team": "a"}'\n`);
    expect(loadStackJob(root, "quoted").labels).toMatchObject({ team: "a", "tune-stack": "quoted" });
  });

  it("names a Pulumi secret (secure:), which only pulumi up decrypts, as one, with the file's other problems", () => {
    const root = scratchRepo([]);
    const text = readFileSync(join(root, "Pulumi.t.yaml"), "utf8");
    // As `pulumi config set --secret --path 'vertex-tuning:study.trial.env.WANDB_API_KEY' ...` writes it.
    writeFileSync(join(root, "Pulumi.secret.yaml"), text.replace("trial: { args: [] }", "trial: { args: [], env: { WANDB_API_KEY: { secure: AAABAJk2 } } }").replace("parallelTrials: 2", 'parallelTrials: "2"'));
    let message = "";
    try {
      loadStackJob(root, "secret");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("  vertex-tuning:study.trial.env.WANDB_API_KEY: is a Pulumi secret (secure:), which only pulumi up can decrypt");
    expect(message).not.toContain("got an object");
    expect(message).toContain('  vertex-tuning:study.parallelTrials: must be a number (got "2")');
  });

  it("names the file whose YAML does not parse, and a missing Pulumi.yaml", () => {
    const root = scratchRepo([]);
    writeFileSync(join(root, "Pulumi.broken.yaml"), "config:\n  vertex-tuning:study: { metric: [\n");
    expect(() => loadStackJob(root, "broken")).toThrow(`${join(root, "Pulumi.broken.yaml")} is not valid YAML: `);
    rmSync(join(root, "Pulumi.yaml"));
    expect(() => loadStackJob(root, "t")).toThrow(`no ${join(root, "Pulumi.yaml")}: run tune from a Pulumi project's folder`);
  });
});

describe("tune run's stack label", () => {
  it("takes any legal Pulumi stack name: the tune-stack label is a valid value made from it, unchanged for a name that is one already", () => {
    const root = scratchRepo([]);
    const stackFile = readFileSync(join(root, "Pulumi.t.yaml"), "utf8");
    const label = (stack: string) => {
      writeFileSync(join(root, `Pulumi.${stack}.yaml`), stackFile);
      return loadStackJob(root, stack).labels?.["tune-stack"];
    };
    // Names already valid as label values keep the value earlier runs gave their jobs.
    expect(label("t")).toBe("t");
    expect(label("my_stack-2")).toBe("my_stack-2");
    // Capitals and dots (legal in Pulumi stack names) are not legal in label values.
    expect(label("twoStops")).toBe("twostops");
    expect(label("dev.eu-West")).toBe("dev-eu-west");
    expect(label(`a${"B".repeat(80)}`)).toBe(`a${"b".repeat(62)}`);
  });

  it("leaves the label out of a job whose stack's labels take every place (62, as pulumi up takes them), rather than refuse the study", () => {
    const root = scratchRepo([]);
    const labels = (n: number) => Array.from({ length: n }, (_, i) => `    l${i}: v\n`).join("");
    const stackFile = readFileSync(join(root, "Pulumi.t.yaml"), "utf8");
    writeFileSync(join(root, "Pulumi.full.yaml"), `${stackFile}  vertex-tuning:labels:\n${labels(62)}`);
    writeFileSync(join(root, "Pulumi.room.yaml"), `${stackFile}  vertex-tuning:labels:\n${labels(61)}`);
    const full = loadStackJob(root, "full").labels ?? {};
    expect(Object.keys(full)).toHaveLength(62);
    expect(full["tune-stack"]).toBeUndefined();
    expect(loadStackJob(root, "room").labels?.["tune-stack"]).toBe("room");
  });
});

describe("tune run", () => {
  it("runs the stack's study with the Bayesian optimizer and writes result.json and a self-contained report.html", async () => {
    const root = scratchRepo(["--steps=3", "--sleep=0.02"]);
    const lines: string[] = [];
    const result = await runStudy({ repoRoot: root, stack: "t", maxTrials: 5, output: { write: (t) => void lines.push(t), tty: false } });
    expect(result.job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(result.job.trials).toHaveLength(5);
    expect(result.job.studySpec?.algorithm).toBe("ALGORITHM_UNSPECIFIED");
    expect(result.resultPath).toBe(join(root, ".tune", "out", "t", "result.json"));
    const saved = JSON.parse(readFileSync(result.resultPath, "utf8"));
    expect(saved.job.trials).toHaveLength(5);
    expect(saved.bestTrial.id).toBe(result.best!.id);
    expect(saved.bestTrial.metricValue).toBe(Math.max(...result.job.trials!.map((t) => t.finalMeasurement!.metrics![0].value!)));
    // One plain line per finished trial (not a TTY).
    expect(lines.filter((l) => /^trial \d+ SUCCEEDED accuracy=/.test(l))).toHaveLength(5);
    const html = readFileSync(result.reportPath, "utf8");
    expect(html).toContain("Optimization history");
    expect(html).toContain("x vs accuracy");
    expect(html).toContain("tau vs accuracy");
    expect(html.match(/<svg/g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|src=|href=|@import/);
    // The embedded server was closed: its lock is released.
    expect(existsSync(join(root, ".tune", "state", "lock"))).toBe(false);
  });

  it("writes the report as trials end, not only at the end: each trial line shown is in report.html already", async () => {
    const root = scratchRepo(["--steps=2", "--sleep=0.2"], 4);
    const reportPath = join(root, ".tune", "out", "t", "report.html");
    const seen: string[] = [];
    const output = {
      write: (text: string) => {
        const id = /^trial (\d+) /.exec(text)?.[1];
        if (id) seen.push(existsSync(reportPath) && new RegExp(`<tr[^>]*><td>${id}</td><td>SUCCEEDED</td>`).test(readFileSync(reportPath, "utf8")) ? id : `${id} missing`);
      },
      tty: false,
    };
    const result = await runStudy({ repoRoot: root, stack: "t", stateDir: join(root, "state"), output });
    expect(result.job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(seen.sort()).toEqual(["1", "2", "3", "4"]);
    // Written whole through a temporary file, which is gone.
    expect(readdirSync(join(root, ".tune", "out", "t")).sort()).toEqual(["report.html", "result.json"]);
  });

  it("never leaves an earlier run's result.json beside the report of the study it is running (a run killed outright)", async () => {
    const root = scratchRepo(["--steps=2", "--sleep=0.2"], 2);
    const state = join(root, "state");
    const first = await runStudy({ repoRoot: root, stack: "t", stateDir: state, output: { write: () => {}, tty: false } });
    // The second run's trial lines come after its report is rewritten: what result.json says then.
    const resultsSeen: string[] = [];
    const output = {
      write: (text: string) => {
        if (/^trial \d+ /.test(text)) resultsSeen.push(existsSync(first.resultPath) ? JSON.parse(readFileSync(first.resultPath, "utf8")).job.name : "none");
      },
      tty: false,
    };
    const second = await runStudy({ repoRoot: root, stack: "t", stateDir: state, output });
    expect(second.job.name).not.toBe(first.job.name);
    expect(resultsSeen).toEqual(["none", "none"]);
    expect(JSON.parse(readFileSync(second.resultPath, "utf8")).job.name).toBe(second.job.name);
  });

  it("polls for only what its progress shows (fields), and writes result.json and the report from the whole job", async () => {
    const root = scratchRepo(["--steps=3", "--sleep=0.02"], 3);
    // A rule that changes nothing: it counts the gets that carry a fields selector.
    const partial: FaultRule = { method: "GET", path: /\/hyperparameterTuningJobs\/\d+\?fields=/, times: 1_000 };
    const server = await startServer({ stateDir: join(root, "state"), repoRoot: root, faults: [partial] });
    try {
      const lines: string[] = [];
      const result = await runStudy({ repoRoot: root, stack: "t", stateDir: server.stateDir, output: { write: (t) => void lines.push(t), tty: false } });
      const polls = 1_000 - partial.times!;
      expect(polls).toBeGreaterThan(0);
      expect(server.requestLog.filter((r) => r.method === "GET" && /\/hyperparameterTuningJobs\/\d+$/.test(r.path))).toHaveLength(polls + 1);
      expect(lines.filter((l) => /^trial \d+ SUCCEEDED accuracy=\d/.test(l))).toHaveLength(3);
      const saved = JSON.parse(readFileSync(result.resultPath, "utf8"));
      expect(saved.job.trialJobSpec).toBeTruthy();
      // Measurements and start times: no poll asks for them.
      expect(saved.job.trials.map((t: { measurements?: unknown[]; startTime?: string }) => Boolean(t.measurements?.length && t.startTime))).toEqual([true, true, true]);
      expect(readFileSync(result.reportPath, "utf8")).toContain("<h1>cli-test</h1>");
    } finally {
      await server.close();
    }
  });

  it("refuses a stack file with problems, naming every one", async () => {
    const root = scratchRepo([]);
    writeFileSync(join(root, "Pulumi.bad.yaml"), "config:\n  vertex-tuning:study:\n    metric: { id: accuracy, goal: UP }\n    parameters: []\n    maxTrials: 0\n");
    await expect(runStudy({ repoRoot: root, stack: "bad", output: { write: () => {}, tty: false } })).rejects.toThrow(/study.maxTrials[\s\S]*study.metric.goal|study.metric.goal[\s\S]*study.maxTrials/);
  });

  it("shows why trials failed (their last stderr line) and the job's error, in the lines and the report", async () => {
    const root = scratchRepo(["--mode=crash"], 2);
    const lines: string[] = [];
    const result = await runStudy({ repoRoot: root, stack: "t", output: { write: (t) => void lines.push(t), tty: false } });
    expect(result.job.state).toBe("JOB_STATE_FAILED");
    const why = "the trial process exited with code 3; last lines of stderr: Traceback: ValueError: the trainer blew up on purpose";
    const trialLines = lines.filter((l) => l.startsWith("trial "));
    expect(trialLines, lines.join("")).toHaveLength(2);
    expect(trialLines.every((l) => l.includes(`INFEASIBLE (${why})`)), lines.join("")).toBe(true);
    const html = readFileSync(result.reportPath, "utf8");
    expect(html).toContain(`<td>${why}</td>`);
    expect(html).toMatch(/<pre class="error">[^<]*the trainer blew up on purpose[^<]*<\/pre>/);
  });

  it("refuses an output folder it cannot make before it runs anything", async () => {
    const root = scratchRepo([]);
    const state = join(root, "state");
    await expect(runStudy({ repoRoot: root, stack: "t", stateDir: state, outDir: join(root, "Pulumi.yaml", "out"), output: { write: () => {}, tty: false } })).rejects.toThrow(/ENOTDIR/);
    expect(existsSync(state)).toBe(false);
  });

  it("Ctrl-C cancels the job, waits for it to end and leaves no trial process behind", async () => {
    const { root, run, pids } = await startHangingRun();
    const { child, output, exited } = run;
    child.kill("SIGINT");
    const code = await exited;
    expect(output()).toContain("cancelling the job");
    expect(output()).toContain("ended JOB_STATE_CANCELLED");
    // As a command ended by SIGINT: not the 1 of a job that failed.
    expect(code).toBe(130);
    expect(pids.some(alive)).toBe(false);
    const saved = JSON.parse(readFileSync(join(root, ".tune", "out", "t", "result.json"), "utf8"));
    expect(saved.job.state).toBe("JOB_STATE_CANCELLED");
    expect(saved.job.trials.map((t: { state: string }) => t.state)).toEqual(["INFEASIBLE", "INFEASIBLE"]);
  });

  it("runs to its end and writes its result when the reader of its output goes away (tune run | head -1)", async () => {
    const root = scratchRepo(["--steps=2", "--sleep=0.1"], 4);
    const { child, exited } = startTune(root, ["run", "--stack", "t", "--state", join(root, "state")]);
    // Closed after the first line: the trial lines that follow are written to a pipe nobody reads.
    child.stdout!.once("data", () => child.stdout!.destroy());
    expect(await exited).toBe(0);
    const saved = JSON.parse(readFileSync(join(root, ".tune", "out", "t", "result.json"), "utf8"));
    expect(saved.job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(saved.job.trials).toHaveLength(4);
  });

  it("writes the best trial's parameters as its trial line does, not exactly under a rounded line", async () => {
    const root = scratchRepo(["--steps=1", "--sleep=0"]);
    // The first trial is the space's centre: x = 0.16665, more digits than a trial line shows.
    const file = join(root, "Pulumi.t.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("max: 0.9", "max: 0.2333"));
    const { output, exited } = startTune(root, ["run", "--stack", "t", "--max-trials", "1", "--state", join(root, "state")]);
    expect(await exited, output()).toBe(0);
    const trial = /^trial 1 SUCCEEDED accuracy=\S+ {2}(.*)$/m.exec(output())?.[1];
    expect(trial).toMatch(/^x=0\.1667 tau=\d$/);
    expect(output()).toMatch(/^best trial 1: accuracy \S+ {2}(.*)$/m);
    expect(/^best trial 1: accuracy \S+ {2}(.*)$/m.exec(output())![1]).toBe(trial);
  });

  it("names at its end the folders of the trials' model and logs, beside the result and the report", async () => {
    const root = scratchRepo(["--steps=1", "--sleep=0"]);
    const state = join(root, "state");
    const { output, exited } = startTune(root, ["run", "--stack", "t", "--max-trials", "1", "--state", state]);
    expect(await exited, output()).toBe(0);
    const [jobId] = readdirSync(join(state, "jobs"));
    const trials = join(state, "jobs", jobId, "trials");
    expect(output()).toMatch(new RegExp(`^best trial 1: .*\ntrial files: ${trials}/<trial id>/ \\(model/, stdout\\.log, stderr\\.log, trial\\.log\\)\nresult: `, "m"));
    expect(readdirSync(join(trials, "1"))).toEqual(expect.arrayContaining(["model", "stdout.log", "stderr.log", "trial.log"]));
  });

  it("takes a Ctrl-C delivered twice (tsx relays the terminal's to it, some 35 ms later) as one: the job is cancelled and the result written", async () => {
    const { root, run, pids } = await startHangingRun();
    const { child, output, exited } = run;
    child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 35));
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(output()).toContain("ended JOB_STATE_CANCELLED");
    expect(pids.some(alive)).toBe(false);
    expect(JSON.parse(readFileSync(join(root, ".tune", "out", "t", "result.json"), "utf8")).job.state).toBe("JOB_STATE_CANCELLED");
  });

  it("SIGTERM (kill, timeout, a cancelled CI job) cancels the job as Ctrl-C does: no trial runs on without a server", async () => {
    const { root, run, pids } = await startHangingRun();
    const { child, output, exited } = run;
    child.kill("SIGTERM");
    const code = await exited;
    expect(output()).toContain("ended JOB_STATE_CANCELLED");
    // As a command ended by SIGTERM.
    expect(code).toBe(143);
    expect(pids.some(alive)).toBe(false);
    const saved = JSON.parse(readFileSync(join(root, ".tune", "out", "t", "result.json"), "utf8"));
    expect(saved.job.state).toBe("JOB_STATE_CANCELLED");
  });
});

describe("tune run whose state folder is deleted while it runs (rm -rf .tune/state)", () => {
  it("fails, exit 1, naming the deleted folder, with no trial left running and nothing made there again", async () => {
    const root = scratchRepo(["--steps=8", "--sleep=0.25"], 4);
    const { state, output, exited } = startTuneRun(root);
    const seen = (id: string) => trialFile(state, id, "seen.json");
    expect(await eventually(() => existsSync(seen("1")) && existsSync(seen("2")), 20_000), output()).toBe(true);
    const pids = ["1", "2"].map((id) => JSON.parse(readFileSync(seen(id), "utf8")).pid as number);
    rmSync(state, { recursive: true, force: true });
    // It ran on: its job SUCCEEDED (exit 0), its later trials in a skeleton of the folder made again by job.log and trial starts.
    expect(await exited, output()).toBe(1);
    expect(output()).toContain(`tune: the state folder ${state} was deleted`);
    expect(output()).not.toContain("JOB_STATE_SUCCEEDED");
    expect(pids.some(alive)).toBe(false);
    expect(existsSync(state)).toBe(false);
  });
});

describe("tune run beside another run on the same state folder", () => {
  /**
   * Starts `tune run` (stack t, two one-step trials) and beside it, on its state folder, a study of
   * stack "long": t with the trainer arguments `trainerArgs` and `maxTrials` trials. Returns the
   * long study's job once the first run has exited 0.
   */
  async function studyBesideOwner(trainerArgs: string, maxTrials: number): Promise<VertexJob> {
    const root = scratchRepo(["--steps=1", "--sleep=0"], 2);
    const text = readFileSync(join(root, "Pulumi.t.yaml"), "utf8");
    writeFileSync(join(root, "Pulumi.long.yaml"), text.replace('"--steps=1","--sleep=0"', trainerArgs).replace("maxTrials: 2", `maxTrials: ${maxTrials}`));
    const first = startTuneRun(root);
    expect(await eventually(() => existsSync(join(first.state, "server.json")), 20_000), first.output()).toBe(true);
    const lines: string[] = [];
    const second = runStudy({ repoRoot: root, stack: "long", stateDir: first.state, output: { write: (t) => void lines.push(t), tty: false } });
    expect(await first.exited, first.output()).toBe(0);
    const result = await second;
    expect(result.job.state, lines.join("")).toBe("JOB_STATE_SUCCEEDED");
    return result.job;
  }

  it("finishes after the run that owned the folder's server has exited with its own job", async () => {
    const job = await studyBesideOwner('"--steps=3","--sleep=0.4"', 4);
    expect(job.trials!.filter((t) => t.state === "SUCCEEDED")).toHaveLength(4);
  });

  it("finishes when the owner's exit takes seconds, its server stopping trials that save before they end on SIGTERM", async () => {
    // --term=count: a trial that goes on after SIGTERM (as one saving a checkpoint does), until the grace period's SIGKILL.
    const job = await studyBesideOwner('"--steps=8","--sleep=0.4","--term=count"', 2);
    expect(job.trials!.filter((t) => t.state === "SUCCEEDED")).toHaveLength(2);
  }, 60_000);
});

describe("tune run interrupted", () => {
  it("a Ctrl-C that comes before the job exists cancels the job as soon as it is created", async () => {
    const root = scratchRepo(["--mode=hang"], 2);
    const lines: string[] = [];
    const running = runStudy({ repoRoot: root, stack: "t", output: { write: (t) => void lines.push(t), tty: false } });
    // Sent while the server is still starting: nothing has been created yet.
    process.emit("SIGINT");
    const result = await running;
    expect(lines.join("")).toContain("cancelling the job once it exists");
    expect(result.job.state).toBe("JOB_STATE_CANCELLED");
  });
});

describe("tune run after a run that was killed", () => {
  it("follows the study the killed run started instead of starting a second one", async () => {
    const root = scratchRepo(["--steps=3", "--sleep=0.2"], 4);
    const { state, child, output, exited } = startTuneRun(root);
    expect(await eventually(() => existsSync(trialFile(state, "1", "seen.json")), 20_000), output()).toBe(true);
    child.kill("SIGKILL");
    await exited;

    const lines: string[] = [];
    const result = await runStudy({ repoRoot: root, stack: "t", stateDir: state, output: { write: (t) => void lines.push(t), tty: false } });
    const [killedRunsJob] = readdirSync(join(state, "jobs"));
    expect(lines.join("")).toContain(`adopting projects/local/locations/us-central1/hyperparameterTuningJobs/${killedRunsJob} (JOB_STATE_RUNNING)`);
    expect(lines.join("")).not.toContain("created ");
    expect(readdirSync(join(state, "jobs"))).toEqual([killedRunsJob]);
    expect(result.job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(result.job.trials!.filter((t) => t.state === "SUCCEEDED")).toHaveLength(4);
  });

  it("runs a study that already finished again, as a new job", async () => {
    const root = scratchRepo(["--steps=1", "--sleep=0"], 2);
    const state = join(root, "state");
    const quiet = { write: () => {}, tty: false };
    const first = await runStudy({ repoRoot: root, stack: "t", stateDir: state, output: quiet });
    const second = await runStudy({ repoRoot: root, stack: "t", stateDir: state, output: quiet });
    expect(first.job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(second.job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(second.job.name).not.toBe(first.job.name);
  });
});

describe("tune cancel", () => {
  it("cancels a running tune run's job through the server that owns the state folder and ends its trials", async () => {
    const { root, run, jobId, pids } = await startHangingRun();
    const cancel = startTune(root, ["cancel", jobId, "--state", run.state]);
    expect(await cancel.exited, cancel.output()).toBe(0);
    expect(cancel.output()).toBe(`projects/local/locations/us-central1/hyperparameterTuningJobs/${jobId} cancelled\n`);
    expect(pids.some(alive)).toBe(false);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain("ended JOB_STATE_CANCELLED");
    const again = startTune(root, ["cancel", jobId, "--state", run.state]);
    expect(await again.exited, again.output()).toBe(0);
    expect(again.output()).toBe(`projects/local/locations/us-central1/hyperparameterTuningJobs/${jobId} had already ended JOB_STATE_CANCELLED\n`);
  });

  it("cancels the job of a run killed outright, ending its trials and starting none", async () => {
    const { root, run, jobId, pids } = await startHangingRun();
    run.child.kill("SIGKILL");
    await run.exited;
    // Its trials are their own process groups: they outlive it.
    expect(pids.every(alive)).toBe(true);

    const { job, wasRunning } = await cancelLocalJob({ repoRoot: root, stateDir: run.state, job: jobId });
    expect(wasRunning).toBe(true);
    expect(job.state).toBe("JOB_STATE_CANCELLED");
    expect(pids.some(alive)).toBe(false);
    // The two interrupted trials, and no rerun started by the cancel's own server.
    const [ended] = (await localStatus({ repoRoot: root, stateDir: run.state, job: jobId })).jobs;
    expect(ended!.trials!.map((t) => [t.id, t.state])).toEqual([["1", "INFEASIBLE"], ["2", "INFEASIBLE"]]);
  });

  it("exits quietly on a second Ctrl-C, and ends at once the job that left CANCELLING with its trials ended", async () => {
    // The trainer outlives SIGTERM for the grace period: the second Ctrl-C comes while the cancel waits for it.
    const root = scratchRepo(["--mode=hang", "--term=count"], 4);
    const run = startTuneRun(root);
    expect(await eventually(() => existsSync(trialFile(run.state, "1", "seen.json")) && existsSync(trialFile(run.state, "2", "seen.json")), 20_000), run.output()).toBe(true);
    const [jobId] = readdirSync(join(run.state, "jobs"));
    run.child.kill("SIGINT");
    expect(await eventually(() => readFileSync(join(run.state, "jobs", jobId, "job.log"), "utf8").includes("cancel requested"), 10_000)).toBe(true);
    // Sooner, it would be the first one delivered twice.
    await new Promise((r) => setTimeout(r, SAME_SIGNAL_MS));
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(130);
    // Its polls failing while its server closed were not reported as the run's error.
    expect(run.output()).not.toContain("tune: ");

    const started = Date.now();
    const { job } = await cancelLocalJob({ repoRoot: root, stateDir: run.state, job: jobId });
    expect(job.state).toBe("JOB_STATE_CANCELLED");
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it("names the job and the state folder when the job does not exist there, and makes no folder where there is none", async () => {
    const missing = join(tempDir(), "no-state");
    await expect(cancelLocalJob({ repoRoot: REPO_ROOT, stateDir: missing, job: "12" })).rejects.toThrow(`${missing} is not a local backend's state folder`);
    expect(existsSync(missing)).toBe(false);
    const state = tempDir();
    await startServer({ stateDir: state, repoRoot: REPO_ROOT }).then((s) => s.close());
    await expect(cancelLocalJob({ repoRoot: REPO_ROOT, stateDir: state, job: "12" })).rejects.toThrow(
      `projects/local/locations/us-central1/hyperparameterTuningJobs/12 does not exist on the local backend of ${state}`,
    );
    await expect(cancelLocalJob({ repoRoot: REPO_ROOT, stateDir: state, job: "latest" })).rejects.toThrow("the job must be a numeric id or a full name");
  });
});

describe("tune status", () => {
  it("lists the folder's jobs and shows one's trials and best trial, as tune run wrote them", async () => {
    const root = scratchRepo(["--steps=1", "--sleep=0"], 2);
    const state = join(root, "state");
    const lines: string[] = [];
    const result = await runStudy({ repoRoot: root, stack: "t", stateDir: state, output: { write: (t) => void lines.push(t), tty: false } });
    const id = result.job.name!.split("/").pop()!;
    const list = startTune(root, ["status", "--state", state]);
    expect(await list.exited, list.output()).toBe(0);
    expect(list.output()).toMatch(new RegExp(`^${id}  JOB_STATE_SUCCEEDED  cli-test  \\(stack t\\)  created \\S+\n$`));
    const one = startTune(root, ["status", id, "--state", state]);
    expect(await one.exited, one.output()).toBe(0);
    const trialLines = lines.filter((l) => l.startsWith("trial ")).join("");
    const trials = join(state, "jobs", id, "trials");
    expect(one.output()).toBe(
      `${result.job.name} JOB_STATE_SUCCEEDED (cli-test): 2 of 2 trials ended, 0 running\n${trialLines}${bestLine(result.best!, "accuracy")}\n` +
        `trial files: ${trials}/<trial id>/ (model/, stdout.log, stderr.log, trial.log)\n`,
    );
    expect(existsSync(join(trials, result.best!.id, "stdout.log"))).toBe(true);
  });

  it("lists no jobs in a folder no tune run has made yet (a fresh clone's), and makes none; a job asked for there is refused", async () => {
    const missing = join(tempDir(), "no-state");
    const list = startTune(REPO_ROOT, ["status", "--state", missing]);
    expect(await list.exited, list.output()).toBe(0);
    expect(list.output()).toBe(`no jobs of tune run in ${missing}\n`);
    const one = startTune(REPO_ROOT, ["status", "12", "--state", missing]);
    expect(await one.exited).toBe(1);
    expect(one.output()).toContain(`${missing} is not a local backend's state folder`);
    expect(existsSync(missing)).toBe(false);
  });

  it("refuses a folder that is there but is no state folder (the state folder's parent, say): its user's jobs are not gone, as 'no jobs' would say", async () => {
    const parent = tempDir();
    await startServer({ stateDir: join(parent, "state"), repoRoot: REPO_ROOT }).then((s) => s.close());
    const list = startTune(REPO_ROOT, ["status", "--state", parent]);
    expect(await list.exited, list.output()).toBe(1);
    expect(list.output()).toContain(`${parent} is not a local backend's state folder`);
  });

  it("refuses, as cancel and serve do, to run outside a Pulumi project's folder, leaving a state folder there to its repository", async () => {
    const root = scratchRepo([]);
    // The trainer's own folder, say, holding the state folder of the repository's runs.
    const outside = tempDir("tune-outside-");
    const state = join(outside, "state");
    await startServer({ stateDir: state, repoRoot: root }).then((s) => s.close());
    const claim = readFileSync(join(state, "repository"), "utf8");
    for (const args of [["status"], ["cancel", "1"], ["serve"]]) {
      const call = startTune(outside, [...args, "--state", state]);
      // A serve that was not refused runs until it is stopped.
      const stopped = setTimeout(() => call.child.kill("SIGINT"), 10_000);
      expect(await call.exited, args[0]).toBe(1);
      clearTimeout(stopped);
      expect(call.output()).toBe(`tune: no ${join(outside, "Pulumi.yaml")}: run tune from a Pulumi project's folder\n`);
    }
    expect(readFileSync(join(state, "repository"), "utf8")).toBe(claim);
  });

  it("shows a running job from another terminal, and says when nothing runs it after its run was killed, leaving its trials running", async () => {
    const { root, run, jobId, pids } = await startHangingRun();
    const name = `projects/local/locations/us-central1/hyperparameterTuningJobs/${jobId}`;
    const live = startTune(root, ["status", jobId, "--state", run.state]);
    expect(await live.exited, live.output()).toBe(0);
    expect(live.output()).toBe(
      `${name} JOB_STATE_RUNNING (cli-test): 0 of 4 trials ended, 2 running\ntrial files: ${join(run.state, "jobs", jobId, "trials")}/<trial id>/ (model/, stdout.log, stderr.log, trial.log)\n`,
    );

    run.child.kill("SIGKILL");
    await run.exited;
    const orphaned = startTune(root, ["status", "--state", run.state]);
    expect(await orphaned.exited, orphaned.output()).toBe(0);
    expect(orphaned.output()).toContain(`${jobId}  JOB_STATE_RUNNING  cli-test`);
    expect(orphaned.output()).toContain(`no tune run or tune serve runs ${run.state} now: its unfinished jobs wait for the next one, which resumes them`);
    // Looking started and ended no trial.
    expect(pids.every(alive)).toBe(true);
    expect(readdirSync(join(run.state, "jobs", jobId, "trials")).sort()).toEqual(["1", "2"]);
    await cancelLocalJob({ repoRoot: root, stateDir: run.state, job: jobId });
  });

  it("counts a STOPPING trial (early stopping asked it to end, its process has not yet) as running", () => {
    const job = { name: "j", state: "JOB_STATE_RUNNING", displayName: "d", maxTrialCount: 3, trials: [{ id: "1", state: "STOPPING" }, { id: "2", state: "ACTIVE" }] };
    expect(statusText({ jobs: [job], idle: false }, "state", true).split("\n")[0]).toBe("j JOB_STATE_RUNNING (d): 0 of 3 trials ended, 2 running");
  });

  it("counts toward the trial count no trial a restart interrupted (its rerun is counted), as tune run's bar", () => {
    const job = {
      name: "j",
      state: "JOB_STATE_SUCCEEDED",
      displayName: "d",
      maxTrialCount: 2,
      trials: [
        { id: "1", state: "INFEASIBLE", infeasibleReason: INTERRUPTED_REASON },
        { id: "2", state: "INFEASIBLE", infeasibleReason: "boom" },
        { id: "3", state: "INFEASIBLE", infeasibleReason: "boom" },
      ],
    };
    expect(statusText({ jobs: [job], idle: false }, "state", true).split("\n")[0]).toBe("j JOB_STATE_SUCCEEDED (d): 2 of 2 trials ended, 0 running");
  });

  it("prints a job's display name, metric id and CATEGORICAL values with their control characters escaped, other characters as they are", () => {
    // An escape sequence that clears the screen, and a \r and \n that would forge a trial line.
    const metricId = "acc\x1b[8m";
    const job = {
      name: "projects/local/locations/us-central1/hyperparameterTuningJobs/7",
      state: "JOB_STATE_SUCCEEDED",
      displayName: "naïve 名前\x1b[2J\rtrial 9 SUCCEEDED\n\x9b",
      createTime: "t",
      maxTrialCount: 1,
      studySpec: { metrics: [{ metricId, goal: "MAXIMIZE" }] },
      trials: [{ id: "1", state: "SUCCEEDED", parameters: [{ parameterId: "opt", value: "adam\r\x1b[1A" }], finalMeasurement: { metrics: [{ metricId, value: 0.5 }] } }],
    };
    const name = "naïve 名前\\u001b[2J\\u000dtrial 9 SUCCEEDED\\u000a\\u009b";
    expect(statusText({ jobs: [job], idle: false }, "state", false)).toBe(`7  JOB_STATE_SUCCEEDED  ${name}  created t\n`);
    expect(statusText({ jobs: [job], idle: false }, "state", true)).toBe(
      `${job.name} JOB_STATE_SUCCEEDED (${name}): 1 of 1 trials ended, 0 running\n` +
        "trial 1 SUCCEEDED acc\\u001b[8m=0.5000  opt=adam\\u000d\\u001b[1A\n" +
        "best trial 1: acc\\u001b[8m 0.5000  opt=adam\\u000d\\u001b[1A\n" +
        "trial files: state/jobs/7/trials/<trial id>/ (model/, stdout.log, stderr.log, trial.log)\n",
    );
    let screen = "";
    createProgress({ write: (t) => void (screen += t), tty: true, columns: 200 }).update(job);
    // Only the bar's own redraw (\r, erase the line) and the line ends are left.
    expect(screen.replaceAll("\r\x1b[K", "").replaceAll("\n", "")).not.toMatch(/\p{Cc}/u);
    expect(screen).toContain("best acc\\u001b[8m 0.5000 (trial 1)");
  });

  it("names the models' folder under the job's baseOutputDirectory, where such a job's trials write them, apart from their logs", () => {
    // A job created through the API may set it; its trials then get AIP_MODEL_DIR there.
    const job = {
      name: "projects/local/locations/us-central1/hyperparameterTuningJobs/8",
      state: "JOB_STATE_SUCCEEDED",
      maxTrialCount: 1,
      trialJobSpec: { baseOutputDirectory: { outputUriPrefix: "gs://b/runs/" } },
      trials: [],
    };
    expect(statusText({ jobs: [job], idle: false }, "state", true).split("\n")).toContain(
      "trial files: state/jobs/8/trials/<trial id>/ (stdout.log, stderr.log, trial.log); models: state/gcs/b/runs/<trial id>/model/",
    );
  });
});

describe("progress", () => {
  const job = (states: string[]) => ({
    maxTrialCount: 4,
    studySpec: { metrics: [{ metricId: "accuracy", goal: "MAXIMIZE" }] },
    trials: states.map((state, i) => ({
      id: String(i + 1),
      state,
      parameters: [{ parameterId: "x", value: 0.123456 }],
      ...(state === "SUCCEEDED" ? { finalMeasurement: { stepCount: "3", metrics: [{ metricId: "accuracy", value: 0.5 + i / 10 }] } } : {}),
      ...(state === "INFEASIBLE" ? { infeasibleReason: "the trial process exited with code 3; last lines of stderr:\nboom" } : {}),
    })),
  });

  it("prints one line per finished trial, once, without a TTY", () => {
    const text: string[] = [];
    const progress = createProgress({ write: (t) => void text.push(t), tty: false });
    progress.update(job(["SUCCEEDED", "ACTIVE"]));
    progress.update(job(["SUCCEEDED", "INFEASIBLE", "ACTIVE"]));
    progress.finish();
    expect(text).toEqual([
      "trial 1 SUCCEEDED accuracy=0.5000  x=0.1235\n",
      "trial 2 INFEASIBLE (the trial process exited with code 3; last lines of stderr: boom)  x=0.1235\n",
    ]);
  });

  it("shows metric values to four significant digits, so a small loss is not 0.0000", () => {
    expect([0.000123456, 0.96223, 1234.5678, 0.99996, 0.5, 12345.6, -99999].map(formatMetric)).toEqual(["0.0001235", "0.9622", "1235", "1.000", "0.5000", "12346", "-99999"]);
  });

  it("shows a parameter's value to four significant digits, and an integer of 10,000 or more whole, not as one never tried", () => {
    const trial = { id: "1", state: "SUCCEEDED", parameters: [{ parameterId: "steps", value: 12345 }, { parameterId: "units", value: 256 }, { parameterId: "lr", value: 0.000123456 }, { parameterId: "opt", value: "adam" }] };
    expect(trialLine(trial, "loss")).toBe("trial 1 SUCCEEDED loss=?  steps=12345 units=256 lr=0.0001235 opt=adam");
  });

  it("drops the control characters of a trainer's stderr (colours, a progress bar's \\r) from the trial line and the report", () => {
    const reason = "the trial process exited with code 1; last lines of stderr:\n 10%|#  |\r 20%|## |\r\n\x1b[31mValueError\x1b[0m: bad\tinput\r\n";
    const trial = { id: "1", state: "INFEASIBLE", infeasibleReason: reason, parameters: [] };
    const line = "the trial process exited with code 1; last lines of stderr: ValueError: bad input";
    expect(trialLine(trial, "loss")).toBe(`trial 1 INFEASIBLE (${line})  `);
    const html = renderReport({ state: "JOB_STATE_FAILED", error: { message: `1 trials failed: trial 1: ${reason}` }, studySpec: { metrics: [{ metricId: "loss", goal: "MINIMIZE" }] }, trials: [trial] });
    expect(html).toContain(`<td>${line}</td>`);
    expect(html).toMatch(/\n 20%\|## \|\nValueError: bad input\s*<\/pre>/);
    expect(html).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  it("redraws a bar with trials done/total and the best so far on a TTY", () => {
    let screen = "";
    const progress = createProgress({ write: (t) => void (screen += t), tty: true, columns: 80 });
    progress.update(job(["SUCCEEDED", "SUCCEEDED", "ACTIVE"]));
    expect(screen).toContain("2/4 trials · 1 running · best accuracy 0.6000 (trial 2)");
    progress.finish();
    expect(screen.endsWith("\r\x1b[K")).toBe(true);
  });

  it("shows and reports the same from a poll's partial job (POLL_FIELDS) as from the whole job, and so does the provider's reporter", () => {
    const whole = {
      name: "projects/local/locations/us-central1/hyperparameterTuningJobs/1",
      state: "JOB_STATE_RUNNING",
      displayName: "d",
      createTime: "2026-01-01T00:00:00Z",
      maxTrialCount: 6,
      studySpec: { metrics: [{ metricId: "accuracy", goal: "MINIMIZE" }], parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 0, maxValue: 1 } }] },
      trials: [
        { id: "1", state: "SUCCEEDED", parameters: [{ parameterId: "x", value: 0.5 }], startTime: "2026-01-01T00:00:01Z", endTime: "2026-01-01T00:00:09Z", measurements: [{ stepCount: "1", metrics: [{ metricId: "accuracy", value: 0.3 }] }], finalMeasurement: { stepCount: "1", metrics: [{ metricId: "accuracy", value: 0.3 }] } },
        // Ties with trial 1 and ended earlier: the best, by endTime.
        { id: "2", state: "SUCCEEDED", earlyStopped: true, parameters: [{ parameterId: "x", value: 0.25 }], endTime: "2026-01-01T00:00:05Z", finalMeasurement: { stepCount: "1", metrics: [{ metricId: "accuracy", value: 0.3 }] } },
        // Better if the goal were not read (MAXIMIZE is the default).
        { id: "6", state: "SUCCEEDED", parameters: [{ parameterId: "x", value: 0.8 }], endTime: "2026-01-01T00:00:02Z", finalMeasurement: { stepCount: "1", metrics: [{ metricId: "accuracy", value: 0.9 }] } },
        { id: "3", state: "INFEASIBLE", infeasibleReason: INTERRUPTED_REASON, parameters: [{ parameterId: "x", value: 0.75 }] },
        { id: "4", state: "INFEASIBLE", infeasibleReason: "the trial process exited with code 3; last lines of stderr:\nboom", parameters: [{ parameterId: "x", value: 0.1 }] },
        { id: "5", state: "ACTIVE", parameters: [{ parameterId: "x", value: 0.9 }] },
      ],
    };
    /** The job as the local backend answers a get with this `fields` selector. */
    const partial = (fields: string) => selectFields(whole, requestedFields(new URLSearchParams({ fields }), "HyperparameterTuningJob")) as typeof whole;
    const polled = partial(POLL_FIELDS);
    expect(JSON.stringify(polled).length).toBeLessThan(JSON.stringify(whole).length);
    const shown = (job: typeof whole) => {
      let screen = "";
      createProgress({ write: (t) => void (screen += t), tty: true, columns: 120 }).update(job);
      return screen;
    };
    expect(shown(polled)).toBe(shown(whole));
    expect(shown(whole)).toContain("trial 2 SUCCEEDED accuracy=0.3000 (stopped early)");
    expect(shown(whole)).toContain("4/6 trials · 1 running · best accuracy 0.3000 (trial 2)");
    // The report is rewritten from the polls as trials end.
    expect(renderReport(polled)).toBe(renderReport(whole));
    expect(renderReport(whole)).toContain("<h1>d</h1>");
    // The provider's poll asks Vertex AI too: no field of the local backend's own.
    expect(PROVIDER_FIELDS).not.toContain("earlyStopped");
    const reported = (job: typeof whole) => {
      const lines: string[] = [];
      progressReporter((l) => lines.push(l))(job);
      return lines;
    };
    expect(reported(partial(PROVIDER_FIELDS))).toEqual(reported(whole));
    // Trial 3, interrupted by a restart, is counted in its rerun, as tune run and tune status count.
    expect(reported(whole)).toEqual([`${whole.name}: JOB_STATE_RUNNING, 4/6 trials finished, best accuracy 0.3 (trial 2)`]);
  });

  it("counts a STOPPING trial (early stopping asked it to end, its process has not yet) as running", () => {
    let screen = "";
    const progress = createProgress({ write: (t) => void (screen += t), tty: true, columns: 80 });
    progress.update(job(["SUCCEEDED", "STOPPING", "ACTIVE"]));
    expect(screen).toContain("1/4 trials · 2 running");
  });

  it("keeps the bar within a narrow terminal, where a wrapped bar would leave a row behind at each redraw", () => {
    let screen = "";
    const progress = createProgress({ write: (t) => void (screen += t), tty: true, columns: 60 });
    progress.update(job(["SUCCEEDED", "SUCCEEDED", "ACTIVE"]));
    const bar = screen.split("\r\x1b[K").pop()!;
    expect(bar).toMatch(/^\[#+-*\] 2\/4 trials/);
    expect(bar.length).toBeLessThan(60);
  });
});

describe("report", () => {
  /** The x axis's tick labels of one plot. */
  const tickLabels = (svg: string) => [...svg.matchAll(/text-anchor="middle">([^<]*)</g)].map((m) => m[1]!);

  it("labels an axis's ticks apart when the values differ only in the fourth digit (a converged study's accuracies)", () => {
    const html = renderReport({
      studySpec: { metrics: [{ metricId: "accuracy", goal: "MAXIMIZE" }], parameters: [{ parameterId: "steps", doubleValueSpec: { minValue: 10000, maxValue: 10010 } }] },
      trials: [0.975, 0.9778, 0.975].map((value, i) => ({
        id: String(i + 1),
        state: "SUCCEEDED",
        parameters: [{ parameterId: "steps", value: 10000 + i }],
        finalMeasurement: { metrics: [{ metricId: "accuracy", value }] },
      })),
    });
    const [history, steps] = html.match(/<svg.*?<\/svg>/gs)!;
    const yLabels = [...history!.matchAll(/text-anchor="end">([^<]*)</g)].map((m) => m[1]);
    expect(yLabels.length).toBeGreaterThanOrEqual(3);
    expect(new Set(yLabels).size).toBe(yLabels.length);
    const xLabels = tickLabels(steps!);
    expect(xLabels.length).toBeGreaterThanOrEqual(3);
    expect(new Set(xLabels).size).toBe(xLabels.length);
  });

  it("puts an INTEGER parameter's ticks at whole numbers only", () => {
    const html = renderReport({
      studySpec: { metrics: [{ metricId: "loss", goal: "MINIMIZE" }], parameters: [{ parameterId: "depth", integerValueSpec: { minValue: "2", maxValue: "5" } }] },
      trials: [[1.2, 3], [0.8, 4], [1.5, 5]].map(([value, depth], i) => ({
        id: String(i + 1),
        state: "SUCCEEDED",
        parameters: [{ parameterId: "depth", value: depth }],
        finalMeasurement: { metrics: [{ metricId: "loss", value }] },
      })),
    });
    const [, depth] = html.match(/<svg.*?<\/svg>/gs)!;
    const labels = tickLabels(depth!);
    expect(labels.length).toBeGreaterThanOrEqual(2);
    expect(labels.every((l) => Number.isInteger(Number(l))), labels.join(" ")).toBe(true);
  });

  it("puts ticks at round numbers: 1, 2 or 5 times a power of ten apart on a linear axis, and such values on a log axis", () => {
    const html = renderReport({
      studySpec: {
        metrics: [{ metricId: "accuracy", goal: "MAXIMIZE" }],
        parameters: [
          { parameterId: "learning_rate", doubleValueSpec: { minValue: 1e-4, maxValue: 0.1 }, scaleType: "UNIT_LOG_SCALE" },
          { parameterId: "dropout", doubleValueSpec: { minValue: 0, maxValue: 0.5 } },
        ],
      },
      trials: [[0.9412, 1.3e-4, 0.013], [0.9563, 0.07, 0.41], [0.9501, 3.1e-3, 0.27]].map(([value, lr, dropout], i) => ({
        id: String(i + 1),
        state: "SUCCEEDED",
        parameters: [{ parameterId: "learning_rate", value: lr }, { parameterId: "dropout", value: dropout }],
        finalMeasurement: { metrics: [{ metricId: "accuracy", value }] },
      })),
    });
    const [history, learningRate, dropout] = html.match(/<svg.*?<\/svg>/gs)!;
    const round = (v: number) => [1, 2, 5].some((m) => Math.abs(v / 10 ** Math.floor(Math.log10(v)) - m) < 1e-9);
    const evenlyRound = (labels: string[]) => {
      const values = labels.map(Number);
      const step = values[1]! - values[0]!;
      expect(round(step)).toBe(true);
      values.forEach((v, i) => expect(v).toBeCloseTo(values[0]! + i * step, 12));
      values.forEach((v) => expect(Math.abs(v / step - Math.round(v / step))).toBeLessThan(1e-9));
    };
    const yLabels = [...history!.matchAll(/text-anchor="end">([^<]*)</g)].map((m) => m[1]!);
    expect(yLabels.length).toBeGreaterThanOrEqual(3);
    evenlyRound(yLabels);
    evenlyRound(tickLabels(dropout!));
    const lrLabels = tickLabels(learningRate!);
    expect(lrLabels.length).toBeGreaterThanOrEqual(3);
    expect(lrLabels.every((l) => round(Number(l)))).toBe(true);
    expect(lrLabels).toContain("0.001");
  });
});
