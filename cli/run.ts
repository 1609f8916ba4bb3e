/**
 * `tune run`: a stack's study on the local backend, end to end. The job is created through the
 * same Vertex client the tuning-job resource uses (components/vertex), against an embedded (or
 * already running) local server; progress is shown while it runs; Ctrl-C (or SIGTERM) cancels the
 * job and waits for it to end; the report is written as trials end and at the end, the result at
 * the end. A run killed outright (kill -9, a closed terminal) leaves its job to the next server on
 * the state folder, which resumes it: the next `tune run` of the same study follows that job
 * instead of starting a second.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULTS, bestTrial, hasEnded, type BestTrial, type VertexJob } from "../components/spec";
import { shortHash, specHash } from "../components/spec/hash";
import { createOrAdopt, withIdentityLabels, type AdoptionPolicy } from "../components/vertex/adoption";
import { shellWord } from "../components/shellWords";
import { realClock } from "../components/vertex/clock";
import { waitForJob } from "../components/vertex/wait";
import { closeEmbeddedServers, ensureLocalBackend } from "../local/embedded";
import { folderClient } from "./folderClient";
import { createProgress, POLL_FIELDS, type ProgressOutput } from "./progress";
import { renderReport } from "./report";
import { loadStackJob, type StudyOverrides } from "./study";

/** Options of `runStudy`. */
export interface RunOptions extends StudyOverrides {
  repoRoot: string;
  stack: string;
  /** Where result.json and report.html go. Default `.tune/out/<stack>`. */
  outDir?: string;
  /** The local backend's state folder. Default `.tune/state`. */
  stateDir?: string;
  output: ProgressOutput;
}

/** What a run produced. */
export interface RunResult {
  job: VertexJob;
  best?: BestTrial;
  resultPath: string;
  reportPath: string;
  /** The state folder the job ran on: its trials' files are there. */
  stateDir: string;
  /** The signal that cancelled the job (Ctrl-C's SIGINT, or SIGTERM), if one did. */
  interrupted?: CancelSignal;
}

/**
 * The location of `tune`'s jobs: a real region name, because gcloud accepts nothing else for
 * `--region` (so `gcloud ai hp-tuning-jobs list --region=us-central1` shows them). The project
 * is `local`.
 */
export const LOCAL_PROJECT = "local";
export const LOCAL_LOCATION = "us-central1";

/**
 * The signals that cancel the job: Ctrl-C's SIGINT, and SIGTERM, the polite stop that `kill`,
 * `timeout`, a cancelled CI job or a container's stop sends. Left to Node's default, SIGTERM
 * ended the process at once, its embedded server with it, while the trials (each in a process
 * group of its own) ran on with no server to follow, time out or stop them.
 */
export const CANCEL_SIGNALS = ["SIGINT", "SIGTERM"] as const;
/** One of CANCEL_SIGNALS. */
export type CancelSignal = (typeof CANCEL_SIGNALS)[number];

/**
 * How soon after the first cancel signal the same signal again is that one delivered twice, not
 * a second Ctrl-C. A terminal's Ctrl-C reaches every process of its foreground group, under
 * `npx tsx cli/main.ts` tsx's own process too, which relays it to this one unless this one's word
 * that it has it already reaches tsx first: measured here, one Ctrl-C in eight arrived twice,
 * 35 ms apart, and ended the run as a second Ctrl-C does, without its summary and result.json.
 * (`npm run tune` runs `node --import tsx`, one process, for that and for tsx's SIGKILL of a busy
 * one: package.json.) A person's second Ctrl-C, after reading that the job is being cancelled,
 * comes later.
 */
export const SAME_SIGNAL_MS = 500;

/** How often `tune` polls its local job: the server is on loopback, so a poll costs nothing. */
const POLL = { initialMs: 500, factor: 1, maxMs: 500 };

/** The local backend's state folder: the one given, else `.tune/state` under the repository. */
export function localStateDir(repoRoot: string, given?: string): string {
  return resolve(given ?? join(repoRoot, DEFAULTS.localStateDir));
}

/**
 * A running job of this stack and study, left by a killed run, is followed rather than run twice;
 * a finished one is not (running again is what the person asked for), and a running one with
 * other settings is left alone, named with the command that cancels it.
 */
export function runAdoption(stateDir: string): AdoptionPolicy {
  return { adoptSucceeded: false, cancelOtherSpecs: false, howToCancel: (name) => `npm run tune -- cancel ${name} --state ${shellWord(stateDir)}` };
}

/** The exit status of a command a signal ended, as a shell gives it: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
export function signalStatus(signal: CancelSignal): number {
  return 128 + osConstants.signals[signal];
}

/**
 * Writes `file` whole or not at all (a temporary file renamed over it), so that a browser
 * reloading the report while a run writes it, or a run killed while writing, never sees half a
 * page. The temporary file is this process's: two runs following one job write the same folder.
 */
function writeWhole(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/** Runs the stack's study to its end and writes `result.json` and `report.html`. */
export async function runStudy(options: RunOptions): Promise<RunResult> {
  const request = loadStackJob(options.repoRoot, options.stack, options);
  const stateDir = localStateDir(options.repoRoot, options.stateDir);
  const outDir = resolve(options.outDir ?? join(options.repoRoot, ".tune", "out", options.stack));
  // Before the study runs: a folder that cannot be made would otherwise lose its result at the end.
  mkdirSync(outDir, { recursive: true });
  // The server that owns the state folder may be another run's, which ends with that run's job.
  const client = folderClient({ stateDir, repoRoot: options.repoRoot, project: LOCAL_PROJECT, location: LOCAL_LOCATION, resumeJobs: true });
  const log = (line: string) => options.output.write(`${line}\n`);

  // From the start: a Ctrl-C while the server starts or the job is created must still cancel it.
  let name: string | undefined;
  let interrupted: CancelSignal | undefined;
  let interruptedAt = 0;
  /** A second signal is ending the process: it exits once its server has closed. */
  let leaving = false;
  const cancel = (jobName: string) => client.cancel(jobName).catch((error: Error) => options.output.write(`cancel failed: ${error.message}\n`));
  const onInterrupt = (signal: CancelSignal) => {
    if (interrupted === undefined) {
      interrupted = signal;
      interruptedAt = performance.now();
      options.output.write(`\ncancelling the job${name ? "" : " once it exists"} (Ctrl-C again to stop waiting; its trial processes end either way)...\n`);
      if (name) void cancel(name);
    } else if (signal !== interrupted || performance.now() - interruptedAt >= SAME_SIGNAL_MS) {
      leaving = true;
      void closeEmbeddedServers().finally(() => process.exit(signalStatus(interrupted!)));
    }
  };
  // One handler per signal, which knows its own: a handler is not always given the signal's name.
  const handlers = CANCEL_SIGNALS.map((signal) => [signal, () => onInterrupt(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const progress = createProgress(options.output);
  try {
    const backend = await ensureLocalBackend({ stateDir, repoRoot: options.repoRoot });
    // The study is its repository's stack file: both name it.
    const labelled = withIdentityLabels(request, shortHash(`tune run ${resolve(options.repoRoot)} ${options.stack}`), specHash(request));
    const { job: started, adopted } = await createOrAdopt(client, labelled, realClock, log, { policy: runAdoption(stateDir) });
    name = started.name!;
    if (!adopted) log(`created ${name} (${request.maxTrialCount} trials, ${request.parallelTrialCount} at a time) on the local backend ${backend.rootUrl}`);
    if (interrupted) void cancel(name);
    const resultPath = join(outDir, "result.json");
    const reportPath = join(outDir, "report.html");
    // An earlier run's result goes before this job's report replaces that run's: left beside it,
    // a run killed outright paired this study's report with another study's result.json (its
    // best parameters read as this study's). The folder is written anew by every run.
    rmSync(resultPath, { force: true });
    // The report as the study goes (written only at its end, a long study had none to look at,
    // and a run killed outright left none), rewritten when a trial ends or the job's state
    // changes, before the trial's line: a line shown is in the report. A write that fails
    // mid-run is said once and does not stop the run; the last write, at the end, must succeed.
    let reported = "";
    let reportFailed = false;
    const onPoll = (j: VertexJob) => {
      const finished = (j.trials ?? []).filter(hasEnded).length;
      if (`${j.state} ${finished}` !== reported) {
        reported = `${j.state} ${finished}`;
        try {
          writeWhole(reportPath, renderReport(j));
        } catch (error) {
          if (!reportFailed) log(`could not write ${reportPath} (tried again at the end): ${(error as Error).message}`);
          reportFailed = true;
        }
      }
      progress.update(j);
    };
    // Polls ask only for what the progress and the report read; the job that ends the wait is
    // read whole, for result.json and the last report.
    const { job } = await waitForJob(client, name, Number.MAX_SAFE_INTEGER, realClock, onPoll, POLL, POLL_FIELDS).catch((error: Error) => {
      // Polls that fail while a second Ctrl-C closes the server are not the run's error: printed,
      // they told the person who asked to stop waiting that a request had failed (ECONNREFUSED).
      if (leaving) return new Promise<never>(() => {});
      throw error;
    });
    progress.finish();
    const best = bestTrial(job);
    writeWhole(resultPath, `${JSON.stringify({ job, bestTrial: best ?? null }, null, 2)}\n`);
    writeWhole(reportPath, renderReport(job));
    return { job, best, resultPath, reportPath, stateDir, interrupted };
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    await closeEmbeddedServers();
  }
}
