/**
 * The provider's preview-time rules, pure and offline: `check` validates the inputs, `diff`
 * decides between no change, an update (the wait settings, or a wait still owed) and a
 * replacement (anything that defines the job: jobs are immutable).
 */
import type * as pulumi from "@pulumi/pulumi";
// Imported from the spec's files, not its index: the provider is serialized by value, and the
// index would carry every spec module along (spec/hash's node:crypto cannot be serialized).
import { canonicalJson } from "../spec/hash";
import { canonicalJob } from "../spec/jobShape";
import { isUnknown } from "../spec/placeholder";
import { localBackendIssues } from "../spec/localRules";
import { checkJob, SETTING_RULES } from "../spec/validate";
import type { TuningJobInputs, TuningJobOutputs } from "../tuningJobTypes";
import { isLocal } from "./connect";
import { apiRoot } from "./endpoint";

/** Inputs that define the job: a change replaces it. */
const REPLACING_KEYS = ["job", "project", "location", "backend", "apiEndpoint"] as const;
/** Inputs that only say how long `pulumi up` waits: a change is an update that resumes waiting. */
const UPDATING_KEYS = ["wait", "waitTimeoutMinutes"] as const;

/** The wait deadline when `waitTimeoutMinutes` is not given: a day. */
export const DEFAULT_WAIT_MINUTES = 24 * 60;

/**
 * What a compared input means once its default is filled in, so that leaving a setting out and
 * writing its default are no change: `backend: "vertex"` added to a job that had none would
 * otherwise replace it (a study of hours run again for nothing), and `wait: true` or
 * `waitTimeoutMinutes: 1440` would show an update at every preview until an `up`. The API root
 * is compared as the client would resolve it with the new backend and location (the regional
 * host when none is given on Vertex AI, a trailing slash added; on the local backend no endpoint
 * means the embedded server), so that a new backend or location is reported as itself only. The
 * job is compared in its one form per field: `"5"` for `5` or `max_trial_count` for
 * `maxTrialCount` would otherwise cancel a running study and run it again.
 */
const EFFECTIVE: Partial<Record<(typeof REPLACING_KEYS)[number] | (typeof UPDATING_KEYS)[number], (inputs: TuningJobInputs, news: TuningJobInputs) => unknown>> = {
  job: (inputs) => canonicalJob(inputs.job),
  backend: (inputs) => inputs.backend ?? "vertex",
  apiEndpoint: (inputs, news) => (isLocal(news) && inputs.apiEndpoint === undefined ? undefined : apiRoot(news.location, inputs.apiEndpoint)),
  wait: (inputs) => waitsForEnd(inputs),
  waitTimeoutMinutes: (inputs) => inputs.waitTimeoutMinutes ?? DEFAULT_WAIT_MINUTES,
};

/**
 * Every validation failure of the inputs, each at its property path (`job.studySpec…`).
 * Values still unknown at preview are skipped, never reported.
 */
export function checkInputs(_olds: TuningJobInputs, news: TuningJobInputs): pulumi.dynamic.CheckResult<TuningJobInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  for (const [key, rule] of [["project", SETTING_RULES.project], ["location", SETTING_RULES.region]] as const) {
    const value: unknown = news[key];
    if (isUnknown(value)) continue;
    // The local backend takes any name (the component's default is "local").
    const reason = typeof value !== "string" || value === "" ? `${key} is required` : isLocal(news) ? undefined : rule(value);
    if (reason) failures.push({ property: key, reason });
  }
  const settings: ["backend" | "wait" | "waitTimeoutMinutes", (value: unknown) => string | undefined][] = [
    ["backend", SETTING_RULES.backend],
    ["wait", SETTING_RULES.flag],
    ["waitTimeoutMinutes", SETTING_RULES.minutes],
  ];
  for (const [key, rule] of settings) {
    const value: unknown = news[key];
    const reason = value !== undefined && !isUnknown(value) ? rule(value) : undefined;
    if (reason) failures.push({ property: key, reason });
  }
  for (const key of ["apiEndpoint", "localStateDir", "localRepoRoot"] as const) {
    const value: unknown = news[key];
    if (value !== undefined && !isUnknown(value) && (typeof value !== "string" || value === "")) {
      failures.push({ property: key, reason: `must be a non-empty string (got ${JSON.stringify(value)})` });
    }
  }
  if (typeof news.apiEndpoint === "string" && !isUnknown(news.apiEndpoint)) {
    if (!/^https?:\/\/[^/\s]+/.test(news.apiEndpoint)) {
      failures.push({ property: "apiEndpoint", reason: `must be an http(s) URL such as http://127.0.0.1:8080/ (got ${JSON.stringify(news.apiEndpoint)})` });
    } else if (!isLocal(news) && !/^https:|^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?(\/|$)/i.test(news.apiEndpoint)) {
      // The vertex backend sends the deployer's Google token with every request: in clear text
      // over plain http to another machine.
      failures.push({ property: "apiEndpoint", reason: `plain http carries the deployer's Google token in clear text: use https, or http to this machine only (127.0.0.1, [::1], localhost) (got ${JSON.stringify(news.apiEndpoint)})` });
    }
  }
  if (news.job === undefined || news.job === null) {
    failures.push({ property: "job", reason: "job is required" });
  } else if (!isUnknown(news.job)) {
    const location = isUnknown(news.location) ? undefined : news.location;
    const { job, issues } = checkJob(news.job, location);
    // What the local backend's create would refuse at up, named now.
    if (isLocal(news)) issues.push(...localBackendIssues(job));
    for (const issue of issues) {
      failures.push({ property: issue.path === "(request)" ? "job" : `job.${issue.path}`, reason: issue.message });
    }
  }
  return { inputs: news, failures };
}

/** Whether `pulumi up` waits for the job's end: always on the local backend (DESIGN.md), else unless `wait` is false. */
export function waitsForEnd(inputs: TuningJobInputs): boolean {
  return isLocal(inputs) || inputs.wait !== false;
}

/**
 * No change for an identical spec, whatever the provider code (`__provider`) or the values only
 * the class computes (`identity`, `formerIdentity`, `specHash`, `localBackendModule`, `vertexApiModule`: they follow
 * the resource's name, the hash function and the program's location; the job itself is compared
 * whole), and for a setting left out or written as its default (`EFFECTIVE`). A value still
 * unknown is reported as a replacement: it may change the job.
 *
 * A job last seen running or ended without success (a failure reason recorded: FAILED,
 * CANCELLED, EXPIRED, or SUCCEEDED without a best trial), while `pulumi up` waits for jobs, is an
 * update even with no input changed: the update waits again (or reports the failure). A
 * PARTIALLY_SUCCEEDED job with a best trial is a success, and no update. A wait
 * that ended at its deadline also leaves the resource "failed to initialize", which makes the
 * engine call update anyway, but a `pulumi refresh` clears that mark, and without this rule the
 * next `up` would pass with the study unfinished.
 */
export function diffInputs(olds: TuningJobOutputs, news: TuningJobInputs): pulumi.dynamic.DiffResult {
  const differs = (key: keyof typeof EFFECTIVE | (typeof REPLACING_KEYS)[number]): boolean => {
    // An unknown value may change anything; the defaults are filled in only for known values.
    if (containsUnknown(news[key])) return true;
    const effective = EFFECTIVE[key as keyof typeof EFFECTIVE];
    return effective ? changed(effective(olds, news), effective(news, news)) : changed(olds[key], news[key]);
  };
  const replaces = REPLACING_KEYS.filter(differs);
  const updates = UPDATING_KEYS.filter(differs);
  const succeeded = (olds.state === "JOB_STATE_SUCCEEDED" || olds.state === "JOB_STATE_PARTIALLY_SUCCEEDED") && olds.error === undefined;
  const unsettled = olds.state !== undefined && !succeeded;
  const waitOwed = waitsForEnd(news) && unsettled;
  return {
    changes: replaces.length + updates.length > 0 || waitOwed,
    replaces,
    deleteBeforeReplace: true,
  };
}

function changed(old: unknown, next: unknown): boolean {
  if (containsUnknown(next)) return true;
  return canonicalJson(old ?? null) !== canonicalJson(next ?? null);
}

function containsUnknown(value: unknown): boolean {
  if (isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}
