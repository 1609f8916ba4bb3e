/**
 * Trials as real processes of a small test trainer: success, crash, timeout, no metric, NaN,
 * a missing command, failure budget, parallelism, process groups, measurement selection.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { localTrainerCommand, type VertexJob } from "../../components/spec";
import { localBackendIssues } from "../../components/spec/localRules";
import { isCredentialVariable, trialCommand } from "../../local/command";
import { EXIT_STATUS_FILE, STOP_REASON_FILE, TrialProcess, type TrialExit, type TrialHooks } from "../../local/runner";
import type { Measurement } from "../../local/metrics";
import { failureBudget, studySeed } from "../../local/scheduler";
import { suggest, type Suggest, type SuggestRequest } from "../../optimizer";
import { startServer, type LocalServer } from "../../local/server";
import { alive, client, eventually, maxOverlap, REPO_ROOT, tempDir, testJob } from "./helpers";

/**
 * Starts `script` under /bin/sh as a trial whose folder and working directory are `dir` (timeout
 * 60 s, looked at every 50 ms); `exit` resolves with its end. `path` replaces the command's PATH.
 */
function startTrial(dir: string, script: string, options: { path?: string; onMeasurements?: TrialHooks["onMeasurements"] } = {}): { trial: TrialProcess; exit: Promise<TrialExit> } {
  const env = { PATH: options.path ?? process.env.PATH ?? "", AIP_MODEL_DIR: join(dir, "model") };
  const command = { argv: ["/bin/sh", "-c", script], env, withheld: [], metricsFile: join(dir, "metrics.jsonl") };
  let exited!: (exit: TrialExit) => void;
  const exit = new Promise<TrialExit>((resolve) => (exited = resolve));
  const trial = new TrialProcess(dir, command, "accuracy", 60_000, { onMeasurements: options.onMeasurements ?? (() => undefined), onExit: exited }, { pollMs: 50, graceMs: 300 });
  trial.start(dir);
  return { trial, exit };
}

let server: LocalServer;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  server = await startServer({ stateDir: tempDir(), repoRoot: REPO_ROOT, pollMs: 50, graceMs: 300, cores: 4 });
  api = client(server);
});
afterAll(() => server.close());

async function run(job: VertexJob): Promise<VertexJob & { id: string }> {
  const created = await api.create(job);
  expect(created.status).toBe(200);
  const id = created.body.name.split("/").pop() as string;
  return { ...(await api.waitFor(id)), id };
}

function trialDir(jobId: string, trialId: string): string {
  return join(server.stateDir, "jobs", jobId, "trials", trialId);
}

describe("a successful study", () => {
  it("runs every trial with its flags and environment, records measurements, never more than parallel at once", async () => {
    const log = join(tempDir(), "overlap.log");
    const job = await run(
      testJob([`--log=${log}`, "--steps=3", "--sleep=0.1"], {
        maxTrialCount: 5,
        parallelTrialCount: 2,
        trialJobSpec: {
          ...testJob([]).trialJobSpec,
          baseOutputDirectory: { outputUriPrefix: "gs://bucket/study/" },
          workerPoolSpecs: [
            {
              ...testJob([]).trialJobSpec!.workerPoolSpecs![0],
              containerSpec: { imageUri: "local/test", command: ["python3", "test/local/trainers/trial.py"], args: [`--log=${log}`, "--steps=3", "--sleep=0.1"], env: [{ name: "TEST_GREETING", value: "hi" }] },
            },
          ],
          scheduling: { strategy: "SPOT" },
        },
      }),
    );
    expect(job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(job.trials).toHaveLength(5);
    expect(job.trials!.map((t) => t.id)).toEqual(["1", "2", "3", "4", "5"]);
    expect(maxOverlap(log)).toBeLessThanOrEqual(2);
    expect(maxOverlap(log)).toBe(2);
    for (const trial of job.trials!) {
      expect(trial.state).toBe("SUCCEEDED");
      expect(trial.measurements).toHaveLength(3);
      expect(trial.measurements!.map((m) => m.stepCount)).toEqual(["1", "2", "3"]);
      expect(trial.measurements![0].elapsedDuration).toMatch(/^\d+(\.\d+)?s$/);
      const x = trial.parameters![0].value as number;
      expect(trial.finalMeasurement!.metrics![0]).toMatchObject({ metricId: "accuracy" });
      // Unspecified selection means LAST: the largest value on this rising curve.
      expect(trial.finalMeasurement!.metrics![0].value).toBeCloseTo(x * (1 - Math.exp(-3)), 6);
      const seen = JSON.parse(readFileSync(join(trialDir(job.id, trial.id!), "seen.json"), "utf8"));
      expect(seen.argv).toEqual([`--log=${log}`, "--steps=3", "--sleep=0.1", `--x=${x}`]);
      expect(seen.cwd).toBe(REPO_ROOT);
      expect(seen.env).toMatchObject({
        CLOUD_ML_TRIAL_ID: trial.id,
        CLOUD_ML_JOB_ID: job.id,
        CLOUD_ML_HP_METRIC_FILE: join(trialDir(job.id, trial.id!), "output.metrics"),
        AIP_MODEL_DIR: `${join(server.stateDir, "gcs", "bucket", "study", trial.id!, "model")}/`,
        OMP_NUM_THREADS: "2",
        TF_NUM_INTRAOP_THREADS: "2",
        TF_NUM_INTEROP_THREADS: "2",
        TEST_GREETING: "hi",
      });
      expect(existsSync(seen.env.AIP_MODEL_DIR)).toBe(true);
      expect(readFileSync(join(trialDir(job.id, trial.id!), "stdout.log"), "utf8")).toContain("step 3 accuracy=");
    }
    const jobLog = readFileSync(join(server.stateDir, "jobs", job.id, "job.log"), "utf8");
    expect(jobLog).toContain("accepted, not used locally: machineType n1-standard-4");
    expect(jobLog).toContain("scheduling strategy SPOT");
  });

  it("passes a trial the server's environment without its credentials, naming (not showing) those it withheld; the study's own env is passed", async () => {
    vi.stubEnv("TEST_SECRET_TOKEN", "hunter2");
    vi.stubEnv("TEST_PLAIN", "visible");
    try {
      const args = ["--steps=1"];
      const base = testJob(args, { maxTrialCount: 1 });
      const pool = base.trialJobSpec!.workerPoolSpecs![0];
      const job = await run({
        ...base,
        trialJobSpec: { ...base.trialJobSpec, workerPoolSpecs: [{ ...pool, containerSpec: { ...pool.containerSpec, env: [{ name: "TEST_API_KEY", value: "given" }] } }] },
      });
      expect(job.state).toBe("JOB_STATE_SUCCEEDED");
      const dir = trialDir(job.id, "1");
      const seen = JSON.parse(readFileSync(join(dir, "seen.json"), "utf8"));
      expect(seen.env.TEST_PLAIN).toBe("visible");
      expect(seen.env.TEST_API_KEY).toBe("given");
      expect(seen.env).not.toHaveProperty("TEST_SECRET_TOKEN");
      const trialLog = readFileSync(join(dir, "trial.log"), "utf8");
      expect(trialLog).toMatch(/not passed from the server's environment \(credentials; .*\): .*TEST_SECRET_TOKEN/);
      expect(trialLog).not.toContain("hunter2");
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("ends, once a trial has ended, a process it started outside its process group (setsid, a daemon), as a container's end would", async () => {
    const job = await run(testJob(["--steps=1", "--child=session"], { maxTrialCount: 1 }));
    expect(job.trials![0].state).toBe("SUCCEEDED");
    const seen = JSON.parse(readFileSync(join(trialDir(job.id, "1"), "seen.json"), "utf8"));
    expect(await eventually(() => !alive(seen.child))).toBe(true);
  });

  it("ends a process a trial started outside its process group also when the trial's folder is under a path that is not ASCII (/home/josé)", async () => {
    const dir = tempDir("trial-josé-");
    const metricsFile = join(dir, "metrics.jsonl");
    // The marker as the server sets it, and a daemon in a session of its own, which `setsid`
    // (not a group leader in a shell without job control) becomes without forking: $! is its pid.
    const { exit } = startTrial(dir, `export CLOUD_ML_HP_METRIC_FILE='${metricsFile}'; setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $! > "${join(dir, "daemon.pid")}"`);
    expect(await exit).toMatchObject({ code: 0 });
    const daemon = Number(readFileSync(join(dir, "daemon.pid"), "utf8"));
    try {
      expect(await eventually(() => !alive(daemon), 2000)).toBe(true);
    } finally {
      if (alive(daemon)) process.kill(daemon, "SIGKILL");
    }
  });

  it("takes the best measurement with BEST_MEASUREMENT and the last one otherwise", async () => {
    // A falling curve under MAXIMIZE: the best measurement is the first.
    const args = ["--steps=3", "--x=-1"];
    const best = await run(testJob(args, { maxTrialCount: 1 }, { measurementSelectionType: "BEST_MEASUREMENT", parameters: [{ parameterId: "tau", discreteValueSpec: { values: [1] } }] }));
    expect(best.trials![0].finalMeasurement!.stepCount).toBe("1");
    const last = await run(testJob(args, { maxTrialCount: 1 }, { measurementSelectionType: "LAST_MEASUREMENT", parameters: [{ parameterId: "tau", discreteValueSpec: { values: [1] } }] }));
    expect(last.trials![0].finalMeasurement!.stepCount).toBe("3");
  });
});

describe("failing trials", () => {
  it("ends a crash INFEASIBLE with its exit code and the last lines of stderr, and the job FAILED with the reasons; job.log names the exception", async () => {
    const job = await run(testJob(["--mode=crash"], { maxTrialCount: 3, maxFailedTrialCount: 2 }));
    expect(job.state).toBe("JOB_STATE_FAILED");
    expect(job.trials).toHaveLength(2);
    for (const t of job.trials!) {
      expect(t.state).toBe("INFEASIBLE");
      expect(t.infeasibleReason).toContain("exited with code 3");
      expect(t.infeasibleReason).toContain("the trainer blew up on purpose");
    }
    expect(job.error!.message).toContain("2 trials failed (the limit is 2)");
    expect(job.error!.message).toContain("blew up on purpose");
    // job.log's line for each ends with the exception, not with the reason's lead-in alone.
    const jobLog = readFileSync(join(server.stateDir, "jobs", job.id, "job.log"), "utf8");
    expect(jobLog).toMatch(/trial 1 ended failed: the trial process exited with code 3; last lines of stderr: .*the trainer blew up on purpose\n/);
  });

  it("ends a trial that runs past scheduling.timeout INFEASIBLE, with one SIGTERM, then its whole process group killed", async () => {
    // The trainer keeps running through SIGTERM (as one saving a checkpoint would): SIGKILL ends it after the grace period.
    const args = ["--mode=hang", "--child=1", "--term=count"];
    const job = await run(testJob(args, { maxTrialCount: 1, maxFailedTrialCount: 1, trialJobSpec: { ...testJob([]).trialJobSpec, workerPoolSpecs: [{ ...testJob([]).trialJobSpec!.workerPoolSpecs![0], containerSpec: { imageUri: "x", command: ["python3", "test/local/trainers/trial.py"], args } }], scheduling: { timeout: "1s" } } }));
    expect(job.state).toBe("JOB_STATE_FAILED");
    expect(job.trials![0]).toMatchObject({ state: "INFEASIBLE", infeasibleReason: expect.stringContaining("timed out after 1s") });
    // The field the user wrote: the study's (tune run, the component), not only Vertex's.
    expect(job.trials![0].infeasibleReason).toContain("trial.timeoutSeconds");
    const seen = JSON.parse(readFileSync(join(trialDir(job.id, "1"), "seen.json"), "utf8"));
    expect(await eventually(() => !alive(seen.child))).toBe(true);
    // Six polls fit in the grace period; the trainer was asked to stop once.
    expect(readFileSync(join(trialDir(job.id, "1"), "terms.log"), "utf8")).toBe("SIGTERM\n");
  });

  it("survives a trainer that deletes its own trial folder, as it exits and as it is stopped (its trial fails, the server goes on)", async () => {
    // The folder of the metrics file: the parent of AIP_MODEL_DIR and AIP_CHECKPOINT_DIR too, which a trainer's clean-up may take.
    const command = (script: string) => ({ ...testJob([]).trialJobSpec, workerPoolSpecs: [{ ...testJob([]).trialJobSpec!.workerPoolSpecs![0], containerSpec: { imageUri: "x", command: ["/bin/sh", "-c", `rm -rf "$(dirname "$CLOUD_ML_HP_METRIC_FILE")"; ${script}`] } }] });
    const exits = await run(testJob([], { maxTrialCount: 1, trialJobSpec: command("exit 0") }));
    expect(exits.trials![0]).toMatchObject({ state: "INFEASIBLE", infeasibleReason: expect.stringContaining('never reported the metric "accuracy"') });
    const stopped = await run(testJob([], { maxTrialCount: 1, trialJobSpec: { ...command("sleep 30"), scheduling: { timeout: "1s" } } }));
    expect(stopped.trials![0]).toMatchObject({ state: "INFEASIBLE", infeasibleReason: expect.stringContaining("timed out after 1s") });
  });

  it("keeps a timed-out trial's measurements but gives it no finalMeasurement, as Vertex marks INFEASIBLE", async () => {
    const args = ["--steps=100", "--sleep=0.2"];
    const job = await run(testJob(args, { maxTrialCount: 1, maxFailedTrialCount: 1, trialJobSpec: { ...testJob([]).trialJobSpec, workerPoolSpecs: [{ ...testJob([]).trialJobSpec!.workerPoolSpecs![0], containerSpec: { imageUri: "x", command: ["python3", "test/local/trainers/trial.py"], args } }], scheduling: { timeout: "1s" } } }));
    const trial = job.trials![0]!;
    expect(trial).toMatchObject({ state: "INFEASIBLE", infeasibleReason: expect.stringContaining("timed out after 1s") });
    expect(trial.measurements!.length).toBeGreaterThan(0);
    expect(trial.finalMeasurement).toBeUndefined();
  });

  it("runs a trial whose scheduling.timeout is past the 24.8 days a Node timer can wait to its end", async () => {
    const job = await run(testJob(["--steps=2"], { maxTrialCount: 1, maxFailedTrialCount: 1, trialJobSpec: { ...testJob([]).trialJobSpec, scheduling: { timeout: "3000000s" } } }));
    expect(job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(job.trials![0].state).toBe("SUCCEEDED");
  });

  it("says which metric was never reported, NaN, a malformed line, and a missing command", async () => {
    const none = await run(testJob(["--mode=nometric"], { maxTrialCount: 1 }));
    expect(none.state).toBe("JOB_STATE_FAILED");
    expect(none.trials![0].infeasibleReason).toContain('never reported the metric "accuracy"');
    expect(none.trials![0].infeasibleReason).toContain('"other"');
    expect(none.error!.message).toContain("no trial succeeded");

    const nan = await run(testJob(["--mode=nan"], { maxTrialCount: 1 }));
    expect(nan.trials![0].infeasibleReason).toContain("NaN");
    expect(nan.trials![0].infeasibleReason).toContain("step 2");
    // An infinity (a loss that overflowed) is named as what it is, not as NaN.
    const inf = await run(testJob(["--mode=inf"], { maxTrialCount: 1 }));
    expect(inf.trials![0].infeasibleReason).toBe('the trial reported Infinity for the metric "accuracy" at step 2');

    // A tensor given to cloudml-hypertune is written as its str(): no number, and no NaN either.
    const tensor = await run(testJob(["--mode=tensor"], { maxTrialCount: 1 }));
    expect(tensor.trials![0].infeasibleReason).toContain('never reported the metric "accuracy" as a number: it wrote "tf.Tensor(');
    expect(tensor.trials![0].infeasibleReason).not.toContain("NaN");

    const malformed = await run(testJob(["--mode=malformed"], { maxTrialCount: 1 }));
    expect(malformed.state).toBe("JOB_STATE_SUCCEEDED");
    expect(malformed.trials![0].measurements).toHaveLength(3);
    expect(readFileSync(join(trialDir(malformed.id, "1"), "trial.log"), "utf8")).toContain("skipped a malformed metrics line: this is not json");

  });

  it("quotes, for a trial that never reported the metric, a metrics line it could not read, rather than calling the file empty", async () => {
    const base = testJob([]);
    const writing = (lines: string) => ({ ...base, maxTrialCount: 1, maxFailedTrialCount: 1, trialJobSpec: { workerPoolSpecs: [{ ...base.trialJobSpec!.workerPoolSpecs![0], containerSpec: { imageUri: "x", command: ["/bin/sh", "-c", `printf '${lines}' > "$CLOUD_ML_HP_METRIC_FILE"`] } }] } });
    // numpy 2's repr of a float, written by hand with an f-string.
    const numpy = '{"accuracy": np.float64(0.6), "global_step": 1}';
    expect((await run(writing(`${numpy}\\n`))).trials![0].infeasibleReason).toBe(
      `the trial never reported the metric "accuracy" (its metrics file held only lines that read as no report (each noted in trial.log), such as ${numpy}); report it with cloudml-hypertune under the study's metricId`,
    );
    expect((await run(writing(`{"loss": 0.5}\\n${numpy}\\n`))).trials![0].infeasibleReason).toContain(`(it reported only "loss", and lines that read as no report (each noted in trial.log), such as ${numpy})`);
    expect((await run(writing(""))).trials![0].infeasibleReason).toContain("(its metrics file was empty or missing)");
  });

  it("refuses at create a job whose container has no command (every trial of it failed, after a preview and an up had passed)", async () => {
    const base = testJob([]);
    const noCommand = { ...base, maxTrialCount: 1, trialJobSpec: { workerPoolSpecs: [{ ...base.trialJobSpec!.workerPoolSpecs![0], containerSpec: { imageUri: "gcr.io/p/image" } }] } };
    const refused = await api.create(noCommand);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/trialJobSpec\.workerPoolSpecs\[0\]\.containerSpec\.command: a local trial needs a command: the local backend runs commands, not images \(imageUri "gcr.io\/p\/image" is not used\)/);
    expect(localBackendIssues(noCommand)).toEqual([{ path: "trialJobSpec.workerPoolSpecs[0].containerSpec.command", message: expect.stringContaining("a local trial needs a command") }]);
    // A blank program name is no command either.
    for (const command of [[""], ["  ", "train.py"]]) {
      const blank = { ...noCommand, trialJobSpec: { workerPoolSpecs: [{ ...noCommand.trialJobSpec.workerPoolSpecs[0], containerSpec: { imageUri: "gcr.io/p/image", command } }] } };
      expect((await api.create(blank)).status, JSON.stringify(command)).toBe(400);
    }
  });

  it("tells a trial that cannot start because the repository's .venv is missing to run npm run setup, and no other", async () => {
    // A repository with no .venv/: what a clone with node_modules but no setup looks like.
    const own = await startServer({ stateDir: tempDir(), repoRoot: tempDir("no-venv-repo-"), pollMs: 50, graceMs: 300 });
    try {
      const ownApi = client(own);
      const runOwn = async (pool: NonNullable<NonNullable<VertexJob["trialJobSpec"]>["workerPoolSpecs"]>[number]) => {
        const base = testJob([]);
        const created = await ownApi.create({ ...base, maxTrialCount: 1, trialJobSpec: { workerPoolSpecs: [{ ...base.trialJobSpec!.workerPoolSpecs![0], ...pool }] } });
        expect(created.status, JSON.stringify(created.body)).toBe(200);
        return (await ownApi.waitFor(created.body.name.split("/").pop() as string)).trials![0].infeasibleReason ?? "";
      };
      // A source trainer's command (relative to the repository root) and a pythonPackageSpec (absolute).
      const source = await runOwn({ containerSpec: { imageUri: "local/trainer", command: localTrainerCommand("trainer") } });
      expect(source).toContain("could not start the trial command: spawn .venv/bin/python ENOENT");
      expect(source).toContain("npm run setup");
      const pkg = await runOwn({ containerSpec: undefined, pythonPackageSpec: { executorImageUri: "img", packageUris: ["gs://bkt/p.tgz"], pythonModule: "trainer.task" } });
      expect(pkg).toContain("npm run setup");
      // Any other missing program: no such hint.
      const other = await runOwn({ containerSpec: { imageUri: "x", command: ["no-such-program-here"] } });
      expect(other).toContain("could not start the trial command: spawn no-such-program-here ENOENT");
      expect(other).not.toContain("npm run setup");
    } finally {
      await own.close();
    }
  });

  it("says what to do with a trainer script of the repository that cannot start: named without ./, not executable, or a folder", async () => {
    const repo = tempDir("own-script-repo-");
    writeFileSync(join(repo, "my_trainer.py"), "print('never runs')\n");
    const own = await startServer({ stateDir: tempDir(), repoRoot: repo, pollMs: 50, graceMs: 300 });
    try {
      const ownApi = client(own);
      const reason = async (command: string[]) => {
        const base = testJob([]);
        const created = await ownApi.create({ ...base, maxTrialCount: 1, trialJobSpec: { workerPoolSpecs: [{ ...base.trialJobSpec!.workerPoolSpecs![0], containerSpec: { imageUri: "x", command } }] } });
        expect(created.status, JSON.stringify(created.body)).toBe(200);
        return (await ownApi.waitFor(created.body.name.split("/").pop() as string)).trials![0].infeasibleReason ?? "";
      };
      const bare = await reason(["my_trainer.py"]);
      expect(bare).toContain("spawn my_trainer.py ENOENT");
      expect(bare).toContain(`looked up on PATH: write ./my_trainer.py for the file in ${repo}`);
      const notExecutable = await reason(["./my_trainer.py"]);
      expect(notExecutable).toContain("spawn ./my_trainer.py EACCES");
      expect(notExecutable).toContain("./my_trainer.py is not executable: mark it so (chmod +x), or run it through its interpreter");
      // A folder of the repository where the program goes: it was "ENOENT" alone, of a path that is there.
      mkdirSync(join(repo, "trainer"));
      const folder = await reason(["./trainer"]);
      expect(folder).toContain("spawn ./trainer ENOENT; ./trainer is a folder, not a program: name the program in it");
      // A program that is nowhere: no hint.
      const missing = await reason(["no-such-program-here"]);
      expect(missing).toMatch(/spawn no-such-program-here ENOENT$/);
    } finally {
      await own.close();
    }
  });

  it("reads a command's exit status as the shell reports it: a chosen code stays a code, a fatal signal a signal, and no status stops the shell", async () => {
    const base = testJob([]);
    const ending = (script: string) => ({ ...base, maxTrialCount: 1, maxFailedTrialCount: 1, trialJobSpec: { workerPoolSpecs: [{ ...base.trialJobSpec!.workerPoolSpecs![0], containerSpec: { imageUri: "x", command: ["/bin/sh", "-c", script] } }] } });
    // 147 = 128 + SIGSTOP: re-raised, it would stop the recording shell and the trial would never end.
    expect((await run(ending("exit 147"))).trials![0].infeasibleReason).toContain("exited with code 147");
    expect((await run(ending("kill -TERM $$"))).trials![0].infeasibleReason).toContain("was killed by SIGTERM");
    const script = join(tempDir(), "not-executable.sh");
    writeFileSync(script, "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    const denied = await run({ ...ending("x"), trialJobSpec: { workerPoolSpecs: [{ ...base.trialJobSpec!.workerPoolSpecs![0], containerSpec: { imageUri: "x", command: [script] } }] } });
    expect(denied.trials![0].infeasibleReason).toContain(`could not start the trial command: spawn ${script} EACCES`);
  });

  it("leaves a trial that ended on its own as it ended when a stop comes before its exit is handled", async () => {
    const dir = tempDir();
    const { trial, exit } = startTrial(dir, "exit 0");
    // Spun without yielding: the command ends and its shell records the status, but this process
    // cannot handle the exit before the stop, as when a cancel lands in that window.
    const until = Date.now() + 10_000;
    while (!existsSync(join(dir, EXIT_STATUS_FILE)) && Date.now() < until);
    trial.stop("cancel");
    expect(await exit).toMatchObject({ code: 0, signal: null, stopReason: undefined });
    expect(existsSync(join(dir, STOP_REASON_FILE))).toBe(false);
  });

  it("leaves a trial that ended on its own as it ended when a stop comes while its shell writes the exit status", async () => {
    const dir = tempDir();
    // The recording shell's `mv` (found on the command's PATH) says when it runs and waits to be
    // let go: the command has ended, its status is not in place yet, and the stop lands there.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "mv"), `#!/bin/sh\n: > "${join(dir, "in-mv")}"\nwhile [ ! -e "${join(dir, "go")}" ]; do sleep 0.01; done\nexec /bin/mv "$@"\n`, { mode: 0o755 });
    const { trial, exit } = startTrial(dir, "exit 0", { path: `${bin}:${process.env.PATH ?? ""}` });
    expect(await eventually(() => existsSync(join(dir, "in-mv")), 10_000)).toBe(true);
    trial.stop("cancel");
    writeFileSync(join(dir, "go"), "");
    expect(await exit).toMatchObject({ code: 0, signal: null, stopReason: undefined });
    expect(existsSync(join(dir, STOP_REASON_FILE))).toBe(false);
    expect(readFileSync(join(dir, EXIT_STATUS_FILE), "utf8")).toBe("0\n");
  });

  it("times a trial by how long it ran, not by the clock: a clock set forward while it runs does not time it out", async () => {
    const dir = tempDir();
    const { exit } = startTrial(dir, "sleep 1");
    // The clock set two hours forward (a VM resumed, a machine without a battery clock synced late).
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 2 * 3_600_000);
      expect(await exit).toMatchObject({ code: 0, signal: null, stopReason: undefined });
    } finally {
      vi.useRealTimers();
    }
  });

  it("hands on what one look at the metrics file found in one call, so a trainer that reports every step is judged once a look, not once a line", async () => {
    const dir = tempDir();
    const metricsFile = join(dir, "metrics.jsonl");
    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ accuracy: String(i / 500), global_step: String(i + 1), timestamp: 1 + i }));
    writeFileSync(join(dir, "prepared.jsonl"), `${lines.join("\n")}\n`);
    // Renamed into place at once: the first look that sees the file sees all 500 lines.
    const looks: Measurement[][] = [];
    const { exit } = startTrial(dir, `mv "${join(dir, "prepared.jsonl")}" "${metricsFile}"; sleep 0.3`, { onMeasurements: (m) => void looks.push(m) });
    expect(await exit).toMatchObject({ code: 0 });
    expect(looks.map((m) => m.length)).toEqual([500]);
    expect(looks[0]!.map((m) => m.stepCount)).toEqual(lines.map((_, i) => String(i + 1)));
  });

  it("uses max(3, 20% of max trials) when maxFailedTrialCount is 0", () => {
    expect(failureBudget({ maxFailedTrialCount: 0, maxTrialCount: 10 })).toBe(3);
    expect(failureBudget({ maxFailedTrialCount: 0, maxTrialCount: 50 })).toBe(10);
    expect(failureBudget({ maxFailedTrialCount: 2, maxTrialCount: 50 })).toBe(2);
  });
});

describe("trial command", () => {
  it("runs a pythonPackageSpec as .venv/bin/python -m <module> with the tuned flags last", () => {
    const job: VertexJob = {
      parallelTrialCount: 3,
      trialJobSpec: { workerPoolSpecs: [{ pythonPackageSpec: { executorImageUri: "img", packageUris: ["gs://bkt/p.tgz"], pythonModule: "trainer.task", args: ["--epochs=5"] } }] },
    };
    const command = trialCommand(job, [{ parameterId: "batch-size", value: 64 }, { parameterId: "opt", value: "adam" }], {
      repoRoot: "/repo", stateDir: "/state", trialDir: "/state/jobs/1/trials/4", trialId: "4", cores: 8,
    });
    expect(command).toMatchObject({
      argv: ["/repo/.venv/bin/python", "-m", "trainer.task", "--epochs=5", "--batch-size=64", "--opt=adam"],
      env: { AIP_MODEL_DIR: "/state/jobs/1/trials/4/model/", OMP_NUM_THREADS: "2", CLOUD_ML_TRIAL_ID: "4" },
    });
  });

  it("knows credentials by a segment of their names: Google's, Pulumi's (its config too) and any token, secret or key", () => {
    const withheld = [
      "GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_KEYFILE_JSON", "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE",
      "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
      "GITHUB_TOKEN", "WANDB_API_KEY", "DB_PASSWORD", "ssh_private_key", "token",
      // Well known, though no segment names them.
      "PGPASSWORD", "MYSQL_PWD", "KAGGLE_KEY", "DOCKER_AUTH_CONFIG", "npm_config__authToken", "npm_config_//registry.npmjs.org/:_authToken", "GOOGLE_GHA_CREDS_PATH",
    ];
    const passed = ["PATH", "HOME", "PWD", "TOKENIZERS_PARALLELISM", "KEYBOARD", "PULUMI_HOME", "CLOUDSDK_CORE_PROJECT", "CUDA_VISIBLE_DEVICES", "KERAS_HOME", "MONKEY_SECRETARY", "KAGGLE_USERNAME", "MYSQL_HOST", "HF_HUB_DISABLE_IMPLICIT_TOKEN"];
    expect(withheld.filter((name) => !isCredentialVariable(name))).toEqual([]);
    expect(passed.filter(isCredentialVariable)).toEqual([]);
  });

  it("withholds CLOUDSDK_CONFIG, gcloud's folder: gcloud's login and the ADC file there (google-auth, TensorFlow's gs://) would authenticate a trial as the deployer", () => {
    expect(isCredentialVariable("CLOUDSDK_CONFIG")).toBe(true);
    expect(isCredentialVariable("CLOUDSDK_CORE_PROJECT")).toBe(false);
  });

  it("maps gs:// output under <state>/gcs/, and refuses a . or .. segment (Cloud Storage's text, a climb here)", () => {
    const job = (outputUriPrefix: string): VertexJob => ({ trialJobSpec: { baseOutputDirectory: { outputUriPrefix }, workerPoolSpecs: [{ containerSpec: { imageUri: "x", command: ["train"] } }] } });
    const ctx = { repoRoot: "/repo", stateDir: "/state", trialDir: "/state/jobs/1/trials/3", trialId: "3", cores: 1 };
    expect(trialCommand(job("gs://b/runs..v2/"), [], ctx)).toMatchObject({ env: { AIP_MODEL_DIR: "/state/gcs/b/runs..v2/3/model/" } });
    for (const prefix of ["gs://../x/", "gs://b/../../x/", "gs://b/./x/", "gs://b/x/.."]) {
      expect(trialCommand(job(prefix), [], ctx), prefix).toEqual({ error: expect.stringContaining(`outputUriPrefix ${JSON.stringify(prefix)} has a "." or ".." segment`) });
    }
  });

  it("writes DOUBLE and DISCRETE values in float form (256.0) as Vertex does, INTEGER as integers", () => {
    const job: VertexJob = {
      studySpec: {
        parameters: [
          { parameterId: "lr", doubleValueSpec: { minValue: 0.5, maxValue: 2 } },
          { parameterId: "small", doubleValueSpec: { minValue: 1e-6, maxValue: 1e-4 } },
          { parameterId: "units", integerValueSpec: { minValue: "1", maxValue: "512" } },
          {
            parameterId: "opt",
            categoricalValueSpec: { values: ["adam", "sgd"] },
            conditionalParameterSpecs: [
              { parentCategoricalValues: { values: ["sgd"] }, parameterSpec: { parameterId: "batch_size", discreteValueSpec: { values: [64, 256] } } },
            ],
          },
          { parameterId: "keep", discreteValueSpec: { values: [0.25, 1] } },
        ],
      },
      trialJobSpec: { workerPoolSpecs: [{ containerSpec: { imageUri: "x", command: ["train"] } }] },
    };
    const values = { lr: 1, small: 0.00001, units: 256, opt: "sgd", batch_size: 256, keep: 0.25 };
    const command = trialCommand(job, Object.entries(values).map(([parameterId, value]) => ({ parameterId, value })), {
      repoRoot: "/repo", stateDir: "/state", trialDir: "/state/jobs/1/trials/1", trialId: "1", cores: 2,
    });
    expect(command).toMatchObject({
      argv: ["train", "--lr=1.0", "--small=0.00001", "--units=256", "--opt=sgd", "--batch_size=256.0", "--keep=0.25"],
    });
  });
});

describe("the optimizer's request", () => {
  /** A server of its own whose optimizer is `replacement`. */
  const serverSuggesting = (replacement: Suggest) =>
    startServer({ stateDir: tempDir(), repoRoot: REPO_ROOT, pollMs: 50, graceMs: 300, cores: 2, suggest: replacement });

  /**
   * A server whose optimizer notes the turn of the event loop each suggestion came in (a probe
   * counts the turns), and `stop` to end the probe and close the server.
   */
  async function serverNotingTurns(): Promise<{ api: ReturnType<typeof client>; turns: number[]; stop: () => Promise<void> }> {
    let turn = 0;
    let probing = true;
    const probe = () => {
      turn++;
      if (probing) setImmediate(probe);
    };
    setImmediate(probe);
    const turns: number[] = [];
    const own = await serverSuggesting((request) => {
      turns.push(turn);
      return suggest(request);
    });
    const stop = async () => {
      probing = false;
      await own.close();
    };
    return { api: client(own), turns, stop };
  }

  it("fails the job INTERNAL (13) when the optimizer throws, after stopping the trials already running", async () => {
    let calls = 0;
    const own = await serverSuggesting((request) => {
      if (++calls === 2) throw new Error("the optimizer blew up");
      return suggest(request);
    });
    try {
      const ownApi = client(own);
      const created = await ownApi.create(testJob(["--steps=40", "--sleep=0.05"], { maxTrialCount: 3, parallelTrialCount: 2 }));
      const job = await ownApi.waitFor(created.body.name.split("/").pop() as string);
      expect(job.state).toBe("JOB_STATE_FAILED");
      expect(job.error).toEqual({ code: 13, message: "internal error of the local backend: the optimizer blew up" });
      expect(job.trials!.map((t) => t.state)).toEqual(["INFEASIBLE"]);
    } finally {
      await own.close();
    }
  });

  it("starts the trials that follow a trial's end on a later turn of the event loop, so trials that exit at once cannot hold the server", async () => {
    // A probe counts the event loop's turns; each suggestion notes the turn it came in. Started
    // from a trial's exit callback, the next trial (a shell that writes one line and exits) was
    // reaped and the next started in the same pass over exited children, and the chain held the
    // loop, every request unanswered, until the study ended: dozens of suggestions in one turn.
    const { api: ownApi, turns, stop } = await serverNotingTurns();
    try {
      const report = `echo '{"accuracy": "0.5", "global_step": "1"}' > "$CLOUD_ML_HP_METRIC_FILE"`;
      const job = testJob([], { maxTrialCount: 60, parallelTrialCount: 4 });
      job.trialJobSpec!.workerPoolSpecs![0].containerSpec = { imageUri: "local/test", command: ["/bin/sh", "-c", report] };
      const created = await ownApi.create(job);
      const done = await ownApi.waitFor(created.body.name.split("/").pop() as string);
      expect(done.state).toBe("JOB_STATE_SUCCEEDED");
      expect(turns).toHaveLength(60);
      const perTurn = new Map<number, number>();
      for (const t of turns) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
      // At most one fill of the free slots a turn.
      expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(4);
    } finally {
      await stop();
    }
  });

  it("asks the optimizer for one trial a turn of the event loop, however many slots are free, so its cost at a study's size holds the server for one suggestion", async () => {
    const { api: ownApi, turns, stop } = await serverNotingTurns();
    try {
      const created = await ownApi.create(testJob(["--steps=1"], { maxTrialCount: 8, parallelTrialCount: 4 }));
      const done = await ownApi.waitFor(created.body.name.split("/").pop() as string);
      expect(done.state).toBe("JOB_STATE_SUCCEEDED");
      expect(done.trials).toHaveLength(8);
      // The first 4 slots are filled over 4 turns, not in the create's.
      expect(new Set(turns).size).toBe(8);
    } finally {
      await stop();
    }
  });

  it("carries the study spec, the finished trials in order, the job's maxTrialCount as the budget, and one study seed per job", async () => {
    const requests: SuggestRequest[] = [];
    const own = await serverSuggesting((request) => {
      requests.push(structuredClone(request));
      return suggest(request);
    });
    try {
      const ownApi = client(own);
      const created = await ownApi.create(testJob(["--steps=1"], { maxTrialCount: 3 }));
      const job = await ownApi.waitFor(created.body.name.split("/").pop() as string);
      expect(job.state).toBe("JOB_STATE_SUCCEEDED");
      expect(requests).toHaveLength(3);
      expect(requests.map((r) => r.budget)).toEqual([3, 3, 3]);
      expect(requests.map((r) => r.completed.length)).toEqual([0, 1, 2]);
      expect(requests[0]!.space.algorithm).toBe("RANDOM_SEARCH");
      // The initial design's scramble: the job's own study seed in every call, unlike the call's seed.
      // The job is the first of a fresh state folder, so its ordinal is 1 whatever its id.
      const jobSeed = studySeed(1);
      expect(requests.map((r) => r.studySeed)).toEqual([jobSeed, jobSeed, jobSeed]);
      expect(new Set(requests.map((r) => r.seed)).size).toBe(3);
    } finally {
      await own.close();
    }
  });
});
