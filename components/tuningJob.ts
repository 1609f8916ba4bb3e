/**
 * The `HyperparameterTuningJob` custom resource: a Pulumi dynamic provider that creates, waits
 * for, refreshes and deletes one Vertex AI hyperparameter tuning job (or one on the local
 * backend, which speaks the same REST API).
 *
 * The provider object is serialized into the stack state and run by Pulumi's dynamic-provider
 * host in another process. So its methods capture nothing but pure helpers of ours (serialized
 * by value) and `require()` every node module inside the method that needs it
 * (DESIGN.md, "Dynamic-provider rules").
 */
import * as path from "node:path";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { shortHash, specHash, type BestTrial } from "./spec";
import type { TrialCounts, TrialSummary, TuningJobArgs, TuningJobInputs, TuningJobOutputs } from "./tuningJobTypes";
import { checkInputs, diffInputs } from "./vertex/inputRules";
import { realClock, type Clock } from "./vertex/clock";
import { createJob, deleteJob, readJob, resumeJob } from "./vertex/lifecycle";

/** What a provider can be built with; tests and the API-budget benchmark inject a clock. */
export interface TuningJobProviderOptions {
  /** Time source for polling and retry backoff. Default: the real clock. */
  clock?: Clock;
  /**
   * Where progress lines go. Default: stdout. A dynamic provider has no engine log of its own,
   * but the engine forwards the dynamic-provider host's stdout lines as info diagnostics of the
   * update, not attached to a resource (`runtrace` in pulumi/pulumi
   * sdk/go/common/resource/plugin/plugin.go; other plugins' output is hidden at debug level).
   */
  log?: (line: string) => void;
}

/** The provider, with every method present and the results' types exact (for direct callers and tests). */
export interface TuningJobProvider extends pulumi.dynamic.ResourceProvider<TuningJobInputs, TuningJobOutputs> {
  check(olds: TuningJobInputs, news: TuningJobInputs): Promise<pulumi.dynamic.CheckResult<TuningJobInputs>>;
  diff(id: string, olds: TuningJobOutputs, news: TuningJobInputs): Promise<pulumi.dynamic.DiffResult>;
  create(inputs: TuningJobInputs): Promise<{ id: string; outs: TuningJobOutputs }>;
  update(id: string, olds: TuningJobOutputs, news: TuningJobInputs): Promise<{ outs: TuningJobOutputs }>;
  read(id: string, props?: TuningJobOutputs): Promise<pulumi.dynamic.ReadResult<TuningJobOutputs>>;
  delete(id: string, props: TuningJobOutputs): Promise<void>;
}

/**
 * Builds the dynamic provider. Each method is a thin adapter from Pulumi's calling convention to
 * the lifecycle functions in `vertex/lifecycle.ts`, which hold the behaviour.
 */
export function makeTuningJobProvider(options: TuningJobProviderOptions = {}): TuningJobProvider {
  const ctx = {
    clock: options.clock ?? realClock,
    log: options.log ?? ((line: string) => console.log(`HyperparameterTuningJob: ${line}`)),
  };
  return {
    async check(olds, news) {
      return checkInputs(olds, news);
    },
    async diff(_id, olds, news) {
      return diffInputs(olds, news);
    },
    async create(inputs) {
      return createJob(inputs, ctx);
    },
    async update(id, olds, news) {
      return { outs: await resumeJob(id, olds, news, ctx) };
    },
    async read(id, props) {
      return readJob(id, props, ctx);
    },
    async delete(id, props) {
      await deleteJob(id, props, ctx);
    },
  };
}

/** The provider every `HyperparameterTuningJob` uses; exported for direct tests. */
export const tuningJobProvider = makeTuningJobProvider();

/**
 * The path of the local backend's `embedded` module beside this file: `dist/local/embedded.js`
 * when this library runs compiled (an installed package or `dist/`), `local/embedded.ts` when it
 * runs from source (tests, `tsx`). It is computed here, in the program's process, because only
 * here is the library's own location known: the provider host runs the serialized provider with
 * the program's working directory and no notion of where its source came from.
 */
function localBackendModulePath(): string {
  const base = path.join(__dirname, "..", "local", "embedded");
  return fs.existsSync(`${base}.js`) ? `${base}.js` : `${base}.ts`;
}

/** googleapis' aiplatform module as this library resolves it (see `vertexApiModule`). */
export function vertexApiModulePath(): string {
  return require.resolve("googleapis/build/src/apis/aiplatform");
}

/** The organization of a self-managed backend (a folder, a bucket): every such stack has it. */
const SELF_MANAGED_ORGANIZATION = "organization";

/**
 * The job's identity label: a hash of the resource's URN and, on a backend with organizations
 * (Pulumi Cloud), of the stack's organization. The URN names the project and the stack but no
 * organization, so two organizations' stacks of one name (a program cloned from the same
 * template) against one Google Cloud project and region took each other's jobs for their own:
 * one's `up` cancelled the other's job as a leftover of its own, or adopted it, and its `destroy`
 * deleted it. A self-managed backend's organization tells no stacks apart and is left out, and so
 * is an organization the CLI does not pass: the identity is then the URN's hash alone, as before.
 */
export function jobIdentity(urn: string): string {
  let organization: string | undefined;
  try {
    organization = pulumi.getOrganization();
  } catch {
    // An older CLI (or a test's mocks) names no organization.
  }
  return shortHash(organization && organization !== SELF_MANAGED_ORGANIZATION ? `${organization}/${urn}` : urn);
}

/**
 * The identity label the resource's jobs carried before it included the organization (the URN's
 * hash alone), when it differs from `jobIdentity`; else undefined. A job an earlier version
 * created but never recorded (an interrupted `up`) carries it: create names such a job, running,
 * so the person can cancel it; it never adopts one (every organization's stack shares the label).
 */
function formerJobIdentity(urn: string): string | undefined {
  const former = shortHash(urn);
  return former === jobIdentity(urn) ? undefined : former;
}

/**
 * A Vertex AI hyperparameter tuning job. `pulumi up` creates it (or adopts the same job left by
 * an interrupted run), waits for it to end and exposes its trials and best trial; a change of
 * the job spec replaces it (delete first); destroy cancels and deletes it.
 *
 * Its type token is `pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob`.
 */
export class HyperparameterTuningJob extends pulumi.dynamic.Resource {
  declare public readonly project: pulumi.Output<string>;
  declare public readonly location: pulumi.Output<string>;
  declare public readonly job: pulumi.Output<TuningJobOutputs["job"]>;
  declare public readonly backend: pulumi.Output<TuningJobOutputs["backend"]>;
  declare public readonly apiEndpoint: pulumi.Output<string | undefined>;
  declare public readonly localStateDir: pulumi.Output<string | undefined>;
  declare public readonly localRepoRoot: pulumi.Output<string | undefined>;
  declare public readonly wait: pulumi.Output<boolean | undefined>;
  declare public readonly waitTimeoutMinutes: pulumi.Output<number | undefined>;
  /** Hash of this resource's URN (its `identityName`'s) and organization (`jobIdentity`), carried by the job as its identity label. */
  declare public readonly identity: pulumi.Output<string>;
  /** The identity label of jobs made before it included the organization (`formerJobIdentity`), if it differs. */
  declare public readonly formerIdentity: pulumi.Output<string | undefined>;
  /** Hash of the job spec, carried by the job as its spec label. */
  declare public readonly specHash: pulumi.Output<string>;
  declare public readonly localBackendModule: pulumi.Output<string | undefined>;
  declare public readonly vertexApiModule: pulumi.Output<string | undefined>;
  /** Full resource name `projects/<p>/locations/<l>/hyperparameterTuningJobs/<id>`. */
  declare public readonly name: pulumi.Output<string>;
  /** `JOB_STATE_*`. */
  declare public readonly state: pulumi.Output<string>;
  declare public readonly createTime: pulumi.Output<string | undefined>;
  declare public readonly endTime: pulumi.Output<string | undefined>;
  /** The job's error with the first trials' failure reasons, when it failed or was cancelled. */
  declare public readonly error: pulumi.Output<string | undefined>;
  declare public readonly trialCounts: pulumi.Output<TrialCounts>;
  declare public readonly trials: pulumi.Output<TrialSummary[]>;
  /** The best trial (DESIGN.md, "Best trial"); undefined until a trial succeeds. */
  declare public readonly bestTrial: pulumi.Output<BestTrial | undefined>;
  /** Google Cloud console page of the job; empty on the local backend. */
  declare public readonly consoleUrl: pulumi.Output<string>;

  /**
   * @param identityName the name whose URN (under the same parent) the job's identity label
   *   hashes. Default: `name`. A resource renamed with `aliases` keeps its old name here, so the
   *   job an interrupted `up` of the old name left running is still found, adopted or cancelled
   *   (the study passes its `idName`'s); with the new name's label, that job was left running
   *   and a second one created. No other job of the stack may have this URN.
   */
  constructor(name: string, args: TuningJobArgs, opts?: pulumi.CustomResourceOptions, identityName: string = name) {
    const type = "pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob";
    // The provider's create gets no URN, so the URN's hash travels as an input. createUrn gives
    // the exact URN, parent chain included, from the parent's URN: no cycle through our own.
    const urn = pulumi.createUrn(identityName, type, opts?.parent);
    const identity = urn.apply(jobIdentity);
    const localBackendModule = pulumi.output(args.backend).apply((b) => (b === "local" ? localBackendModulePath() : undefined));
    super(
      tuningJobProvider,
      name,
      {
        ...args,
        identity,
        formerIdentity: urn.apply(formerJobIdentity),
        specHash: pulumi.output(args.job).apply((job) => specHash(job)),
        localBackendModule,
        vertexApiModule: vertexApiModulePath(),
        name: undefined,
        state: undefined,
        createTime: undefined,
        endTime: undefined,
        error: undefined,
        trialCounts: undefined,
        trials: undefined,
        bestTrial: undefined,
        consoleUrl: undefined,
      },
      { deleteBeforeReplace: true, ...opts },
      "vertex",
      "HyperparameterTuningJob",
    );
  }
}
