/**
 * Waiting for a job to end: polling with a backoff from a few seconds up to a minute (a tuning
 * job runs for hours; a faster poll only spends API quota), bounded by a deadline, reporting
 * progress as it changes.
 */
import { bestTrial } from "../spec/bestTrial";
import { printable } from "../spec/printable";
import { endedTrialCount } from "../spec/trials";
import type { VertexJob } from "../spec/vertexJson";
import type { Clock } from "./clock";
import type { VertexClient } from "./client";
import { isTerminal } from "./outputs";

/** How to poll. */
export interface PollPolicy {
  /** The first interval. Default 5 s. */
  initialMs: number;
  /** The interval grows by this factor each poll. Default 1.5. */
  factor: number;
  /** The longest interval. Default 60 s. */
  maxMs: number;
}

export const DEFAULT_POLL: PollPolicy = { initialMs: 5_000, factor: 1.5, maxMs: 60_000 };

/** The job as last seen, and whether the deadline came first. */
export interface WaitResult {
  job: VertexJob;
  timedOut: boolean;
}

/**
 * What `progressReporter` and the wait loop read of a polled job, as Google's `fields` selector:
 * a poll of a study of thousands of trials is then not sent every intermediate measurement
 * (some 20 MB at 2,000 trials of 100). Only fields Vertex AI has: it refuses a selector naming another.
 */
export const PROGRESS_FIELDS = "name,state,maxTrialCount,studySpec/metrics(metricId,goal),trials(id,state,finalMeasurement,endTime,infeasibleReason)";

/**
 * Polls `name` until it ends or `deadline` (epoch ms of `clock`) passes.
 * @param onPoll called with the job after every get (progress reporting)
 * @param fields what each poll asks for (a `fields` selector that includes `state`, and what
 *   `onPoll` reads); the job returned is then read whole, once, for what reads it afterwards
 *   (outputs, reports)
 */
export async function waitForJob(
  client: VertexClient,
  name: string,
  deadline: number,
  clock: Clock,
  onPoll: (job: VertexJob) => void = () => {},
  poll: PollPolicy = DEFAULT_POLL,
  fields?: string,
): Promise<WaitResult> {
  const whole = async (polled: VertexJob) => (fields ? client.get(name) : polled);
  let job = await client.get(name, fields);
  onPoll(job);
  for (let interval = poll.initialMs; !isTerminal(job); interval = Math.min(interval * poll.factor, poll.maxMs)) {
    const left = deadline - clock.now();
    if (left <= 0) {
      // It may have ended since the last poll: then it did not time out.
      const last = await whole(job);
      return { job: last, timedOut: !isTerminal(last) };
    }
    await clock.sleep(Math.min(interval, left));
    job = await client.get(name, fields);
    onPoll(job);
  }
  return { job: await whole(job), timedOut: false };
}

/**
 * A progress reporter: one line each time the trials finished or the best value change (it reads
 * what PROGRESS_FIELDS selects), e.g.
 * `projects/p/locations/l/hyperparameterTuningJobs/1: 3/10 trials finished, best accuracy 0.91 (trial 2)`.
 */
export function progressReporter(write: (line: string) => void): (job: VertexJob) => void {
  let last = "";
  return (job) => {
    const trials = job.trials ?? [];
    const finished = endedTrialCount(trials);
    const best = bestTrial(job);
    const metric = job.studySpec?.metrics?.[0]?.metricId ?? "metric";
    // Escaped as tune's lines are: the metric id is the study's (only white space is refused in
    // it), and an escape sequence in it reached the terminal of `pulumi up` through the engine.
    const line = printable(`${job.name}: ${job.state}, ${finished}/${job.maxTrialCount ?? "?"} trials finished` +
      (best ? `, best ${metric} ${best.metricValue} (trial ${best.id})` : ""));
    if (line !== last) write(line);
    last = line;
  };
}
