/**
 * The job's identity label across Pulumi organizations: the URN names the project and the stack
 * but no organization, so two organizations' stacks of one name, against one Google Cloud project
 * and region, took each other's jobs for their own (cancelled, adopted, deleted). On a backend
 * with organizations the identity includes the stack's; a self-managed backend's (always
 * "organization") tells nothing apart and leaves the identity as it was.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { shortHash } from "../../components/spec";
import { HyperparameterTuningJob } from "../../components/tuningJob";
import { testJob } from "./helpers";

const URN = "urn:pulumi:dev::vertex-tuning::pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob::study-job";

/** The identity (and former identity) the resource registers under the mocks of `organization`. */
async function identityIn(organization: string, key: "identity" | "formerIdentity" = "identity"): Promise<unknown> {
  let inputs: Record<string, unknown> = {};
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        inputs = args.inputs;
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "vertex-tuning",
    "dev",
    false,
    organization,
  );
  const resource = new HyperparameterTuningJob("study-job", { project: "p", location: "us-central1", job: testJob() });
  await new Promise((resolve) => resource.urn.apply(resolve));
  return inputs[key];
}

describe("job identity", () => {
  it("differs between two organizations' stacks of the same project and stack name", async () => {
    const teamA = await identityIn("team-a");
    const teamB = await identityIn("team-b");
    expect(teamA).toBe(shortHash(`team-a/${URN}`));
    expect(teamB).toBe(shortHash(`team-b/${URN}`));
    expect(teamA).not.toBe(teamB);
  });

  it("stays the URN's hash on a self-managed backend, whose organization is always 'organization'", async () => {
    expect(await identityIn("organization")).toBe(shortHash(URN));
    expect(await identityIn("organization", "formerIdentity")).toBeUndefined();
  });

  it("passes the URN's hash alone as the former identity on Pulumi Cloud: the label of the jobs earlier versions made", async () => {
    expect(await identityIn("team-a", "formerIdentity")).toBe(shortHash(URN));
  });
});
