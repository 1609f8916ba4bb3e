/**
 * The resource class under Pulumi's mocks: its type token, the inputs it adds for the provider,
 * and that its provider serializes (mocks serialize `__provider` too, and fail on what cannot be).
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { HyperparameterTuningJob } from "../../components/tuningJob";
import { shortHash, specHash } from "../../components/spec";
import { REPO_ROOT, testJob } from "./helpers";

const created: pulumi.runtime.MockResourceArgs[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        created.push(args);
        return { id: `${args.name}-id`, state: { ...args.inputs, name: "projects/p/locations/l/hyperparameterTuningJobs/1", state: "JOB_STATE_SUCCEEDED" } };
      },
      call: () => ({}),
    },
    "proj",
    "stack",
    false,
  );
});

const promiseOf = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

describe("HyperparameterTuningJob", () => {
  it("registers a pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob with its identity and spec hash", async () => {
    const job = testJob();
    const resource = new HyperparameterTuningJob("study-job", { project: "p", location: "us-central1", job });
    expect(await promiseOf(resource.state)).toBe("JOB_STATE_SUCCEEDED");
    const args = created.find((c) => c.name === "study-job")!;
    expect(args.type).toBe("pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob");
    expect(args.inputs.identity).toBe(shortHash("urn:pulumi:stack::proj::pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob::study-job"));
    expect(args.inputs.specHash).toBe(specHash(job));
    expect(args.inputs.localBackendModule).toBeUndefined();
    expect(typeof args.inputs.__provider).toBe("string");
  });

  it("hashes the full URN, parent chain included, and points the local backend at local/embedded", async () => {
    class Study extends pulumi.ComponentResource {
      constructor(name: string) {
        super("vertex:index:Study", name);
      }
    }
    const parent = new Study("study");
    const resource = new HyperparameterTuningJob("study-job2", { project: "p", location: "l", job: testJob(), backend: "local" }, { parent });
    await promiseOf(resource.urn);
    const args = created.find((c) => c.name === "study-job2")!;
    expect(args.inputs.identity).toBe(shortHash("urn:pulumi:stack::proj::vertex:index:Study$pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob::study-job2"));
    expect(args.inputs.localBackendModule).toBe(`${REPO_ROOT}/local/embedded.ts`);
  });
});
