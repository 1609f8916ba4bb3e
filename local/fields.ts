/**
 * Google's `fields` system parameter (partial response): a selector such as
 * `state,error,trials(id,state,finalMeasurement)` picks the parts of an answer a client wants, so
 * that a client polling a study of thousands of trials is not sent every trial's intermediate
 * measurements each time. The syntax is Google's: selections separated by `,`; `a/b` (or `a.b`)
 * for a field inside another; `a(b,c)` for several fields inside `a` (of each element when `a` is
 * a list); `*` for every field where it stands. An empty selector is the whole answer.
 *
 * As Google's front end does, a selector that does not parse, or names a field the answer's
 * message does not have, is a 400 INVALID_ARGUMENT naming the parameter: a client whose selector
 * works here then works against Vertex AI too. Fields are named by their JSON names.
 */
import { MESSAGE_FIELDS } from "../components/spec/jobShape";
import { ApiError } from "./errors";

/** A selection: every field (`true`), or some fields, each with its own selection. */
export type FieldSelection = true | { [field: string]: FieldSelection };

/**
 * The answers' messages that the request table (`MESSAGE_FIELDS`) does not hold: the list answer
 * and the job's output-only parts, from googleapis' aiplatform v1 schema. A field is a message's
 * name, or "" for a value with no fields to select inside (a scalar, an enum, a map, a
 * `google.protobuf.Value` or `Any`). `earlyStopped` is the local backend's extension of a trial.
 */
const OUTPUT_MESSAGES: Record<string, Record<string, string>> = {
  ListHyperparameterTuningJobsResponse: { hyperparameterTuningJobs: "HyperparameterTuningJob", nextPageToken: "" },
  HyperparameterTuningJob: { trials: "Trial", error: "Status" },
  Trial: {
    name: "", id: "", state: "", parameters: "TrialParameter", finalMeasurement: "Measurement", measurements: "Measurement", startTime: "", endTime: "",
    clientId: "", infeasibleReason: "", customJob: "", webAccessUris: "", earlyStopped: "",
  },
  TrialParameter: { parameterId: "", value: "" },
  Measurement: { elapsedDuration: "", stepCount: "", metrics: "MeasurementMetric" },
  MeasurementMetric: { metricId: "", value: "" },
  Status: { code: "", message: "", details: "" },
};

/** A message's field: the message it holds ("" for none), or undefined when it has no such field. */
function fieldType(message: string, name: string): string | undefined {
  const output = OUTPUT_MESSAGES[message];
  if (output && Object.hasOwn(output, name)) return output[name];
  const request = MESSAGE_FIELDS[message];
  if (!request || !Object.hasOwn(request, name)) return undefined;
  const { type } = request[name]!;
  return Object.hasOwn(MESSAGE_FIELDS, type) ? type : "";
}

/** Parentheses nested deeper than this are refused: the parser recurses once per level. */
const MAX_DEPTH = 50;
const NAME = /[A-Za-z_][A-Za-z0-9_]*|\*/y;

function invalid(selector: string, why: string): ApiError {
  return new ApiError("INVALID_ARGUMENT", `invalid fields parameter ${JSON.stringify(selector)}: ${why}`);
}

/** Adds `path` with `sub` under `into`; a field already selected whole stays whole. */
function add(into: { [field: string]: FieldSelection }, path: string[], sub: FieldSelection): void {
  const [head, ...rest] = path;
  const held = into[head!];
  if (held === true) return;
  if (rest.length === 0 && sub === true) {
    into[head!] = true;
    return;
  }
  const node = (into[head!] = held ?? Object.create(null));
  if (rest.length > 0) add(node, rest, sub);
  else for (const [field, inner] of Object.entries(sub)) add(node, [field], inner);
}

/** Parses a selector; throws a 400 naming what is wrong and where. */
export function parseFields(selector: string): FieldSelection {
  let at = 0;
  const spaces = () => {
    while (selector[at] === " ") at++;
  };
  const where = () => (at < selector.length ? `at ${JSON.stringify(selector.slice(at, at + 10))} (character ${at + 1})` : "at its end");
  const name = (): string => {
    spaces();
    NAME.lastIndex = at;
    const match = NAME.exec(selector);
    if (!match) throw invalid(selector, `a field name was expected ${where()}`);
    at = NAME.lastIndex;
    spaces();
    return match[0];
  };
  const selection = (depth: number): FieldSelection => {
    if (depth > MAX_DEPTH) throw invalid(selector, `parentheses nest more than ${MAX_DEPTH} deep`);
    const fields: { [field: string]: FieldSelection } = Object.create(null);
    let all = false;
    do {
      const path = [name()];
      while (selector[at] === "/" || selector[at] === ".") {
        at++;
        path.push(name());
      }
      let sub: FieldSelection = true;
      if (selector[at] === "(") {
        at++;
        sub = selection(depth + 1);
        if (selector[at] !== ")") throw invalid(selector, `")" was expected ${where()}`);
        at++;
        spaces();
      }
      const star = path.indexOf("*");
      // `a/*` and `a(*)` are `a`; anything after a `*` would select inside every field at once.
      if (star >= 0 && (star < path.length - 1 || sub !== true)) throw invalid(selector, "\"*\" selects every field, so nothing may follow it");
      if (star === 0) all = true;
      else add(fields, star > 0 ? path.slice(0, star) : path, sub);
    } while (selector[at] === "," && ++at);
    return all ? true : fields;
  };
  if (selector.trim() === "") return true;
  const parsed = selection(0);
  if (at < selector.length) throw invalid(selector, `"," or the end was expected ${where()}`);
  return parsed;
}

/** Checks that every field selected is one of `message`'s (recursively); throws a 400 naming the first that is not. */
function checkNames(selector: string, selection: FieldSelection, message: string, path: string): void {
  if (selection === true) return;
  for (const [field, sub] of Object.entries(selection)) {
    const type = fieldType(message, field);
    const here = path ? `${path}/${field}` : field;
    if (type === undefined) throw invalid(selector, `${message} has no field ${JSON.stringify(field)} (${JSON.stringify(here)})`);
    if (sub !== true && type === "") throw invalid(selector, `${JSON.stringify(here)} has no fields to select inside it`);
    checkNames(selector, sub, type, here);
  }
}

/** Keeps what `selection` selects of a JSON value; a list's selection applies to each element. */
export function selectFields(value: unknown, selection: FieldSelection): unknown {
  if (selection === true || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => selectFields(item, selection));
  const kept: Record<string, unknown> = {};
  for (const [field, sub] of Object.entries(selection)) {
    if (Object.hasOwn(value, field)) kept[field] = selectFields((value as Record<string, unknown>)[field], sub);
  }
  return kept;
}

/**
 * The selection a request's `fields` (or `$fields`) asks of an answer of `message`, checked
 * against that message: `true` (the whole answer) when it asks none. Both spellings, or the
 * parameter repeated, select what any of them selects.
 */
export function requestedFields(query: URLSearchParams, message: string): FieldSelection {
  const selectors = [...query.getAll("fields"), ...query.getAll("$fields")];
  if (selectors.length === 0) return true;
  const merged: { [field: string]: FieldSelection } = Object.create(null);
  for (const selector of selectors) {
    const selection = parseFields(selector);
    checkNames(selector, selection, message, "");
    if (selection === true) return true;
    for (const [field, sub] of Object.entries(selection)) add(merged, [field], sub);
  }
  return merged;
}
