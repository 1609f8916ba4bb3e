/**
 * Drives one job: asks the optimizer for trials, keeps at most `parallelTrialCount` running,
 * applies early stopping, and ends the job (SUCCEEDED, FAILED, CANCELLED) when its trials say so.
 *
 * Every decision is re-derived from the store's trials in `pump`, never from counters of its
 * own, so a scheduler built after a restart continues exactly where the journal says the job is.
 */
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { finalValue, INTERRUPTED_REASON, reasonLine } from "../components/spec";
import { suggest as defaultSuggest, type Assignment, type CompletedTrial, type Suggest } from "../optimizer";
import { startFailureHint, trialCommand } from "./command";
import { MedianTable, shouldStop, stoppingRule } from "./earlyStopping";
import { selectFinal, type Measurement } from "./metrics";
import { readExitStatus, readStopReason, TrialProcess, type RunnerOptions, type TrialExit } from "./runner";
import { StateFolderLost, TERMINAL_STATES, type JobRecord, type Store, type TrialOutcome, type TrialParameter, type TrialRecord } from "./store";

/**
 * A test of measurements read again from a trial's file, in file order: true for one not recorded
 * yet. Recorded ones are told by step and values (the file's timestamps are not kept in the
 * record), and counted: a report equal to a recorded one is new once that one has been matched.
 */
export function unrecorded(record: TrialRecord): (m: Measurement) => boolean {
  const key = (m: Measurement) => `${m.stepCount}\u0000${JSON.stringify(m.metrics)}`;
  const recorded = new Map<string, number>();
  for (const m of record.trial.measurements) recorded.set(key(m), (recorded.get(key(m)) ?? 0) + 1);
  return (m) => {
    const left = recorded.get(key(m)) ?? 0;
    if (left === 0) return true;
    recorded.set(key(m), left - 1);
    return false;
  };
}

/** What a scheduler needs from its server. */
export interface SchedulerOptions extends RunnerOptions {
  repoRoot: string;
  /** CPU cores shared by a job's parallel trials. */
  cores: number;
  /** The optimizer (tests may substitute one). */
  suggest?: Suggest;
}

/** The trials that count toward maxTrialCount: not one a restart interrupted (its rerun counts). */
function countedTrials(trials: TrialRecord[]): TrialRecord[] {
  return trials.filter((t) => t.outcome !== "interrupted");
}

/** `maxFailedTrialCount: 0` means "the backend decides": max(3, 20% of the max trial count). */
export function failureBudget(job: { maxFailedTrialCount?: number | null; maxTrialCount?: number | null }): number {
  const given = job.maxFailedTrialCount ?? 0;
  return given > 0 ? given : Math.max(3, Math.floor(0.2 * (job.maxTrialCount ?? 0)));
}

/** An unsigned 32-bit seed from a key: the first four bytes of its SHA-256. */
function seedOf(key: string): number {
  return createHash("sha256").update(key).digest().readUInt32BE(0);
}

/** The seed of the `index`-th suggestion of a job (by its ordinal): a restart asks the optimizer the same question. */
export function suggestionSeed(ordinal: number, index: number): number {
  return seedOf(`${ordinal}:${index}`);
}

/** The study seed of a job (it scrambles the optimizer's initial design): one per job, the same after a restart. */
export function studySeed(ordinal: number): number {
  return seedOf(String(ordinal));
}

function toAssignment(parameters: TrialParameter[] | null | undefined): Assignment {
  const a: Assignment = {};
  for (const p of parameters ?? []) a[p.parameterId] = p.value;
  return a;
}

/** Trial fields with no local meaning: accepted, noted in the job log, not used. */
function unusedFields(job: JobRecord["job"]): string[] {
  const spec = job.trialJobSpec ?? {};
  const pool = spec.workerPoolSpecs?.[0] ?? {};
  const notes: string[] = [];
  if (pool.machineSpec?.machineType) notes.push(`machineType ${pool.machineSpec.machineType}`);
  if (pool.machineSpec?.acceleratorType) notes.push(`accelerator ${pool.machineSpec.acceleratorType} x${pool.machineSpec.acceleratorCount ?? 0}`);
  if (pool.diskSpec) notes.push("diskSpec");
  if (spec.scheduling?.strategy) notes.push(`scheduling strategy ${spec.scheduling.strategy}`);
  if (spec.network) notes.push(`network ${spec.network}`);
  if (spec.serviceAccount) notes.push(`serviceAccount ${spec.serviceAccount}`);
  if (spec.enableWebAccess) notes.push("enableWebAccess");
  if (spec.scheduling?.restartJobOnWorkerRestart) notes.push("restartJobOnWorkerRestart");
  if (job.encryptionSpec?.kmsKeyName) notes.push("encryptionSpec");
  if (pool.containerSpec?.imageUri) notes.push(`imageUri ${pool.containerSpec.imageUri}`);
  if (pool.pythonPackageSpec) notes.push(`executorImageUri and packageUris (runs ${pool.pythonPackageSpec.pythonModule} from .venv)`);
  if ((spec.workerPoolSpecs?.length ?? 0) > 1) notes.push("worker pools after the first");
  return notes;
}

/**
 * Runs `action`, which commits from a trial's event (its exit, a look at its metrics file). A state
 * folder lost meanwhile refuses the commit: nothing more is recorded, and the server's watchdog
 * stops the trials and closes it. Thrown from the event, the refusal would end the process, and
 * leave the trials running with no server. Any other error still does (a full disk's, as before).
 */
function unlessFolderLost(action: () => void): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof StateFolderLost)) throw error;
  }
}

/** The scheduler of one job. */
export class JobScheduler {
  private readonly running = new Map<string, TrialProcess>();
  private exhausted = false;
  private pumping = false;
  /** A pump is due on the next turn of the event loop (pumpSoon): the job's end waits for it. */
  private pumpDue = false;
  private closing = false;
  /** Held (hold): follows its trials, starts none, and leaves them running at shutdown. */
  private held = false;
  /** Why the job fails, once it must: ends it FAILED with this code once no trial runs. */
  private failure?: string;
  /** google.rpc code of the failure: 9 (FAILED_PRECONDITION) for the failure budget, 13 (INTERNAL) for a backend error. */
  private failureCode = 9;
  /** The median rule's running averages of the completed trials, kept between looks (MedianTable). */
  private readonly medians = new MedianTable();

  constructor(private readonly store: Store, private readonly record: JobRecord, private readonly options: SchedulerOptions) {}

  /** Appends a line to `<state>/jobs/<id>/job.log`. */
  log(text: string): void {
    // Not into a state folder deleted while the server ran: made again by this mkdir, it held a
    // job.log and no journal. The server closes (its watchdog); the line is lost with the folder.
    if (this.store.journalLost()) return;
    const dir = this.store.jobDir(this.record.id);
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, "job.log"), `${new Date().toISOString()} ${text}\n`);
  }

  /** Starts a new job: notes what has no local meaning, marks it RUNNING, starts trials. */
  begin(): void {
    const notes = unusedFields(this.record.job);
    if (notes.length) this.log(`accepted, not used locally: ${notes.join("; ")}`);
    this.log(`failure budget: ${failureBudget(this.record.job)} failed trials`);
    this.pump();
  }

  /**
   * The trials a server that died left without an end (recovery kept them: their exit status is
   * in their folder, or their process group still runs under its recording shell). One that
   * finished meanwhile is recorded as it ended: the measurements the last server had not read,
   * then the outcome by the rules of a live trial's end, with the reason the last server stopped
   * it, if it did (its folder keeps it); one the last server stopped to shut down is interrupted
   * and runs again, as after a graceful restart; one that ran past scheduling.timeout is timed
   * out, as a live server would have stopped it (an early stop is not judged after the fact). One
   * still running is followed to its end, and a stop the last server began is carried on (a
   * job's cancel or failure too, whether or not the trial's folder shows its stop yet).
   */
  recoverTrials(): void {
    // The failure state a trial's reason depends on ("stopped because the job failed").
    this.checkFailures();
    for (const record of this.record.trials) {
      if (record.outcome !== undefined) continue;
      const dir = this.trialDir(record.trial.id);
      const status = readExitStatus(dir);
      const stopReason = readStopReason(dir);
      if (status && stopReason === "shutdown") {
        this.store.endTrial(this.record.id, record.trial.id, "interrupted", INTERRUPTED_REASON);
        continue;
      }
      const trialProcess = this.trialProcess(record, Date.parse(record.trial.startTime ?? "") || Date.now(), unrecorded(record));
      if (!trialProcess) continue;
      this.log(status ? `trial ${record.trial.id} ended while no server ran (${status.signal ?? `exit code ${status.code}`}): recorded from its folder` : `trial ${record.trial.id} still runs: followed to its end`);
      this.running.set(record.trial.id, trialProcess);
      trialProcess.attach(status ? undefined : record.pid, stopReason);
    }
    // A job that had failed already, or whose cancel the last server had begun: what still runs
    // is stopped, as the last server would have. A server killed between journaling CANCELLING
    // and stopping the trials left them running with no stop reason in their folders, and a
    // second cancel does nothing to a job already CANCELLING: without this, the job would wait
    // for them to end on their own (a destroy's cancel timing out meanwhile).
    if (this.failure || this.record.job.state === "JOB_STATE_CANCELLING") for (const trial of this.running.values()) trial.stop("cancel");
  }

  private get metricId(): string {
    return this.record.job.studySpec?.metrics?.[0]?.metricId ?? "";
  }

  private trialDir(trialId: string): string {
    return join(this.store.jobDir(this.record.id), "trials", trialId);
  }

  /** Number of trial processes running now. */
  get runningCount(): number {
    return this.running.size;
  }

  /**
   * Holds a recovered job that this server did not resume (`tune cancel` starts one to end another
   * job): its running trials are followed, none is started, and at shutdown they are left running
   * for the next server to attach to. Stopping them would cost their work (they would run again
   * from the start), and a trial started here would only be stopped at exit.
   */
  hold(): void {
    // A job whose end recovery has begun (a cancel or a failure the last server journaled) is
    // ended here: its trials are being stopped, and nothing else would record its end.
    if (this.failure === undefined && this.record.job.state !== "JOB_STATE_CANCELLING") this.held = true;
  }

  /** Cancels the job: CANCELLING now, CANCELLED once every trial process has ended. */
  cancel(): void {
    if (TERMINAL_STATES.has(this.record.job.state) || this.record.job.state === "JOB_STATE_CANCELLING") return;
    // Its trials are this server's to stop now, and the job's end to record.
    this.held = false;
    this.store.setState(this.record.id, "JOB_STATE_CANCELLING");
    this.log("cancel requested");
    for (const trial of this.running.values()) trial.stop("cancel");
    this.pump();
  }

  /**
   * Stops following the job and leaves its trials running, their end unrecorded, for the next
   * server to follow (a held job's at shutdown; every job's when the server's start failed).
   */
  abandon(): void {
    this.closing = true;
    for (const trial of this.running.values()) trial.release();
    this.running.clear();
  }

  /**
   * Server shutdown: ends the trial processes without recording their end (the next start reruns
   * them); a held job's are left running instead (abandon), unless `leaveHeld` is false: the state
   * folder is gone, and with it what a next server would follow them by.
   */
  shutdown(leaveHeld = true): Promise<void> {
    this.closing = true;
    if (this.held && leaveHeld) this.abandon();
    const pending = [...this.running.values()];
    for (const trial of pending) trial.stop("shutdown");
    return new Promise((resolve) => {
      const check = () => (this.running.size === 0 ? resolve() : setTimeout(check, 20));
      check();
    });
  }

  /** Re-derives what to do from the job's trials: end the job, or start trials into free slots. */
  pump(): void {
    if (this.pumping || this.closing || this.held) return;
    this.pumping = true;
    try {
      this.step();
    } catch (error) {
      // The state folder is gone: nothing can be recorded (no failure either), and the server closes.
      if (error instanceof StateFolderLost) return;
      // An optimizer or runner bug must not leave the job RUNNING forever.
      if (this.failure === undefined) {
        this.failure = `internal error of the local backend: ${(error as Error).message}`;
        this.failureCode = 13;
      }
      this.log(this.failure);
      for (const trial of this.running.values()) trial.stop("cancel");
      // Refused too when the folder went meanwhile: thrown from here, a pump on its own turn of
      // the event loop (pumpSoon) or a trial's exit ended the process with the trials running.
      const failure = this.failure;
      if (this.running.size === 0) unlessFolderLost(() => this.store.setState(this.record.id, "JOB_STATE_FAILED", { code: this.failureCode, message: failure }));
    } finally {
      this.pumping = false;
    }
  }

  /** Pumps on the next turn of the event loop: one pump, however many trials ask for one meanwhile. */
  private pumpSoon(): void {
    if (this.pumpDue) return;
    this.pumpDue = true;
    setImmediate(() => {
      this.pumpDue = false;
      this.pump();
    });
  }

  private step(): void {
    const job = this.record.job;
    if (TERMINAL_STATES.has(job.state)) return;
    if (job.state === "JOB_STATE_PENDING") this.store.setState(this.record.id, "JOB_STATE_RUNNING");
    if (job.state === "JOB_STATE_CANCELLING") {
      if (this.running.size === 0) {
        this.store.setState(this.record.id, "JOB_STATE_CANCELLED", { code: 1, message: "CANCELED" });
        this.log("cancelled");
      }
      return;
    }
    this.checkFailures();
    if (!this.failure) this.fill();
    // A fill left for the next turn (or a trial's end not yet pumped) may start trials still.
    if (this.running.size > 0 || this.pumpDue) return;
    const trials = this.record.trials;
    const succeeded = trials.filter((t) => t.trial.state === "SUCCEEDED");
    if (this.failure) {
      this.store.setState(this.record.id, "JOB_STATE_FAILED", { code: this.failureCode, message: this.failure });
    } else if (succeeded.length > 0) {
      this.store.setState(this.record.id, "JOB_STATE_SUCCEEDED");
      this.log(`succeeded: ${succeeded.length} of ${countedTrials(trials).length} trials succeeded`);
    } else {
      const reasons = countedTrials(trials).slice(0, 3).map((t) => `trial ${t.trial.id}: ${t.trial.infeasibleReason}`);
      const message = trials.length === 0 ? "the optimizer suggested no trial" : `no trial succeeded: ${reasons.join("; ")}`;
      this.store.setState(this.record.id, "JOB_STATE_FAILED", { code: 9, message });
      this.log(message);
    }
  }

  /** Fails the job once its failed trials reach the budget, stopping the trials still running. */
  private checkFailures(): void {
    if (this.failure) return;
    const budget = failureBudget(this.record.job);
    const failed = this.record.trials.filter((t) => t.outcome === "failed");
    if (failed.length < budget) return;
    this.failure = `${failed.length} trials failed (the limit is ${budget}): ${failed
      .slice(0, 3)
      .map((t) => `trial ${t.trial.id}: ${t.trial.infeasibleReason}`)
      .join("; ")}`;
    this.log(this.failure);
    for (const trial of this.running.values()) trial.stop("cancel");
  }

  /** Starts trials while there are free slots: reruns of interrupted trials first, then suggestions. */
  private fill(): void {
    const job = this.record.job;
    const parallel = Math.max(1, job.parallelTrialCount ?? 1);
    const max = job.maxTrialCount ?? 0;
    let suggested = false;
    while (this.running.size < parallel) {
      this.checkFailures();
      if (this.failure) return;
      const trials = this.record.trials;
      const counted = countedTrials(trials).length;
      if (counted >= max) return;
      const rerun = trials.find((t) => t.outcome === "interrupted" && !trials.some((r) => r.rerunOf === t.trial.id));
      if (rerun) {
        this.launch(rerun.trial.parameters as TrialParameter[], rerun.trial.id);
        continue;
      }
      if (this.exhausted) return;
      // One suggestion a turn, the next slot's on the next: the optimizer's cost grows with the
      // study (the Bayesian one's takes seconds past several hundred trials), and filling every
      // free slot at once held the server, no request answered, for all of them in a row.
      if (suggested) {
        this.pumpSoon();
        return;
      }
      suggested = true;
      const next = this.suggestOne();
      if (!next) {
        this.exhausted = true;
        this.log(`the search space is exhausted after ${counted} trials`);
        return;
      }
      this.launch(Object.entries(next).map(([parameterId, value]) => ({ parameterId, value })));
    }
  }

  private suggestOne(): Assignment | undefined {
    const job = this.record.job;
    const metricId = this.metricId;
    const completed: CompletedTrial[] = [];
    const pending: Assignment[] = [];
    for (const t of this.record.trials) {
      const parameters = toAssignment(t.trial.parameters as TrialParameter[]);
      if (t.outcome === undefined) pending.push(parameters);
      else if (t.outcome === "interrupted") {
        // Its parameters run again as a rerun: pending until that rerun exists (then it is counted there).
        if (!this.record.trials.some((r) => r.rerunOf === t.trial.id)) pending.push(parameters);
      } else if (t.outcome === "failed") completed.push({ parameters, infeasible: true });
      else if (t.outcome !== "cancelled") completed.push({ parameters, value: finalValue(t.trial, metricId) });
    }
    const index = this.record.trials.filter((t) => t.rerunOf === undefined).length;
    const [next] = (this.options.suggest ?? defaultSuggest)({
      space: job.studySpec ?? {},
      completed,
      pending,
      count: 1,
      seed: suggestionSeed(this.record.ordinal, index),
      studySeed: studySeed(this.record.ordinal),
      budget: job.maxTrialCount ?? undefined,
    });
    return next;
  }

  private launch(parameters: TrialParameter[], rerunOf?: string): void {
    const record = this.store.startTrial(this.record.id, parameters, rerunOf);
    const trialId = record.trial.id;
    this.log(`trial ${trialId} starts${rerunOf ? ` (rerun of interrupted trial ${rerunOf})` : ""}: ${JSON.stringify(toAssignment(parameters))}`);
    const trialProcess = this.trialProcess(record);
    if (!trialProcess) return;
    let pid: number | undefined;
    try {
      pid = trialProcess.start(this.options.repoRoot);
    } catch (error) {
      // E.g. its folders cannot be created: the trial fails; the job goes on (or hits its budget).
      this.end(record, "failed", `could not start the trial: ${(error as Error).message}`);
      return;
    }
    this.running.set(trialId, trialProcess);
    if (pid !== undefined) this.store.setPid(this.record.id, trialId, pid);
  }

  /**
   * The process of a trial, not yet started or attached, that reports to this scheduler; or
   * undefined when its command cannot run locally (the trial has then failed).
   * @param startedAt the trial's start (a followed trial's, not now)
   * @param unseen which re-read measurements are new (a followed trial's file holds recorded ones)
   */
  private trialProcess(record: TrialRecord, startedAt?: number, unseen: (m: Measurement) => boolean = () => true): TrialProcess | undefined {
    const trialId = record.trial.id;
    const command = trialCommand(this.record.job, record.trial.parameters as TrialParameter[], {
      repoRoot: this.options.repoRoot,
      stateDir: this.store.stateDir,
      trialDir: this.trialDir(trialId),
      trialId,
      cores: this.options.cores,
    });
    if ("error" in command) {
      this.end(record, "failed", command.error);
      return undefined;
    }
    const timeout = this.record.job.trialJobSpec?.scheduling?.timeout;
    const trialProcess: TrialProcess = new TrialProcess(this.trialDir(trialId), command, this.metricId, timeout ? parseFloat(timeout) * 1000 : undefined, {
      onMeasurements: (measurements) => unlessFolderLost(() => this.measured(record, trialProcess, measurements.filter(unseen))),
      onExit: (exit) => {
        this.running.delete(trialId);
        if (exit.stopReason !== "shutdown") unlessFolderLost(() => this.ended(record, exit, timeout, command.argv[0]!));
        // On the next turn of the event loop, not in this exit's callback: a trial spawned here
        // that exits as fast (a trainer that only reports a line) is reaped, and the next spawned,
        // within the same pass of libuv over exited children, so with parallel trials the chain
        // held the server's event loop until the study ended (no request answered, no metrics
        // file read, no timeout checked).
        this.pumpSoon();
      },
    }, this.options, startedAt);
    return trialProcess;
  }

  /**
   * Records what one look found and judges the trial once, on all of it (the median rule at each
   * new measurement's step, in one pass): early stopping compares the trial's curve with every
   * completed trial's, so a judgement per measurement of a trainer that reports every step
   * (thousands a look) held the server for minutes.
   */
  private measured(record: TrialRecord, trialProcess: TrialProcess, measurements: Measurement[]): void {
    if (measurements.length === 0) return;
    for (const m of measurements) this.store.addMeasurement(this.record.id, record.trial.id, m);
    // Measurements read after the process exited (its last read) are recorded, not judged: a stop
    // could no longer be sent, and its log line would contradict the trial's end.
    if (this.record.job.state !== "JOB_STATE_RUNNING" || trialProcess.stopping || trialProcess.exited) return;
    // Without a rule there is nothing to judge, and the completed trials below are a pass over
    // every trial of the study at each look (about 0.5 s of the server's CPU per 200 trials by the
    // 2,000th of a fast trainer's study).
    const spec = this.record.job.studySpec ?? {};
    if (!stoppingRule(spec)) return;
    const metricId = this.metricId;
    const completed = this.record.trials
      .filter((t) => t.outcome === "succeeded" || t.outcome === "stopped")
      .map((t) => ({ measurements: t.trial.measurements, final: finalValue(t.trial, metricId), stoppedEarly: t.outcome === "stopped" }));
    const decision = shouldStop(spec, record.trial.measurements, completed, measurements.length, this.medians);
    if (decision?.stop) {
      this.log(`trial ${record.trial.id} stopped early: ${decision.why}`);
      trialProcess.note(`stopped early: ${decision.why}`);
      trialProcess.stop("early-stop");
      // STOPPING until its process ends, as Vertex shows it; unless the stop found it ended.
      if (trialProcess.stopping) this.store.stoppingTrial(this.record.id, record.trial.id);
    }
  }

  /** Turns a process's exit into the trial's outcome and reason. */
  private ended(record: TrialRecord, exit: TrialExit, timeout: string | null | undefined, program: string): void {
    const spec = this.record.job.studySpec ?? {};
    const metricId = this.metricId;
    const measurements = record.trial.measurements;
    const final = selectFinal(measurements, spec.measurementSelectionType, metricId, spec.metrics?.[0]?.goal);
    const tail = exit.stderrTail ? `; last lines of stderr:\n${exit.stderrTail}` : "";
    // NaN, Infinity or -Infinity as reported: an overflowed loss is no NaN to look for.
    const reportedNonFinite = exit.nonFinite === undefined ? undefined : `the trial reported ${exit.nonFinite.value} for the metric "${metricId}" at step ${exit.nonFinite.step}`;
    if (exit.stopReason === "cancel") {
      this.end(record, "cancelled", this.failure ? "stopped because the job failed" : "cancelled with the job");
    } else if (exit.stopReason === "timeout") {
      // Named as both write it: `tune run` and the component take `trial.timeoutSeconds` from
      // the study, a job sent to the API directly sets the Vertex field.
      this.end(record, "failed", `timed out after ${parseFloat(timeout ?? "0")}s (the study's trial.timeoutSeconds, the job's trialJobSpec.scheduling.timeout)`);
    } else if (exit.stopReason === "early-stop") {
      // As at its end: a trial that reported NaN fails, whether or not a rule cut it first (it
      // succeeded, with its finite measurements, when the stop came first).
      if (reportedNonFinite) this.end(record, "failed", reportedNonFinite);
      else if (final) this.end(record, "stopped", undefined, final);
      else this.end(record, "failed", "stopped early before it reported the metric");
    } else if (exit.spawnError) {
      this.end(record, "failed", `could not start the trial command: ${exit.spawnError}${startFailureHint(program, exit.spawnError, this.options.repoRoot)}`);
    } else if (exit.code !== 0) {
      this.end(record, "failed", `the trial process ${exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`}${tail}`);
    } else if (reportedNonFinite) {
      this.end(record, "failed", reportedNonFinite);
    } else if (!final && exit.unreadable !== undefined) {
      this.end(record, "failed", `the trial never reported the metric "${metricId}" as a number: it wrote ${exit.unreadable.slice(0, 200)}; report a float with cloudml-hypertune (a tensor's value, e.g. float(tensor), not the tensor)`);
    } else if (!final) {
      // A file of lines that are no JSON report (`{"acc": np.float64(0.9)}`, numpy 2's repr written
      // by hand) is not "empty or missing", which sent its user looking for a wrong path.
      const unread = exit.malformed === undefined ? "" : `lines that read as no report (each noted in trial.log), such as ${exit.malformed.slice(0, 200)}`;
      const others = exit.tags.length
        ? `it reported only ${exit.tags.map((t) => JSON.stringify(t)).join(", ")}${unread ? `, and ${unread}` : ""}`
        : unread
          ? `its metrics file held only ${unread}`
          : "its metrics file was empty or missing";
      this.end(record, "failed", `the trial never reported the metric "${metricId}" (${others}); report it with cloudml-hypertune under the study's metricId`);
    } else {
      this.end(record, "succeeded", undefined, final);
    }
  }

  private end(record: TrialRecord, outcome: TrialOutcome, reason?: string, final?: Measurement): void {
    this.store.endTrial(this.record.id, record.trial.id, outcome, reason, final);
    // On one line as tune shows it: the first line alone of a crash's reason was its lead-in
    // ("…; last lines of stderr:"), with the exception that says why left out.
    this.log(`trial ${record.trial.id} ended ${outcome}${reason ? `: ${reasonLine(reason)}` : ""}`);
  }
}
