/** The `fields` system parameter (local/fields.ts): Google's partial-response selector syntax and its checks. */
import { describe, expect, it } from "vitest";
import { ApiError } from "../../local/errors";
import { parseFields, requestedFields, selectFields } from "../../local/fields";

const job = {
  name: "projects/p/locations/l/hyperparameterTuningJobs/1",
  state: "JOB_STATE_RUNNING",
  maxTrialCount: 2,
  labels: { team: "a" },
  studySpec: { metrics: [{ metricId: "accuracy", goal: "MAXIMIZE" }], algorithm: "RANDOM_SEARCH" },
  trials: [
    {
      id: "1",
      state: "SUCCEEDED",
      parameters: [{ parameterId: "x", value: 0.5 }],
      measurements: [{ stepCount: "1", metrics: [{ metricId: "accuracy", value: 0.4 }] }],
      finalMeasurement: { stepCount: "1", metrics: [{ metricId: "accuracy", value: 0.4 }] },
    },
    { id: "2", state: "ACTIVE", parameters: [{ parameterId: "x", value: 0.7 }] },
  ],
};

/** The job as `fields=<selector>` answers it. */
function select(selector: string): unknown {
  return selectFields(job, requestedFields(new URLSearchParams({ fields: selector }), "HyperparameterTuningJob"));
}

/** The 400 a selector gets. */
function refusal(selector: string): ApiError {
  try {
    select(selector);
  } catch (error) {
    return error as ApiError;
  }
  throw new Error(`${selector} was taken`);
}

describe("fields", () => {
  it("keeps only the fields selected, each element of a list alike, and drops what a trial lacks", () => {
    expect(select("state,trials(id,finalMeasurement/metrics)")).toEqual({
      state: "JOB_STATE_RUNNING",
      trials: [{ id: "1", finalMeasurement: { metrics: [{ metricId: "accuracy", value: 0.4 }] } }, { id: "2" }],
    });
    expect(select("studySpec/metrics/metricId")).toEqual({ studySpec: { metrics: [{ metricId: "accuracy" }] } });
  });

  it("reads a/b, a.b and a(b) alike, and merges selections of the same field", () => {
    const expected = { trials: [{ id: "1", state: "SUCCEEDED" }, { id: "2", state: "ACTIVE" }] };
    expect(select("trials/id,trials/state")).toEqual(expected);
    expect(select("trials.id, trials(state)")).toEqual(expected);
    expect(select("trials(id),trials(state)")).toEqual(expected);
  });

  it("takes * as every field where it stands, and a field selected whole stays whole", () => {
    expect(select("*")).toEqual(job);
    expect(select("state,*")).toEqual(job);
    expect(select("trials(*)")).toEqual({ trials: job.trials });
    expect(select("trials/*")).toEqual({ trials: job.trials });
    expect(select("trials(id),trials")).toEqual({ trials: job.trials });
    expect(select("trials,trials(id)")).toEqual({ trials: job.trials });
  });

  it("answers whole without the parameter or with an empty one, and merges fields with $fields", () => {
    expect(requestedFields(new URLSearchParams(), "HyperparameterTuningJob")).toBe(true);
    expect(select("")).toEqual(job);
    const both = requestedFields(new URLSearchParams("fields=state&%24fields=name"), "HyperparameterTuningJob");
    expect(selectFields(job, both)).toEqual({ name: job.name, state: job.state });
  });

  it("selects inside the list answer", () => {
    const answer = { hyperparameterTuningJobs: [job, { name: "n2", state: "JOB_STATE_SUCCEEDED" }], nextPageToken: "Mg" };
    const selection = requestedFields(new URLSearchParams({ fields: "hyperparameterTuningJobs(name),nextPageToken" }), "ListHyperparameterTuningJobsResponse");
    expect(selectFields(answer, selection)).toEqual({ hyperparameterTuningJobs: [{ name: job.name }, { name: "n2" }], nextPageToken: "Mg" });
  });

  it("refuses a selector that does not parse with 400 INVALID_ARGUMENT naming the parameter and the place", () => {
    for (const [selector, why] of [
      ["trials(id", /"\)" was expected at its end/],
      ["state,", /a field name was expected at its end/],
      ["trials()", /a field name was expected at "\)"/],
      ["state)", /"," or the end was expected at "\)"/],
      ["sta-te", /"," or the end was expected at "-te"/],
      ["trials//id", /a field name was expected at "\/id"/],
      ["*/id", /nothing may follow it/],
      ["trials(*,id)(state)", /"," or the end was expected/],
      [`${"trials(".repeat(60)}id${")".repeat(60)}`, /nest more than 50 deep/],
    ] as const) {
      const error = refusal(selector);
      expect(error, selector).toBeInstanceOf(ApiError);
      expect(error.httpCode, selector).toBe(400);
      expect(error.status, selector).toBe("INVALID_ARGUMENT");
      expect(error.message, selector).toContain(`invalid fields parameter ${JSON.stringify(selector)}`);
      expect(error.message, selector).toMatch(why);
    }
  });

  it("refuses a field the answer's message does not have (a typo would pass here and fail on Vertex), and a selection inside a value", () => {
    expect(refusal("stat").message).toMatch(/HyperparameterTuningJob has no field "stat" \("stat"\)/);
    expect(refusal("trials(id,finalMeasurment)").message).toMatch(/Trial has no field "finalMeasurment" \("trials\/finalMeasurment"\)/);
    expect(refusal("studySpec/metrics/metric").message).toMatch(/StudySpecMetricSpec has no field "metric"/);
    expect(refusal("state/name").message).toMatch(/"state" has no fields to select inside it/);
    expect(refusal("labels/team").message).toMatch(/"labels" has no fields to select inside it/);
    // Proto names are not JSON names; and an object's inherited keys are no fields.
    expect(refusal("max_trial_count").message).toMatch(/has no field "max_trial_count"/);
    expect(refusal("constructor").message).toMatch(/has no field "constructor"/);
    expect(() => requestedFields(new URLSearchParams({ fields: "nextPageToken" }), "HyperparameterTuningJob")).toThrow(/has no field "nextPageToken"/);
  });

  it("parses a selector into its tree", () => {
    expect(parseFields("a(b/c,d),a/e")).toEqual({ a: { b: { c: true }, d: true, e: true } });
    expect(parseFields(" * ")).toBe(true);
  });
});
