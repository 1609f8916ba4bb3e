/**
 * The known field names of a create request: the table against googleapis' aiplatform v1
 * declarations, and the unknown names it finds.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MESSAGE_FIELDS, OUTPUT_ONLY_FIELDS, unknownFields } from "../../local/knownFields";
import { REPO_ROOT, testJob } from "./helpers";

const PREFIX = "Schema$GoogleCloudAiplatformV1";

/** Each `Schema$GoogleCloudAiplatformV1*` interface of v1.d.ts: its fields, their types, whether output-only. */
function declarations(): Map<string, Map<string, { type: string; outputOnly: boolean }>> {
  const text = readFileSync(join(REPO_ROOT, "node_modules/googleapis/build/src/apis/aiplatform/v1.d.ts"), "utf8");
  const result = new Map<string, Map<string, { type: string; outputOnly: boolean }>>();
  for (const m of text.matchAll(/export interface Schema\$GoogleCloudAiplatformV1(\w+) \{\n([\s\S]*?)^ {4}\}/gm)) {
    const fields = new Map<string, { type: string; outputOnly: boolean }>();
    let comment = "";
    let open: { name: string; type: string; outputOnly: boolean } | undefined;
    for (const line of m[2].split("\n")) {
      if (open) {
        // A map's type spans lines, up to `} | null;`.
        open.type += `\n${line}`;
        if (/^ {8}\S.*;$/.test(line)) {
          fields.set(open.name, open);
          open = undefined;
        }
        continue;
      }
      const field = /^ {8}(\w+)\?: (.*)$/.exec(line);
      if (!field) {
        comment = line.trim().startsWith("/**") ? line : `${comment}\n${line}`;
        continue;
      }
      const entry = { name: field[1], type: field[2], outputOnly: /Output only\./.test(comment) };
      comment = "";
      if (entry.type.endsWith(";")) fields.set(entry.name, entry);
      else open = entry;
    }
    result.set(m[1], fields);
  }
  return result;
}

describe("the table of known fields", () => {
  it("has every message reachable from HyperparameterTuningJob in googleapis' v1.d.ts, with all their fields", () => {
    const decl = declarations();
    const expected = new Map<string, Map<string, string>>();
    const todo = ["HyperparameterTuningJob"];
    while (todo.length) {
      const message = todo.shift()!;
      if (expected.has(message)) continue;
      const fields = decl.get(message);
      expect(fields, message).toBeDefined();
      const kinds = new Map<string, string>();
      for (const [name, { type, outputOnly }] of fields!) {
        const ref = new RegExp(`\\${PREFIX.replace("$", "\\$")}(\\w+)`).exec(type);
        // Output-only fields are ignored by create, contents and all: the table stops there.
        const kind = outputOnly ? "output" : type.trimStart().startsWith("{") ? "map" : ref ? ref[1] : "";
        kinds.set(name, kind);
        if (kind && kind !== "output" && kind !== "map") todo.push(kind);
      }
      expected.set(message, kinds);
    }
    const table = new Map([...MESSAGE_FIELDS].map(([message, fields]) => [message, new Map([...fields].sort())]));
    const fromDeclarations = new Map([...expected].map(([message, fields]) => [message, new Map([...fields].sort())]));
    expect(table).toEqual(fromDeclarations);
    expect(expected.size).toBeGreaterThan(25);
  });

  it("derives the output-only fields of a job from the table", () => {
    expect([...OUTPUT_ONLY_FIELDS].sort()).toEqual(
      ["createTime", "endTime", "error", "name", "satisfiesPzi", "satisfiesPzs", "startTime", "state", "trials", "updateTime"],
    );
  });
});

describe("unknownFields", () => {
  it("finds nothing in a valid request, its labels' own keys, or output-only fields", () => {
    expect(unknownFields(testJob(["--steps=1"]))).toEqual([]);
    expect(
      unknownFields({
        ...testJob([]),
        labels: { anything: "goes", "tune-id": "x" },
        // A job read back from the local server: its trials carry an extension field.
        trials: [{ id: "1", earlyStopped: true, whatever: 1 }],
        error: { code: 1, message: "m", details: [{ "@type": "t", anything: 1 }] },
      }),
    ).toEqual([]);
  });

  it("names every unknown field by its JSON path, at every depth, all at once", () => {
    const job = testJob([], {}, {
      medianAutomatedStopingSpec: {},
      parameters: [
        { parameterId: "x", doubleValueSpec: { minValue: 0.1, maxVal: 0.9 } },
        {
          parameterId: "opt",
          categoricalValueSpec: { values: ["a", "b"] },
          conditionalParameterSpecs: [{ parentCategoricalValues: { values: ["a"] }, parameterSpec: { parameterId: "lr", doubleValueSpec: { minValue: 1, maxValue: 2 }, scale: "x" } }],
        },
      ],
    } as never);
    const pool = job.trialJobSpec!.workerPoolSpecs![0];
    Object.assign(pool.containerSpec!, { env: [{ name: "A", value: "1" }, { nmae: "B" }] });
    Object.assign(pool.machineSpec!, { reservationAffinity: { reservationAffinityType: "ANY_RESERVATION", keys: "k" } });
    const request = { ...job, maxFailedTrialCnt: 3, trialJobSpec: { ...job.trialJobSpec, scheduling: { timeout: "1s", restartOnFailure: true } } };
    const issues = unknownFields(request);
    expect(issues.map((i) => i.path)).toEqual([
      "studySpec.parameters[0].doubleValueSpec.maxVal",
      "studySpec.parameters[1].conditionalParameterSpecs[0].parameterSpec.scale",
      "studySpec.medianAutomatedStopingSpec",
      "trialJobSpec.workerPoolSpecs[0].machineSpec.reservationAffinity.keys",
      "trialJobSpec.workerPoolSpecs[0].containerSpec.env[1].nmae",
      "trialJobSpec.scheduling.restartOnFailure",
      "maxFailedTrialCnt",
    ]);
    expect(issues.at(-1)!.message).toContain('unknown field "maxFailedTrialCnt"');
    expect(issues.at(-1)!.message).toContain("maxFailedTrialCount");
  });

  it("refuses a proto (snake_case) name, saying which JSON name the local backend reads", () => {
    const issues = unknownFields({ ...testJob([]), max_trial_count: 3 });
    expect(issues).toEqual([{ path: "max_trial_count", message: expect.stringContaining('the local backend takes only the JSON name "maxTrialCount"') }]);
    // Vertex takes the proto name: the message must not say it refuses it.
    expect(issues[0]!.message).not.toContain("refuses");
  });
});
