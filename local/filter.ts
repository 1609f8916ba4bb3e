/**
 * The `filter` of `hyperparameterTuningJobs.list`, in the subset of Google's list-filter
 * grammar that clients of this backend use (the resource's idempotency lookup, gcloud, the
 * Python SDK's `HyperparameterTuningJob.list(filter=...)`):
 *
 *   labels.<key>=<value>   labels.<key>!=<value>   labels.<key>:*
 *   state=JOB_STATE_X      state!=JOB_STATE_X
 *   display_name=<name>    display_name!=<name>    display_name:"prefix*"
 *   create_time>"2026-01-01T00:00:00Z"   (also =, !=, <, <=, >=; an RFC 3339 time, as Vertex documents)
 *
 * joined by `AND`. Values and label keys may be double-quoted (JSON strings, in which `AND` is
 * text, not a join). Anything else is refused (400) rather than silently matching everything,
 * so a client never mistakes an unsupported filter for "no jobs".
 */
import { ApiError } from "./errors";

/**
 * The names of aiplatform v1's JobState enum (research/vertex-api.md §1.6). A `state` term is
 * compared with a job's state by name, so a name outside the enum (`SUCCEEDED`, a typo) could
 * only match no job (`=`) or every job (`!=`): it is refused instead, naming the states.
 */
const JOB_STATES = [
  "JOB_STATE_UNSPECIFIED", "JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED",
  "JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED", "JOB_STATE_PAUSED", "JOB_STATE_EXPIRED", "JOB_STATE_UPDATING", "JOB_STATE_PARTIALLY_SUCCEEDED",
];

/** The fields of a job a filter can test. */
export interface Filterable {
  state?: string | null;
  createTime?: string | null;
  displayName?: string | null;
  labels?: Record<string, string> | null;
}

/** A compiled filter: true when the job matches. */
export type JobPredicate = (job: Filterable) => boolean;

const TERM = /^\s*(labels\.(?:"[^"]+"|[^\s=!:<>]+)|state|display_name|displayName|create_time|createTime)\s*(!=|<=|>=|=|<|>|:)\s*("(?:[^"\\]|\\.)*"|[^\s"]+)\s*$/;

/** An RFC 3339 time: date, `T`, time with up to nine digits of fraction, `Z` or an offset. */
const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time as nanoseconds since the epoch, or undefined when it is none (or names no
 * real date, `2026-02-30`). Nanoseconds, as Vertex's timestamps have, so that a bound between
 * two milliseconds compares as it would there; a job's own times are in milliseconds.
 */
function instant(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, date, time, fraction = "", sign, offsetHours, offsetMinutes] = m;
  const ms = Date.parse(`${date}T${time}Z`);
  // Date.parse rolls 02-30 over to 03-02 (and takes hour 24): only a time it writes back the same is one.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== `${date}T${time}`) return undefined;
  const offset = sign ? (sign === "-" ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000 : 0;
  return BigInt(ms - offset) * 1_000_000n + BigInt(fraction.padEnd(9, "0"));
}

/** A value or label key as written; a quoted one is read as a JSON string (its escapes too). */
function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return JSON.parse(value) as string;
  } catch {
    // TERM lets any backslash pair through (`"\q"`, `"\u12"`): a bad one is the client's mistake, not a 500.
    throw new ApiError("INVALID_ARGUMENT", `the filter's quoted string ${value} is not a valid JSON string (escapes: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`);
  }
}

/**
 * `*` in a `:` match is a wildcard over any characters; everything else is literal. Matched by
 * finding each literal piece in turn, the leftmost place after the last: a regular expression of
 * `.*`s backtracks over every way to place them, and `display_name:"a*a*a*a*a*a*a*a*a*a*b"`
 * against a 40-character name held the server (every job's trials with it) for 14 s.
 */
function wildcard(pattern: string): { test(text: string): boolean } {
  const [first, ...rest] = pattern.split("*");
  const last = rest.pop();
  return {
    test: (text) => {
      if (last === undefined) return text === first;
      if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false;
      let at = first.length;
      for (const piece of rest) {
        const found = text.indexOf(piece, at);
        if (found < 0 || found + piece.length > text.length - last.length) return false;
        at = found + piece.length;
      }
      return true;
    },
  };
}

function term(text: string): JobPredicate {
  const m = TERM.exec(text);
  if (!m) throw new ApiError("INVALID_ARGUMENT", `unsupported filter term ${JSON.stringify(text.trim())}: the local backend supports labels.<k>=<v>, labels.<k>!=<v>, labels.<k>:*, state=, state!=, display_name=, display_name!=, display_name: and create_time with =, !=, <, <=, >, >=, joined by AND`);
  const [, field, op, raw] = m;
  const value = unquote(raw);
  if (field === "create_time" || field === "createTime") return timeTerm(op, value);
  if (op.startsWith("<") || op.startsWith(">")) throw new ApiError("INVALID_ARGUMENT", `only create_time supports <, <=, > and >= in a filter (got ${JSON.stringify(text.trim())})`);
  let read: (job: Filterable) => string | undefined;
  if (field.startsWith("labels.")) {
    const key = unquote(field.slice("labels.".length));
    // Own keys only: `labels.constructor` must not find Object.prototype's on every job.
    read = (job) => (job.labels && Object.hasOwn(job.labels, key) ? job.labels[key] : undefined);
  } else if (field === "state") {
    if (op === ":") throw new ApiError("INVALID_ARGUMENT", "state supports only = and != in a filter");
    if (!JOB_STATES.includes(value)) throw new ApiError("INVALID_ARGUMENT", `the filter's state ${JSON.stringify(value)} is no JobState: use one of ${JOB_STATES.join(", ")}`);
    read = (job) => job.state ?? undefined;
  } else {
    read = (job) => job.displayName ?? undefined;
  }
  if (op === "=") return (job) => read(job) === value;
  if (op === "!=") return (job) => read(job) !== value;
  const pattern = wildcard(value);
  return (job) => {
    const actual = read(job);
    return actual !== undefined && pattern.test(actual);
  };
}

/** A `create_time` comparison: the job's creation and the term's time compared as instants. */
function timeTerm(op: string, value: string): JobPredicate {
  if (op === ":") throw new ApiError("INVALID_ARGUMENT", "create_time supports only =, !=, <, <=, > and >= in a filter");
  const bound = instant(value);
  if (bound === undefined) throw new ApiError("INVALID_ARGUMENT", `the filter's create_time ${JSON.stringify(value)} is no RFC 3339 time: write it as "2026-01-01T00:00:00Z"`);
  const compare: Record<string, (a: bigint) => boolean> = {
    "=": (a) => a === bound,
    "!=": (a) => a !== bound,
    "<": (a) => a < bound,
    "<=": (a) => a <= bound,
    ">": (a) => a > bound,
    ">=": (a) => a >= bound,
  };
  return (job) => {
    const created = job.createTime ? instant(job.createTime) : undefined;
    return created !== undefined && compare[op](created);
  };
}

/** A quoted string (taken whole, so an AND in it separates nothing) or the separator between terms. */
const QUOTED_OR_AND = /"(?:[^"\\]|\\.)*"|\s+AND\s+/g;

/** The terms of a filter: its text between the ANDs outside quoted strings (`display_name="a AND b"` is one term). */
function splitTerms(filter: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (const m of filter.matchAll(QUOTED_OR_AND)) {
    if (m[0].startsWith('"')) continue;
    terms.push(filter.slice(start, m.index));
    start = m.index + m[0].length;
  }
  terms.push(filter.slice(start));
  return terms;
}

/** Compiles a list filter; an empty or absent filter matches every job. Throws ApiError(400) on anything unsupported. */
export function parseFilter(filter: string | undefined): JobPredicate {
  if (!filter || !filter.trim()) return () => true;
  const terms = splitTerms(filter).map(term);
  return (job) => terms.every((t) => t(job));
}
