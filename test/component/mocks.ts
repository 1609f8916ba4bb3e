/**
 * Pulumi's mock runtime for the component tests (research/pulumi.md §3.2): every registered
 * resource is recorded with its type, name, inputs and provider; Google Cloud outputs that the
 * component reads (emails, names) are filled in the way Google Cloud would.
 */
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "vertex-tuning";
export const STACK = "dev";
export const JOB_TYPE = "pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob";

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
  provider?: string;
  custom?: boolean;
  /** When the mock answered, in the order of `tick()`: later registrations and invokes have a larger number. */
  answeredAt?: number;
}

/** A provider function call (invoke) the mocks answered. */
export interface RecordedInvoke {
  token: string;
  inputs: Record<string, any>;
  provider?: string;
  /** When it reached the mocks, in the order of `tick()`. */
  at: number;
}

/** Every invoke answered so far (one list per test file: each runs in its own process). */
export const invokes: RecordedInvoke[] = [];

let clock = 0;
/** A logical clock shared by resource answers and invokes, to test what waits for what. */
const tick = () => ++clock;

/**
 * APIs are answered late, as enabling one takes a while: whatever waits for them is seen to
 * reach the mocks after they are answered, and whatever does not wait, before.
 */
const API_ANSWER_DELAY_MS = 100;

/** What the mocked job reports after its run: three trials, trial 2 the best. */
export const BEST_TRIAL = {
  id: "2",
  parameters: { "learning-rate": 0.0031, "num-units": 256, "dropout-rate": 0.2, "batch-size": 64 },
  metricValue: 0.91,
  finalMeasurement: { stepCount: "20", metrics: [{ metricId: "accuracy", value: 0.91 }] },
  endTime: "2026-12-04T10:00:00Z",
};

/** Outputs the mocked provider returns for a job: its inputs plus the observed state. */
function jobState(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const { __provider: _provider, ...inputs } = args.inputs;
  const id = "projects/p/locations/us-central1/hyperparameterTuningJobs/123";
  return {
    ...inputs,
    name: id,
    state: "JOB_STATE_SUCCEEDED",
    trialCounts: { total: 3, succeeded: 3, infeasible: 0, active: 0, stopping: 0, requested: 0 },
    trials: [],
    bestTrial: BEST_TRIAL,
    consoleUrl: inputs.backend === "local" ? "" : `https://console.cloud.google.com/vertex-ai/training/hyperparameter-tuning-jobs/123?project=${inputs.project}`,
  };
}

/** Computed outputs of Google Cloud resources, as the real provider would return them. */
function computed(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const i = args.inputs;
  switch (args.type) {
    case "gcp:storage/bucket:Bucket":
      return { name: i.name ?? `${args.name}-4f2a9c` };
    case "gcp:serviceaccount/account:Account": {
      const email = `${i.accountId}@${i.project}.iam.gserviceaccount.com`;
      return { email, member: `serviceAccount:${email}`, name: `projects/${i.project}/serviceAccounts/${email}` };
    }
    case "gcp:projects/serviceIdentity:ServiceIdentity": {
      const email = `service-123456@gcp-sa-${String(i.service).split(".")[0]}.iam.gserviceaccount.com`;
      return { email, member: `serviceAccount:${email}` };
    }
    case "gcp:artifactregistry/repository:Repository":
      return { name: i.repositoryId, createTime: "2026-12-04T09:00:00.000000Z" };
    case JOB_TYPE:
      return jobState(args);
    default:
      return {};
  }
}

export const STORAGE_AGENT = "service-123456@gs-project-accounts.iam.gserviceaccount.com";
/** What `gcp.organizations.getClientConfig` answers: the project and region of the provider in use. */
export const CLIENT_CONFIG = { project: "provider-project", region: "europe-west4", zone: "", accessToken: "", id: "x" };

/**
 * Installs the mocks (not a preview: outputs resolve) and returns the live list of recorded
 * resources. `stackOutputs` answers StackReferences.
 */
export async function installMocks(stackOutputs: Record<string, unknown> = {}, project = PROJECT): Promise<Recorded[]> {
  const recorded: Recorded[] = [];
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const record: Recorded = { type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, custom: args.custom };
        recorded.push(record);
        if (args.type === "pulumi:pulumi:StackReference") {
          return { id: args.inputs.name, state: { ...args.inputs, outputs: stackOutputs, secretOutputNames: [] } };
        }
        if (args.type === "gcp:projects/service:Service") await new Promise((resolve) => setTimeout(resolve, API_ANSWER_DELAY_MS));
        record.answeredAt = tick();
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computed(args) } };
      },
      call(args) {
        invokes.push({ token: args.token, inputs: args.inputs, provider: args.provider, at: tick() });
        if (args.token === "gcp:storage/getProjectServiceAccount:getProjectServiceAccount") {
          return { emailAddress: STORAGE_AGENT, member: `serviceAccount:${STORAGE_AGENT}`, project: args.inputs.project, id: "x" };
        }
        if (args.token === "gcp:organizations/getClientConfig:getClientConfig") return CLIENT_CONFIG;
        throw new Error(`unexpected call ${args.token}`);
      },
    },
    project,
    STACK,
    false,
  );
  return recorded;
}

/** The value of an output (mocks are not a preview, so every output resolves). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Records every child a component creates, with its parent, through a (client-side) transformation. */
export function childRecorder() {
  const children: pulumi.ResourceTransformationArgs[] = [];
  const transformation: pulumi.ResourceTransformation = (args) => {
    children.push(args);
    return undefined;
  };
  /** Each child's URN, by logical name. */
  const urns = async () => {
    const entries = await Promise.all(children.map(async (c) => [c.name, await promiseOf(c.resource.urn)] as const));
    return Object.fromEntries(entries);
  };
  return { transformation, children, urns };
}

/** The single recorded resource of a type and name; fails clearly when absent or repeated. */
export function one(recorded: Recorded[], type: string, name: string): Recorded {
  const found = recorded.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${type} named ${name}, found ${found.length} among ${recorded.map((r) => `${r.type}::${r.name}`).join(", ")}`);
  }
  return found[0];
}

export const ofType = (recorded: Recorded[], type: string) => recorded.filter((r) => r.type === type);
