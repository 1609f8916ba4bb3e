/**
 * The backend's state: jobs, their trials and delete operations, kept in memory and made durable
 * by the journal (`<state>/journal.jsonl`). Every change goes through one method here that
 * appends its event first and applies it second, and start-up replays the same `apply`, so the
 * state after a restart is exactly the state that was committed.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { VertexJob, VertexTrial } from "../components/spec";
import { Journal, replayJournal } from "./journal";
import type { Measurement } from "./metrics";

/** A parameter as a trial carries it. */
export interface TrialParameter {
  parameterId: string;
  value: number | string;
}

/**
 * How a trial ended. `succeeded` and `stopped` (early stopping) are SUCCEEDED trials; the others
 * are INFEASIBLE, and only `failed` counts toward `maxFailedTrialCount`.
 */
export type TrialOutcome = "succeeded" | "stopped" | "failed" | "cancelled" | "interrupted";

/** The journal's events. */
export type StoreEvent =
  | { e: "job"; job: VertexJob }
  | { e: "state"; jobId: string; state: string; time: string; error?: { code: number; message: string } }
  | { e: "trial"; jobId: string; trialId: string; parameters: TrialParameter[]; time: string; rerunOf?: string }
  | { e: "pid"; jobId: string; trialId: string; pid: number }
  | { e: "measure"; jobId: string; trialId: string; m: Measurement }
  | { e: "stopping"; jobId: string; trialId: string }
  | { e: "end"; jobId: string; trialId: string; outcome: TrialOutcome; time: string; reason?: string; final?: Measurement }
  | { e: "delete"; jobId: string; operation: string; time: string };

/** One trial and what the backend knows of it beyond its Vertex fields. */
export interface TrialRecord {
  trial: VertexTrial & { id: string; measurements: Measurement[] };
  /** Process group of the trial (its leader's pid), once spawned. */
  pid?: number;
  /** The interrupted trial whose parameters this trial runs again. */
  rerunOf?: string;
  outcome?: TrialOutcome;
}

/** One job, its trials in creation order. */
export interface JobRecord {
  id: string;
  /**
   * 1 for the first job this state folder recorded, 2 for the second, and so on (deleted ones
   * count). The optimizer is seeded from it, not from the id, so the n-th study of any fresh
   * state folder starts from the same design.
   */
  ordinal: number;
  job: VertexJob & { name: string; state: string };
  trials: TrialRecord[];
  deleted: boolean;
}

/** A delete operation (`google.longrunning.Operation`). */
export interface OperationRecord {
  name: string;
  done: boolean;
  metadata: Record<string, unknown>;
  response?: Record<string, unknown>;
}

/**
 * A commit refused because the journal is no longer at its path (Store.journalLost): its state
 * folder was deleted, or its journal deleted or replaced, while the server ran.
 */
export class StateFolderLost extends Error {}

/** Job states after which nothing changes. */
export const TERMINAL_STATES = new Set(["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"]);

const now = () => new Date().toISOString();

/** The jobs of one state folder. */
export class Store {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly operations = new Map<string, OperationRecord>();
  private lastJobId = 0;
  private lastOperationId = 0;
  private readonly journal: Journal<StoreEvent>;

  constructor(readonly stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, "journal.jsonl");
    for (const event of replayJournal<StoreEvent>(path)) this.apply(event);
    this.journal = new Journal<StoreEvent>(path);
  }

  close(): void {
    this.journal.close();
  }

  /**
   * Why the journal is no longer the folder's, or undefined while it is. The journal's file stays
   * open: deleted (`rm -rf .tune/state`), it takes every append without an error, and a replay
   * never sees them, so the server would run a study no server after it knows of.
   */
  journalLost(): string | undefined {
    if (this.journal.inPlace()) return undefined;
    return existsSync(this.stateDir) ? `the journal ${this.journal.path} was deleted or replaced` : `the state folder ${this.stateDir} was deleted`;
  }

  /** The folder of a job's log and trial folders. */
  jobDir(jobId: string): string {
    return join(this.stateDir, "jobs", jobId);
  }

  /** Every job that is not deleted, by ascending id (creation order). */
  list(): JobRecord[] {
    return [...this.jobs.values()].filter((j) => !j.deleted);
  }

  /** A job that exists and is not deleted. */
  get(jobId: string): JobRecord | undefined {
    const job = this.jobs.get(jobId);
    return job && !job.deleted ? job : undefined;
  }

  getOperation(name: string): OperationRecord | undefined {
    return this.operations.get(name);
  }

  /**
   * Records a new job (state PENDING) under `parent` (`projects/p/locations/l`) and assigns its
   * id: the time in milliseconds, or one more than the last id if that is later. Vertex never
   * reuses an id, and neither may this backend across state folders: a stack that still names a
   * job of a deleted folder would otherwise refresh, cancel or delete the new folder's job with
   * the same id as its own.
   */
  createJob(parent: string, request: VertexJob): JobRecord {
    const id = String(Math.max(this.lastJobId + 1, Date.now()));
    const time = now();
    // The routes drop a request's output-only fields.
    const job: VertexJob = {
      ...request,
      name: `${parent}/hyperparameterTuningJobs/${id}`,
      state: "JOB_STATE_PENDING",
      createTime: time,
      updateTime: time,
    };
    this.commit({ e: "job", job });
    return this.jobs.get(id)!;
  }

  setState(jobId: string, state: string, error?: { code: number; message: string }): void {
    this.commit({ e: "state", jobId, state, time: now(), error });
  }

  /** Records a trial's intent to run, before its process exists; its id is never reused. */
  startTrial(jobId: string, parameters: TrialParameter[], rerunOf?: string): TrialRecord {
    const job = this.jobs.get(jobId)!;
    const trialId = String(job.trials.length + 1);
    this.commit({ e: "trial", jobId, trialId, parameters, time: now(), rerunOf });
    return job.trials[job.trials.length - 1];
  }

  setPid(jobId: string, trialId: string, pid: number): void {
    this.commit({ e: "pid", jobId, trialId, pid });
  }

  /**
   * Journaled without an fsync of its own (the next synced event, the trial's end at the latest,
   * takes it to disk): a trainer that reports every step sent hundreds of measurements a second,
   * and one fsync each (3.5 ms here) held the server's event loop for all of them. A measurement
   * needs none: a kill of the server leaves the written line in the page cache, and one lost with
   * the machine belongs to a trial the machine's end killed too, which runs again as a new trial
   * (an interrupted trial's measurements decide nothing).
   */
  addMeasurement(jobId: string, trialId: string, m: Measurement): void {
    this.commit({ e: "measure", jobId, trialId, m }, false);
  }

  /**
   * Marks a running trial STOPPING: an early-stopping rule has stopped it and its process has not
   * ended yet (SIGTERM, then SIGKILL after the grace period; a trainer may save its model first).
   * Vertex shows such a trial as STOPPING, not ACTIVE, and clients count it so (trialCounts.stopping).
   */
  stoppingTrial(jobId: string, trialId: string): void {
    this.commit({ e: "stopping", jobId, trialId });
  }

  endTrial(jobId: string, trialId: string, outcome: TrialOutcome, reason?: string, final?: Measurement): void {
    this.commit({ e: "end", jobId, trialId, outcome, time: now(), reason, final });
  }

  /** Deletes a job (it must be terminal: the caller checks) and returns its finished delete operation. */
  deleteJob(jobId: string): OperationRecord {
    const job = this.jobs.get(jobId)!;
    const parent = job.job.name.replace(/\/hyperparameterTuningJobs\/.*$/, "");
    const operation = `${parent}/operations/${this.lastOperationId + 1}`;
    this.commit({ e: "delete", jobId, operation, time: now() });
    return this.operations.get(operation)!;
  }

  private commit(event: StoreEvent, sync = true): void {
    // At each commit point (a trial's intent before its spawn, an end, a state), not at each
    // measurement, which goes nowhere but the journal and is synced with the next commit point
    // (whose fsync costs far more than this look). Refused, the action that needed it is not taken:
    // no trial starts, no end is recorded, where no replay would find them.
    if (sync) {
      const lost = this.journalLost();
      if (lost) throw new StateFolderLost(lost);
    }
    this.journal.append(event, sync);
    this.apply(event);
  }

  /**
   * A trial by its id, which is its place in the job's trials plus one (startTrial numbers them
   * so, and replay applies the same events in the same order). Looked up there, not searched
   * for: every measurement, pid, stop and end event finds its trial, so a search of the job's
   * trials made replay quadratic (2,000 trials of 50 measurements: 0.45 s of a 0.8 s replay,
   * more with every trial), and the same time again, spread, while the study ran.
   */
  private trial(jobId: string, trialId: string): TrialRecord | undefined {
    const record = this.jobs.get(jobId)?.trials[Number(trialId) - 1];
    return record?.trial.id === trialId ? record : undefined;
  }

  private touch(jobId: string, time: string): void {
    const job = this.jobs.get(jobId);
    if (job) job.job.updateTime = time;
  }

  /** Applies one event to the in-memory state; the same code serves appends and replay. */
  private apply(event: StoreEvent): void {
    switch (event.e) {
      case "job": {
        const id = event.job.name!.split("/").pop()!;
        this.lastJobId = Math.max(this.lastJobId, Number(id));
        this.jobs.set(id, { id, ordinal: this.jobs.size + 1, job: event.job as JobRecord["job"], trials: [], deleted: false });
        break;
      }
      case "state": {
        const job = this.jobs.get(event.jobId);
        if (!job) break;
        job.job.state = event.state;
        job.job.updateTime = event.time;
        if (event.state === "JOB_STATE_RUNNING" && !job.job.startTime) job.job.startTime = event.time;
        if (TERMINAL_STATES.has(event.state)) job.job.endTime = event.time;
        if (event.error) job.job.error = event.error;
        break;
      }
      case "trial": {
        const job = this.jobs.get(event.jobId);
        if (!job) break;
        job.trials.push({
          trial: { id: event.trialId, state: "ACTIVE", parameters: event.parameters, measurements: [], startTime: event.time },
          rerunOf: event.rerunOf,
        });
        this.touch(event.jobId, event.time);
        break;
      }
      case "pid": {
        const trial = this.trial(event.jobId, event.trialId);
        if (trial) trial.pid = event.pid;
        break;
      }
      case "measure": {
        this.trial(event.jobId, event.trialId)?.trial.measurements.push(event.m);
        break;
      }
      case "stopping": {
        const record = this.trial(event.jobId, event.trialId);
        if (record && record.outcome === undefined) record.trial.state = "STOPPING";
        break;
      }
      case "end": {
        const record = this.trial(event.jobId, event.trialId);
        if (!record) break;
        record.outcome = event.outcome;
        const t = record.trial;
        t.state = event.outcome === "succeeded" || event.outcome === "stopped" ? "SUCCEEDED" : "INFEASIBLE";
        t.endTime = event.time;
        // Vertex: an INFEASIBLE trial is one without a final measurement (its measurements stay), so
        // a client that picks the best trial by finalMeasurement never picks a timed-out one.
        // Journals written before this rule may carry one on a cancelled or timed-out trial.
        if (event.final && t.state === "SUCCEEDED") t.finalMeasurement = event.final;
        if (event.reason) t.infeasibleReason = event.reason;
        this.touch(event.jobId, event.time);
        break;
      }
      case "delete": {
        const job = this.jobs.get(event.jobId);
        if (job) job.deleted = true;
        this.lastOperationId = Math.max(this.lastOperationId, Number(event.operation.split("/").pop()));
        this.operations.set(event.operation, {
          name: event.operation,
          done: true,
          metadata: {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata",
            genericMetadata: { createTime: event.time, updateTime: event.time },
          },
          response: { "@type": "type.googleapis.com/google.protobuf.Empty" },
        });
        break;
      }
    }
  }
}

/**
 * The job as the API returns it: `get` includes the trials, `list` does not (as Vertex). A trial
 * ended by early stopping carries `earlyStopped: true`, a local extension (Vertex shows such a
 * trial as a plain SUCCEEDED one).
 */
export function jobView(record: JobRecord, withTrials: boolean): VertexJob {
  const job: VertexJob = { ...record.job };
  if (withTrials && record.trials.length > 0) {
    job.trials = record.trials.map((t) => {
      const trial: VertexTrial & { earlyStopped?: boolean } = { ...t.trial };
      if (trial.measurements?.length === 0) delete trial.measurements;
      if (t.outcome === "stopped") trial.earlyStopped = true;
      return trial;
    });
  }
  return job;
}
