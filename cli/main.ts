/**
 * `tune`: run a stack's study on this machine, serve the local backend, or run the demo.
 *
 *   npm run tune -- run   [--stack local] [--max-trials N] [--parallel N] [--out DIR] [--state DIR]
 *   npm run tune -- serve [--port P] [--state DIR] [--host H --allow-remote]
 *   npm run tune -- cancel JOB [--state DIR]
 *   npm run tune -- status [JOB] [--state DIR]
 *   npm run demo
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULTS, finalValue, plainText, printable } from "../components/spec";
import { shellWord } from "../components/shellWords";
import { cancelLocalJob, localJobName } from "./cancel";
import { localStatus, statusText } from "./status";
import { CommandLineError, projectName } from "./study";
import { bestLine, formatMetric, metricIdOf, trialFilesLine } from "./progress";
import { bindingRefusal, startServer } from "../local/server";
import { LOCAL_LOCATION, LOCAL_PROJECT, localStateDir, runStudy, signalStatus, type RunResult } from "./run";

/** The stack `run` reads without --stack. */
const DEFAULT_STACK = "local";

const USAGE = `usage (npm runs it from the repository root; relative paths are from there too):
  npm run tune -- run [--stack S] [--max-trials N] [--parallel N] [--out DIR] [--state DIR]
      run the stack's study (Pulumi.<S>.yaml) on the local backend; writes DIR/result.json and DIR/report.html
  npm run tune -- serve [--port P] [--state DIR] [--host H --allow-remote]
      run the local backend alone (a Vertex-compatible hyperparameterTuningJobs API)
  npm run tune -- cancel JOB [--state DIR]
      cancel a job on the local backend (its id, or its full name) and wait until its trials have ended
  npm run tune -- status [JOB] [--state DIR]
      list the state folder's jobs of tune run, or show one job's trials and best trial (while it runs too)
  npm run demo  (or npm run tune -- demo)
      the local stack's study with the real trainer, then the best trial and the report

options:
  --stack S                      the stack whose Pulumi.<S>.yaml is read; default ${DEFAULT_STACK}
  --max-trials N, --parallel N   override the study's maxTrials and parallelTrials
  --out DIR                      where run writes its result and report; default .tune/out/<stack>
  --state DIR                    the local backend's state folder; default ${DEFAULTS.localStateDir}
  --port P                       serve's port; default 0 (any free port, printed)
  --host H --allow-remote        serve's address; default 127.0.0.1 (loopback only)
`;

const OPTIONS = {
  stack: { type: "string" },
  "max-trials": { type: "string" },
  parallel: { type: "string" },
  out: { type: "string" },
  state: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  "allow-remote": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The options each command takes (help aside): any other is a mistake, not something to ignore. */
const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  run: ["stack", "max-trials", "parallel", "out", "state"],
  demo: ["max-trials", "parallel", "out", "state"],
  serve: ["port", "state", "host", "allow-remote"],
  cancel: ["state"],
  status: ["state"],
};
/** How many positional arguments each command takes, its name included. */
const COMMAND_ARITY: Record<string, number> = { run: 1, demo: 1, serve: 1, cancel: 2, status: 2 };

/** A mistake in the command line: exit status 2 with the usage, as for an unknown command. */
class UsageError extends Error {}

function checkCommandLine(command: string, values: Record<string, unknown>, positionals: string[], repoRoot: string): void {
  const allowed = COMMAND_OPTIONS[command]!;
  const stray = Object.keys(values).filter((key) => key !== "help" && !allowed.includes(key));
  if (stray.length) throw new UsageError(`${stray.map((k) => `--${k}`).join(", ")} ${stray.length > 1 ? "do" : "does"} not apply to ${command}`);
  if (command === "cancel" && positionals.length !== 2) throw new UsageError("cancel takes one job (its id or full name)");
  if (positionals.length > COMMAND_ARITY[command]!) {
    throw new UsageError(`${command} takes no ${COMMAND_ARITY[command]! > 1 ? "further " : ""}argument ${JSON.stringify(positionals[COMMAND_ARITY[command]!])}`);
  }
  for (const flag of ["max-trials", "parallel"]) positiveInt(values[flag] as string | undefined, flag);
  if (values.host === "") throw new UsageError('--host must be an address such as 127.0.0.1 (got "")');
  const refusal = values.host === undefined ? undefined : bindingRefusal(values.host as string, values["allow-remote"] as boolean | undefined);
  if (refusal) throw new UsageError(refusal);
  // A stack the project does not have (`--stack lcoal`); outside a Pulumi project, run says so itself.
  if (command === "run" && existsSync(join(repoRoot, "Pulumi.yaml"))) {
    const file = join(repoRoot, `Pulumi.${(values.stack as string | undefined) ?? DEFAULT_STACK}.yaml`);
    if (!existsSync(file)) throw new UsageError(`no stack file ${file}: pass --stack <name> for an existing Pulumi.<name>.yaml`);
  }
  if (command === "cancel" || (command === "status" && positionals[1] !== undefined)) {
    try {
      localJobName(positionals[1]!);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a whole number >= 1 (got ${JSON.stringify(value)})`);
  return n;
}

/**
 * Output whose reader has gone (`tune run | head`, a pager quit early) is dropped, not fatal: the
 * EPIPE of a write was thrown from the progress callback, and the process ended with its
 * embedded server while the trials, each in a process group of its own, ran on with no server
 * to follow them. The run now goes on to its end (Ctrl-C still cancels it) and writes its result
 * and report files, which are what it produces; its lines are a view of them.
 */
process.stdout.on("error", () => {});

const out = {
  write: (text: string) => void process.stdout.write(text),
  tty: Boolean(process.stdout.isTTY),
  get columns() {
    return process.stdout.columns;
  },
};

async function run(values: Record<string, string | boolean | undefined>, repoRoot: string): Promise<RunResult> {
  return runStudy({
    repoRoot,
    stack: (values.stack as string | undefined) ?? DEFAULT_STACK,
    maxTrials: positiveInt(values["max-trials"] as string | undefined, "max-trials"),
    parallelTrials: positiveInt(values.parallel as string | undefined, "parallel"),
    outDir: values.out as string | undefined,
    stateDir: values.state as string | undefined,
    output: out,
  });
}

function summary(result: RunResult): string {
  const job = result.job;
  const metricId = metricIdOf(job);
  const lines = [`${job.name} ended ${job.state}${job.error?.message ? `: ${plainText(job.error.message)}` : ""}`];
  if (result.best) lines.push(bestLine(result.best, metricId));
  lines.push(trialFilesLine(result.stateDir, job), `result: ${result.resultPath}`, `report: ${result.reportPath}`);
  return `${lines.join("\n")}\n`;
}

/** The best trial against the median of the trials that succeeded: what tuning bought. */
function medianComparison(result: RunResult): string {
  const metricId = metricIdOf(result.job);
  const values = (result.job.trials ?? [])
    .filter((t) => t.state === "SUCCEEDED")
    .map((t) => finalValue(t, metricId))
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  if (!result.best || values.length === 0) return "";
  const mid = Math.floor(values.length / 2);
  const median = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return `the best trial's ${printable(metricId)} ${formatMetric(result.best.metricValue)} vs the median trial's ${formatMetric(median)} (${values.length} trials succeeded)\n`;
}

async function serve(values: Record<string, string | boolean | undefined>, repoRoot: string): Promise<void> {
  const stateDir = localStateDir(repoRoot, values.state as string | undefined);
  const port = values.port === undefined ? 0 : values.port === "" ? NaN : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535 (got ${JSON.stringify(values.port)})`);
  const server = await startServer({
    stateDir,
    repoRoot,
    port,
    host: values.host as string | undefined,
    allowRemote: Boolean(values["allow-remote"]),
    // It says why on stderr and closes, stopping its trials: the process then ends, as a failure.
    onLost: () => (process.exitCode = 1),
  });
  const tokenFile = join(stateDir, "token");
  process.stdout.write(
    `local backend listening on ${server.url}\n` +
      `token file: ${tokenFile}\n` +
      `gcloud: CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM=${server.url} CLOUDSDK_AUTH_ACCESS_TOKEN="$(cat ${shellWord(tokenFile)})" ` +
      `CLOUDSDK_CORE_PROJECT=${LOCAL_PROJECT} gcloud ai hp-tuning-jobs list --region=${LOCAL_LOCATION}\n`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** 0 when the job succeeded, 130 (as for SIGINT) when a Ctrl-C cancelled it (143 for SIGTERM), else 1. */
function exitStatus(result: RunResult): number {
  if (result.job.state === "JOB_STATE_SUCCEEDED") return 0;
  return result.interrupted ? signalStatus(result.interrupted) : 1;
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  const repoRoot = process.cwd();
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (!(command in COMMAND_OPTIONS)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  checkCommandLine(command, values, positionals, repoRoot);
  // Not only for run: the server that serve, status and cancel start takes the folder they run in
  // as the state folder's repository. Run elsewhere (a trainer's own folder, holding the state
  // folder), status handed the folder over to it, refusing the real repository from then on, and
  // serve resumed its jobs' trials there, without the repository's .venv or relative paths.
  projectName(repoRoot);
  switch (command) {
    case "run": {
      const result = await run(values, repoRoot);
      process.stdout.write(summary(result));
      return exitStatus(result);
    }
    case "demo": {
      process.stdout.write(
        "tune demo: the local stack's study (Pulumi.local.yaml) with the real trainer, on this machine.\n" +
          "Each trial is a process of trainer/task.py; our Bayesian optimizer picks the next; median early stopping cuts poor trials.\n\n",
      );
      const result = await run({ ...values, stack: "local" }, repoRoot);
      process.stdout.write(`\n${summary(result)}${medianComparison(result)}open the report: ${result.reportPath}\n`);
      return exitStatus(result);
    }
    case "serve":
      await serve(values, repoRoot);
      return -1;
    case "status": {
      const stateDir = localStateDir(repoRoot, values.state as string | undefined);
      const status = await localStatus({ repoRoot, stateDir, job: positionals[1] });
      process.stdout.write(statusText(status, stateDir, positionals[1] !== undefined));
      return 0;
    }
    default: {
      const { job, wasRunning } = await cancelLocalJob({ repoRoot, stateDir: localStateDir(repoRoot, values.state as string | undefined), job: positionals[1]! });
      process.stdout.write(`${job.name} ${wasRunning ? "cancelled" : `had already ended ${job.state}`}\n`);
      return 0;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // serve keeps running until a signal; every other command ends here.
    if (code >= 0) process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`tune: ${error.message}\n${error instanceof UsageError ? USAGE : ""}`);
    process.exitCode = error instanceof UsageError || error instanceof CommandLineError ? 2 : 1;
  },
);
