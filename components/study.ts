/**
 * `HyperparameterTuningStudy`: one study definition in, a running (or finished) Vertex AI
 * hyperparameter tuning job out, with everything it needs on Google Cloud: the APIs, a staging
 * bucket, a least-privilege service account for the trials, an Artifact Registry repository and
 * the trainer image built by Cloud Build. On the local backend only the job exists, run on this
 * machine.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as gcpConfig from "@pulumi/gcp/config";
import * as artifactregistry from "@pulumi/gcp/artifactregistry";
import * as kms from "@pulumi/gcp/kms";
import * as organizations from "@pulumi/gcp/organizations";
import * as projects from "@pulumi/gcp/projects";
import * as serviceaccount from "@pulumi/gcp/serviceaccount";
import * as storage from "@pulumi/gcp/storage";
import type * as command from "@pulumi/command";
import {
  DEFAULTS,
  SETTING_RULES,
  UNKNOWN,
  VERTEX_INFRA_PLACEHOLDERS,
  buildJob,
  definitionShapeIssues,
  meaningIssues,
  canonicalJson,
  formatIssues,
  localImageUri,
  shortHash,
  trialModelDir,
  type Backend,
  type BestTrial,
  type Issue,
  type JobContext,
  type StudyDefinition,
  type TrainerDefinition,
  type VertexJob,
} from "./spec";
import { HyperparameterTuningJob } from "./tuningJob";
import type { TrialCounts } from "./tuningJobTypes";
import { buildTrainerImage, contentTag, digestSource, type SourceDigest } from "./trainerImage";
import { gcpId } from "./gcpIds";
import { buildsImage, localSourceIssue } from "./localTrainer";

/** The component's type token. */
export const STUDY_TYPE = "vertex-tuning:index:HyperparameterTuningStudy";

/** Settings of the staging bucket (trial outputs under `<displayName>/<spec hash>/`, build sources under `source/`). */
export interface StagingBucketArgs {
  /** Bucket location. Default: the study's region (a single region, next to the trials). */
  location?: pulumi.Input<string>;
  /**
   * Delete the bucket with its objects (trial outputs, models) on destroy. Default false:
   * `pulumi destroy` leaves the bucket and its models in Google Cloud and drops it from the stack
   * (`retainOnDelete`). A plain value: it decides a resource option.
   */
  forceDestroy?: boolean;
  /** Days after which build sources (`source/`) and build logs (`build-logs/`) are deleted. Default 7. Trial outputs are kept. */
  stagingObjectAgeDays?: pulumi.Input<number>;
}

/** Arguments of `HyperparameterTuningStudy`. Only `study` is required. */
export interface HyperparameterTuningStudyArgs {
  /**
   * The name the study's Google Cloud side derives from: the ids of its service accounts and
   * repository (`<pulumi project>-<idName>-<stack>[-<role>]`), their display names, the default
   * `study.displayName` (so the trials' output folder) and the job's identity label (the URN of
   * `<idName>-job`). Default: the component's name. When renaming the component with `aliases`,
   * set it to the old name so nothing is replaced: the aliases keep the children's URNs, this
   * keeps their inputs, and the finished study is kept rather than run again. The children's
   * Pulumi names (`<name>-<role>`) always follow the component's name. A plain, non-blank string,
   * not an Output: the ids are decided at construction.
   */
  idName?: string;
  /**
   * Where the study runs: `vertex` (default), Vertex AI with its Google Cloud resources, or
   * `local`, this machine's Vertex-compatible backend, which creates no Google Cloud resource.
   * A plain value: it decides which resources exist.
   */
  backend?: Backend;
  /** The study: metric, parameters and trial budget at least (see `StudyDefinition`). */
  study: pulumi.Input<StudyDefinition>;
  /**
   * The container of each trial. Default `{ source: "trainer" }`: the folder `trainer/` (relative
   * to the Pulumi project root) built into the study's repository. With `imageUri` or
   * `pythonPackage` nothing is built and no repository is created. Which of the three it is
   * must be plain (it decides which resources exist); the image and the package's URIs may be
   * Outputs, e.g. an image built by another resource of the stack.
   */
  trainer?: TrainerArgs;
  /**
   * Google Cloud project. Default: the project of a `gcp.Provider` given to the component or a
   * parent, else the `gcp:project` config (or its environment variables).
   */
  project?: pulumi.Input<string>;
  /**
   * Region of the job, the bucket, the repository and the build. Default: the region of a
   * `gcp.Provider` given to the component or a parent, else the `gcp:region` config.
   */
  region?: pulumi.Input<string>;
  /** Labels on the job, the bucket and the repository. */
  labels?: pulumi.Input<Record<string, string>>;
  /**
   * Cloud KMS key (`projects/<p>/locations/<region>/keyRings/<r>/cryptoKeys/<k>`) for the job,
   * the bucket and the repository; it must be in the job's region. The Vertex AI, Cloud Storage
   * and Artifact Registry service agents are granted its use. Default: Google-managed keys.
   */
  kmsKeyName?: pulumi.Input<string>;
  /** Staging bucket settings. */
  bucket?: StagingBucketArgs;
  /** Enable the APIs the study uses (left enabled on destroy). Default true; false where a platform team enables APIs. A plain value. */
  enableApis?: boolean;
  /**
   * Service account the image build runs as. Default: a service account the component creates
   * (id `<pulumi project>-<idName>-<stack>-builder`, shortened with a hash past 30 characters);
   * never the project's default build account. Either is granted
   * `roles/artifactregistry.writer` on the study's repository, `roles/storage.objectUser` and
   * `roles/storage.legacyBucketReader` on the staging bucket (sources and build logs) and
   * `roles/logging.logWriter` on the project; grants to a given account are kept on destroy (it
   * is shared). The deploying identity needs `iam.serviceAccounts.actAs` on it.
   */
  buildServiceAccountEmail?: pulumi.Input<string>;
  /** Keep `pulumi up` running until the job ends, so outputs carry the best trial. Default true (always true on the local backend). */
  wait?: pulumi.Input<boolean>;
  /** Stop waiting after this many minutes; the job keeps running and the next `pulumi up` resumes the wait. Default 24 h. */
  waitTimeoutMinutes?: pulumi.Input<number>;
  /** Local backend: its state folder. Default `.tune/state` under `localRepoRoot`. A relative path is from the Pulumi project root. */
  localStateDir?: pulumi.Input<string>;
  /** Local backend: the folder trial commands run from. Default: the Pulumi project root; a relative path is from there. */
  localRepoRoot?: pulumi.Input<string>;
  /**
   * Override of the Vertex API root, e.g. a local server started by hand. Default: the regional
   * endpoint. On the vertex backend https, or plain http to this machine only: every request
   * carries the deployer's Google token.
   */
  apiEndpoint?: pulumi.Input<string>;
}

/** `TrainerDefinition` as the component takes it: the image and the package's URIs may be Outputs. */
export interface TrainerArgs extends Omit<TrainerDefinition, "imageUri" | "pythonPackage"> {
  /** A prebuilt training image (bring your own); runs its ENTRYPOINT unless `command` is given. */
  imageUri?: pulumi.Input<string>;
  /** A Python package run on a Vertex prebuilt executor image: the seed tutorial's form. */
  pythonPackage?: {
    /** A Vertex AI prebuilt training image, e.g. `us-docker.pkg.dev/vertex-ai/training/tf-gpu.2-17.py310:latest`. */
    executorImageUri: pulumi.Input<string>;
    /** `gs://` URIs of the package tarballs. */
    packageUris: pulumi.Input<pulumi.Input<string>[]>;
    /** The module to run, e.g. `trainer.task`. */
    module: string;
  };
}

/**
 * The APIs enabled on the vertex backend: Resource Manager for the project IAM members; the
 * build's two only when an image is built; Cloud KMS only with a key.
 */
const CORE_APIS = ["aiplatform", "storage", "iam", "cloudresourcemanager"];
const BUILD_APIS = ["artifactregistry", "cloudbuild"];
const CMEK_APIS = ["cloudkms"];

/**
 * Roles of the trial service account: nothing else (DESIGN.md, "Google Cloud resources").
 * Object user, not object admin: admin also sets IAM policies on objects and managed folders.
 * Bucket reader (`storage.buckets.get`, which object user lacks): TensorFlow's
 * `tf.io.gfile.makedirs` on `gs://` (the trainer's checkpoint and model folders) walks up the
 * path while nothing exists there, and in a new job's folder reaches the bucket itself, whose
 * metadata it reads (tsl `FileSystem::RecursivelyCreateDir`, `GcsFileSystem::BucketExists`):
 * without it a new study's every trial fails with 403 at its first makedirs.
 */
const TRIAL_BUCKET_ROLES = { staging: "roles/storage.objectUser", "staging-read": "roles/storage.legacyBucketReader" };
const TRIAL_PROJECT_ROLES = { logs: "roles/logging.logWriter", metrics: "roles/monitoring.metricWriter" };
/**
 * Roles of the build account, each on the narrowest scope: push to the repository; read the
 * staged source and write the log objects; read the bucket's metadata, which Cloud Build checks
 * before it writes logs to a user bucket (its documentation says Storage Admin; this is the
 * bucket-scoped read it needs); write Cloud Logging entries.
 */
const BUILD_ROLES = {
  push: "roles/artifactregistry.writer",
  staging: "roles/storage.objectUser",
  "staging-read": "roles/storage.legacyBucketReader",
  logs: "roles/logging.logWriter",
};
const KMS_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter";
const DEFAULT_STAGING_AGE_DAYS = 7;
/** The bucket's prefixes of build staging (`gcloud builds submit` sources and logs), deleted after `stagingObjectAgeDays`. */
const STAGING_PREFIXES = ["source/", "build-logs/"];
/** Image versions always kept, and the age after which others are deleted. */
const KEEP_IMAGE_VERSIONS = 5;
const IMAGE_MAX_AGE = `${30 * 24 * 3600}s`;

/** A value usable right now (not an Output or a Promise): validation can run at construction. */
function isPrompt(value: unknown): boolean {
  return !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

/**
 * Issues of the settings beside the study, when given as plain values: a flag of the wrong type
 * would otherwise be read by its truthiness (`forceDestroy: "false"` let the bucket, with its
 * models, go at `destroy`; `enableApis: "false"` enabled them), and a misspelt backend would be
 * neither backend.
 */
function settingIssues(args: HyperparameterTuningStudyArgs): Issue[] {
  const settings: [string, unknown, (value: unknown) => string | undefined][] = [
    ["backend", args.backend, SETTING_RULES.backend],
    ["bucket.forceDestroy", args.bucket?.forceDestroy, SETTING_RULES.flag],
    ["enableApis", args.enableApis, SETTING_RULES.flag],
    ["wait", args.wait, SETTING_RULES.flag],
    ["waitTimeoutMinutes", args.waitTimeoutMinutes, SETTING_RULES.minutes],
  ];
  const issues = settings.flatMap(([path, value, rule]) => {
    const message = value !== undefined && isPrompt(value) ? rule(value) : undefined;
    return message ? [{ path, message }] : [];
  });
  // Checked even as an Output: the ids are decided at construction, before its value exists.
  const idName: unknown = args.idName;
  if (idName !== undefined && !usableIdName(idName)) {
    issues.push({ path: "idName", message: `must be a non-blank string, such as the component's name before a rename (got ${isPrompt(idName) ? JSON.stringify(idName) : "an Output or Promise"})` });
  }
  return issues;
}

/** Whether an `idName` can name the study's ids and folder: a string of more than white space. */
function usableIdName(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/** A service account's display name cut to IAM's 100 bytes (a long study name would exceed them). */
function accountDisplayName(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 100) out = out.slice(0, -1);
  return out;
}

/** Where each program run's studies record the Google Cloud ids they took (global: a library loaded twice shares it). */
const CLAIMED_IDS = Symbol.for("vertex-tuning/claimed-gcp-ids");
/** Where each program run's local-backend studies record the names their jobs' identity labels follow. */
const CLAIMED_JOBS = Symbol.for("vertex-tuning/claimed-local-jobs");

/**
 * This program run's record under `key` (global: a library loaded twice shares it). One record
 * per program run: an Automation API program runs again in the same process, with a stack
 * resource of its own each time (and without one, as under test mocks, one record).
 */
function runRecord<K, V>(key: symbol): Map<K, V> {
  const runs = ((globalThis as Record<symbol, WeakMap<object, Map<K, V>> | undefined>)[key] ??= new WeakMap());
  const run = pulumi.runtime.getStackResource() ?? runs;
  let record = runs.get(run);
  if (record === undefined) runs.set(run, (record = new Map()));
  return record;
}

/** A study's claim on ids or a job identity: the argument they come from, and how a refusal names the study. */
interface Claimant {
  /** The argument a refused study is asked to change: `idName` when it is given, else `name`. */
  field: "name" | "idName";
  /** The study as another's refusal names it: `"churn"`, or `"churn" (idName "study")`. */
  label: string;
}

/** The trainer as known at construction: an Output image or package URI as the unknown placeholder. */
function knownTrainer(trainer: TrainerArgs): TrainerDefinition {
  const { imageUri, pythonPackage, ...rest } = trainer;
  return {
    ...rest,
    ...(imageUri !== undefined ? { imageUri: known(imageUri) } : {}),
    ...(pythonPackage !== undefined
      ? {
          pythonPackage: {
            ...pythonPackage,
            executorImageUri: known(pythonPackage.executorImageUri)!,
            packageUris: isPrompt(pythonPackage.packageUris) ? (pythonPackage.packageUris as pulumi.Input<string>[]).map((u) => known(u)!) : (UNKNOWN as never),
          },
        }
      : {}),
  };
}

/** A plain value as it is, an Output or Promise as Pulumi's unknown placeholder (validation skips it). */
function known<T>(value: pulumi.Input<T> | undefined): T | undefined {
  return isPrompt(value) ? (value as T | undefined) : (UNKNOWN as T);
}

/**
 * The folder of Pulumi.yaml, which relative trainer paths start from: the program's working
 * directory is `main` (`stacks/study/`), not the project. Outside the Pulumi engine (mocks,
 * tests) the SDK reports a placeholder, not a path: the working directory stands in.
 */
function projectRoot(): string {
  const root = pulumi.runtime.getRootDirectory();
  return path.isAbsolute(root) ? root : process.cwd();
}

/**
 * A local backend's folder argument (`localStateDir`, `localRepoRoot`) as an absolute path: a
 * relative one is from the project root, as `trainer.source` is. The provider resolves what it is
 * given from its own working directory, the program's (`main`, such as `stacks/study/`), so
 * `.tune/state`, the default written out, named another folder than the default. An empty string
 * is left for the provider's check to refuse.
 */
function fromProjectRoot(folder: pulumi.Input<string> | undefined): pulumi.Input<string> | undefined {
  const resolve = (value: string) => (typeof value === "string" && value !== "" ? path.resolve(projectRoot(), value) : value);
  if (folder === undefined) return undefined;
  return isPrompt(folder) ? resolve(folder as string) : pulumi.output(folder).apply(resolve);
}

/** The folder a `source` trainer's image is built from, and its digest (the image's tag). */
interface TrainerSource {
  dir: string;
  digest: SourceDigest;
}

/**
 * The trainer's source folder, read before any child exists; a folder that cannot be built is
 * an issue at `trainer.source`, reported with the study's own.
 */
function readTrainerSource(trainer: TrainerDefinition): { source?: TrainerSource; issues?: Issue[] } {
  const dir = path.resolve(projectRoot(), trainer.source ?? DEFAULTS.trainerSource);
  try {
    return { source: { dir, digest: digestSource(dir) } };
  } catch (err) {
    return { issues: [{ path: "trainer.source", message: (err as Error).message }] };
  }
}

/**
 * A `source` trainer's folder on the local backend, where it runs as a module from the trials'
 * folder (`localRepoRoot`); checked before the job exists, as the vertex backend's Dockerfile is.
 * A root given as an Output is not known yet: the check is skipped.
 */
function localSourceIssues(trainer: TrainerDefinition, localRepoRoot: pulumi.Input<string> | undefined): Issue[] {
  const repoRoot = known(fromProjectRoot(localRepoRoot)) ?? projectRoot();
  const issue = repoRoot === UNKNOWN ? undefined : localSourceIssue(trainer, repoRoot, projectRoot());
  return issue ? [issue] : [];
}

/**
 * The trainer's source as the backend needs it before any child exists: on Vertex AI the folder
 * an image is built from (read, or its issue); on the local backend the module check and the
 * folder's content tag, which the job records (`localImageUri`); nothing for a prebuilt image or
 * package.
 */
function trainerSourceOf(backend: Backend, trainer: TrainerDefinition, localRepoRoot: pulumi.Input<string> | undefined): { source?: TrainerSource; localImage?: string; issues?: Issue[] } {
  if (backend === "vertex") return buildsImage(trainer) ? readTrainerSource(trainer) : {};
  const issues = localSourceIssues(trainer, localRepoRoot);
  if (issues.length || !buildsImage(trainer)) return { issues };
  // With localRepoRoot an Output the folder was not checked: a missing one has no tag (its trials fail).
  const source = trainer.source ?? DEFAULTS.trainerSource;
  const dir = path.resolve(projectRoot(), source);
  try {
    return { issues, localImage: fs.existsSync(dir) ? localImageUri(portableSource(source), contentTag(dir)) : undefined };
  } catch (err) {
    // A file the tag cannot read (a socket, another user's file) is an issue at trainer.source, as
    // readTrainerSource makes it on Vertex AI, listed with the study's others, not a bare error.
    return { issues: [{ path: "trainer.source", message: (err as Error).message }] };
  }
}

/**
 * A source folder as a path from the project root, whatever its spelling (`./trainer`, absolute,
 * `path.join(__dirname, ...)`): what a job or its output folder may record of it, so that a
 * checkout elsewhere (another machine, a CI runner, a moved clone) keeps them.
 */
function portableSource(source: string): string {
  return path.relative(projectRoot(), path.resolve(projectRoot(), source)).split(path.sep).join("/") || ".";
}

/** `projects/<p>/locations/<l>/keyRings/…` → `<l>`. */
function keyLocation(key: string): string | undefined {
  return /^projects\/[^/]+\/locations\/([^/]+)\//.exec(key)?.[1];
}

/** Everything of the component's that a change of replaces the job. */
export interface JobDefinition {
  study: StudyDefinition;
  trainer: TrainerDefinition;
  /** The built image (a `source` trainer). */
  imageUri?: string;
  labels?: Record<string, string>;
  kmsKeyName?: string;
}

/**
 * `gs://<bucket>/<displayName>/<spec hash>/`: the trials' base output directory. Trial ids start
 * at 1 in every job, so a replacement job (new study, trainer, image, labels or key) gets a folder
 * of its own rather than overwriting the models of the job before it. Fields left unset do not
 * enter the hash, so a definition without labels or key keeps the folder it had before they
 * were part of it.
 */
export function outputDirectory(bucket: string, displayName: string, definition: JobDefinition): string {
  const { trainer } = definition;
  // The source folder as seen from the project root: a checkout elsewhere (another machine, a CI
  // runner) or a path spelled `./trainer` or `path.join(__dirname, "trainer")` names the same
  // folder, and must not replace a finished job. The image tag pins its content.
  const portable = trainer.source === undefined ? trainer : { ...trainer, source: portableSource(trainer.source) };
  return `gs://${bucket}/${displayName}/${shortHash(canonicalJson({ ...definition, trainer: portable }), 12)}/`;
}

/**
 * A Vertex AI hyperparameter tuning study and the infrastructure it runs on.
 *
 * Children are named `<name>-<role>`; a `gcp.Provider` given to the component (`providers`)
 * reaches its Google Cloud children, never the job: the job authenticates with
 * `GOOGLE_OAUTH_ACCESS_TOKEN`/`CLOUDSDK_AUTH_ACCESS_TOKEN` or Application Default Credentials.
 */
export class HyperparameterTuningStudy extends pulumi.ComponentResource {
  /** Full resource name of the job, `projects/<p>/locations/<l>/hyperparameterTuningJobs/<id>`. */
  public readonly jobName: pulumi.Output<string>;
  /** The job's state, `JOB_STATE_*`. */
  public readonly state: pulumi.Output<string>;
  /** The job's Google Cloud console page (empty on the local backend). */
  public readonly consoleUrl: pulumi.Output<string>;
  /** Trials by state. */
  public readonly trialCounts: pulumi.Output<TrialCounts>;
  /** The best trial (id, parameters, metric value, final measurement); undefined until a trial succeeds. */
  public readonly bestTrial: pulumi.Output<BestTrial | undefined>;
  /** The best trial's parameters by id; empty until a trial succeeds. */
  public readonly bestParameters: pulumi.Output<Record<string, number | string>>;
  /** The best trial's final metric value. */
  public readonly bestMetricValue: pulumi.Output<number | undefined>;
  /** Where the best trial saved its model (`AIP_MODEL_DIR`): `gs://<bucket>/<displayName>/<spec hash>/<trialId>/model/`. */
  public readonly bestModelDir: pulumi.Output<string | undefined>;
  /** The staging bucket's name (vertex backend). */
  public readonly bucketName: pulumi.Output<string | undefined>;
  /** The trials' service account (vertex backend). */
  public readonly serviceAccountEmail: pulumi.Output<string | undefined>;
  /** The built trainer image (vertex backend, `source` trainer). */
  public readonly imageUri: pulumi.Output<string | undefined>;
  /** The tuning job resource. */
  public readonly job: HyperparameterTuningJob;
  /** The staging bucket (vertex backend). */
  public readonly bucket?: storage.Bucket;
  /** The trials' service account (vertex backend). */
  public readonly serviceAccount?: serviceaccount.Account;
  /** The account the image build runs as, when the component creates it (vertex backend, `source` trainer, no `buildServiceAccountEmail`). */
  public readonly buildServiceAccount?: serviceaccount.Account;
  /** The trainer images' Artifact Registry repository (vertex backend, `source` trainer). */
  public readonly repository?: artifactregistry.Repository;
  /** The `gcloud builds submit` command that builds and pushes the trainer image (vertex backend, `source` trainer). */
  public readonly image?: command.local.Command;

  private readonly apis: pulumi.Resource[] = [];
  /**
   * The component's own `dependsOn`. Its children wait for it through their parent; an invoke
   * does not (its parent only picks the provider), so the look-ups are given it explicitly.
   */
  private readonly declaredDependsOn: pulumi.ComponentResourceOptions["dependsOn"];
  /**
   * What Google Cloud ids and display names derive from (`idName`, else the component's name);
   * Pulumi names never do. An unusable `idName` is an issue at construction: the name stands in
   * meanwhile, so the other checks report as they would without it.
   */
  private readonly idName: string;

  constructor(name: string, args: HyperparameterTuningStudyArgs, opts?: pulumi.ComponentResourceOptions) {
    super(STUDY_TYPE, name, {}, opts);
    this.declaredDependsOn = opts?.dependsOn;
    this.idName = usableIdName(args.idName) ? args.idName : name;
    // The definitions' shape first: what follows reads them as typed, and a JavaScript caller's
    // mistake (parameters: {}, a child without its parameter) would be a TypeError there.
    const trainerArgs = args.trainer ?? { source: DEFAULTS.trainerSource };
    const shape = definitionShapeIssues(args.study, trainerArgs, "", (v) => !isPrompt(v));
    if (shape.length) throw this.shapeInvalid(name, args, trainerArgs, shape, settingIssues(args));
    const backend = args.backend ?? "vertex";
    // As known now (Outputs as the unknown placeholder), for what is decided at construction.
    const trainer = knownTrainer(trainerArgs);
    const resolvedTrainer = pulumi.output(trainerArgs) as pulumi.Output<TrainerDefinition>;
    const trainerSource = trainerSourceOf(backend, trainer, args.localRepoRoot);
    this.validateNow(name, args, backend, trainer, [...settingIssues(args), ...(trainerSource.issues ?? [])]);
    const study = this.validatedWhenKnown(name, args, trainerArgs, backend, trainer);
    const { project, region } = this.placement(name, args, backend);

    let ctx: pulumi.Output<JobContext> = pulumi.output({ backend, defaultDisplayName: this.idName, builtImageUri: trainerSource.localImage });
    let dependencies: pulumi.Resource[] = [];
    let infra: VertexInfra | undefined;
    if (backend === "local") this.claimLocalJobIdentity(name, args);
    if (backend === "vertex") {
      this.claimGcpIds(name, args);
      infra = this.createVertexInfra(name, args, trainer, trainerSource.source, project, region);
      dependencies = infra.dependencies;
      ctx = pulumi
        .all([infra.bucket.name, infra.serviceAccount.email, infra.imageUri, study, args.labels, args.kmsKeyName, resolvedTrainer])
        .apply(([bucket, serviceAccount, builtImageUri, study, labels, kmsKeyName, trainerNow]) => ({
          backend,
          defaultDisplayName: this.idName,
          serviceAccount,
          builtImageUri,
          baseOutputDirectory: outputDirectory(bucket, study.displayName ?? this.idName, { study, trainer: trainerNow, imageUri: builtImageUri, labels, kmsKeyName }),
        }));
      this.bucket = infra.bucket;
      this.serviceAccount = infra.serviceAccount;
      this.buildServiceAccount = infra.buildServiceAccount;
      this.repository = infra.repository;
      this.image = infra.image;
    }

    const job = pulumi
      .all([study, ctx, args.labels, args.kmsKeyName, project, region, resolvedTrainer])
      .apply(([study, context, labels, kmsKeyName, projectId, location, trainerNow]) =>
        this.checkedJob(name, study, trainerNow, { ...context, labels, kmsKeyName }, args, { project: projectId, location }),
      );

    this.job = new HyperparameterTuningJob(
      `${name}-job`,
      {
        project,
        location: region,
        job,
        backend,
        apiEndpoint: args.apiEndpoint,
        wait: args.wait,
        waitTimeoutMinutes: args.waitTimeoutMinutes,
        ...(backend === "local"
          ? { localStateDir: fromProjectRoot(args.localStateDir), localRepoRoot: fromProjectRoot(args.localRepoRoot) ?? projectRoot() }
          : {}),
      },
      { parent: this, dependsOn: dependencies },
      // The job's identity label follows idName, as its inputs do: a renamed study's up after an
      // interrupted one finds the job the old name started, where it left it running and made another.
      `${this.idName}-job`,
    );

    this.jobName = this.job.name;
    this.state = this.job.state;
    this.consoleUrl = this.job.consoleUrl;
    this.trialCounts = this.job.trialCounts;
    this.bestTrial = this.job.bestTrial;
    this.bestParameters = this.job.bestTrial.apply((t) => t?.parameters ?? {});
    this.bestMetricValue = this.job.bestTrial.apply((t) => t?.metricValue);
    this.bestModelDir = pulumi.all([this.job.job, this.job.bestTrial]).apply(([spec, best]) => {
      const base = spec?.trialJobSpec?.baseOutputDirectory?.outputUriPrefix;
      return base && best ? trialModelDir(base, best.id) : undefined;
    });
    this.bucketName = infra ? infra.bucket.name : pulumi.output(undefined);
    this.serviceAccountEmail = infra ? infra.serviceAccount.email : pulumi.output(undefined);
    this.imageUri = infra ? infra.imageUri : pulumi.output(undefined);

    this.registerOutputs({
      jobName: this.jobName,
      state: this.state,
      consoleUrl: this.consoleUrl,
      trialCounts: this.trialCounts,
      bestTrial: this.bestTrial,
      bestParameters: this.bestParameters,
      bestMetricValue: this.bestMetricValue,
      bestModelDir: this.bestModelDir,
      bucketName: this.bucketName,
      serviceAccountEmail: this.serviceAccountEmail,
      imageUri: this.imageUri,
    });
  }

  /**
   * The `gcp:*` config (and its environment variables) the default provider reads, or nothing when
   * the component has a `gcp.Provider` of its own (given to it or a parent): its children then
   * live in that provider's project and region, and so must the job.
   */
  private ambientGcpConfig(): { project?: string; region?: string } {
    return this.getProvider("gcp:index:Provider") ? {} : { project: gcpConfig.project, region: gcpConfig.region };
  }

  /**
   * The project and region: the arguments, else the `gcp:*` config when no `gcp.Provider` is
   * given, else the provider's (`getClientConfig` resolves through it), so a study under a
   * provider for another project needs no config and ignores the stack's. What the provider
   * lacks is refused as soon as the look-up answers (at preview), before any child takes it.
   */
  private placement(name: string, args: HyperparameterTuningStudyArgs, backend: Backend): Placement {
    const ambient = this.ambientGcpConfig();
    const project = args.project ?? ambient.project;
    const region = args.region ?? ambient.region;
    if (backend === "local") return { project: pulumi.output(project ?? "local"), region: pulumi.output(region ?? "local") };
    if (project !== undefined && region !== undefined) return { project: pulumi.output(project), region: pulumi.output(region) };
    const client = organizations.getClientConfigOutput({ parent: this });
    // A provider without a region (the stack's gcp:region does not reach an explicit provider) gave
    // "": checkedJob named it only once the bucket and image were known, i.e. never at preview,
    // and at up after the APIs and accounts, the bucket failing first with Google's error.
    const checked = pulumi.all([project ?? client.project, region ?? client.region]).apply(([p, l]) => {
      const issues = this.placementIssues({ project: p, location: l });
      if (issues.length) throw this.invalid(name, issues);
      return { project: p, region: l };
    });
    return { project: checked.project, region: checked.region };
  }

  /**
   * Validates at construction when the study is a plain value (the usual case), so a bad study
   * fails `pulumi preview` with every problem at once, before any child exists. Values that only
   * the children will know (bucket, image, account) stand in as Pulumi's unknown placeholder,
   * which validation skips; so do a project, region, key or labels given as Outputs (a key made
   * in the same stack), whose own checks wait for `checkedJob`. Output-valued studies are
   * validated here too, as soon as known (`validatedWhenKnown`).
   */
  private validateNow(name: string, args: HyperparameterTuningStudyArgs, backend: Backend, trainer: TrainerDefinition, sourceIssues: Issue[]): void {
    if (!isPrompt(args.study)) {
      if (sourceIssues.length) throw this.invalid(name, sourceIssues);
      return;
    }
    this.checkedJob(name, args.study as StudyDefinition, trainer, this.knownContext(name, args, backend), args, this.knownPlacement(args, backend), sourceIssues);
  }

  /** The project and region as known at construction (Outputs as the placeholder); the key's region matters on Vertex only: the local backend notes encryption and ignores it. */
  private knownPlacement(args: HyperparameterTuningStudyArgs, backend: Backend): KnownPlacement {
    if (backend !== "vertex") return {};
    const ambient = this.ambientGcpConfig();
    return { project: known(args.project) ?? ambient.project, location: known(args.region) ?? ambient.region };
  }

  /** The job's context as known at construction: what the children or Outputs will give is the unknown placeholder. */
  private knownContext(name: string, args: HyperparameterTuningStudyArgs, backend: Backend): JobContext {
    return {
      ...(backend === "vertex" ? VERTEX_INFRA_PLACEHOLDERS : {}),
      backend,
      defaultDisplayName: this.idName,
      labels: known(args.labels),
      kmsKeyName: known(args.kmsKeyName),
    };
  }

  /**
   * The one error of malformed definitions: their shape problems and, as the config reader gives
   * them, the meaning problems of what can be read, with the problems of the arguments around the
   * study (its trainer folder, the bucket, the build account, the project and region) that
   * `validateNow` would name. A study read with `config.requireObject` or from another stack
   * otherwise showed one misspelt key, and its other problems a run later.
   */
  private shapeInvalid(name: string, args: HyperparameterTuningStudyArgs, trainerArgs: TrainerArgs, shape: Issue[], extraIssues: Issue[] = []): pulumi.ResourceError {
    // A malformed trainer is read as none (the default folder), which knownTrainer could not read;
    // its folder is not read either: which folder it names is the malformed part.
    const trainerMalformed = shape.some((i) => i.path === "trainer" || i.path.startsWith("trainer."));
    const trainer = trainerMalformed ? {} : knownTrainer(trainerArgs);
    const backend = args.backend === "local" ? "local" : "vertex";
    const study = isPrompt(args.study) ? args.study : undefined;
    const ctx = this.knownContext(name, args, backend);
    const meaning = meaningIssues(study, trainer, ctx, shape);
    const source = trainerMalformed ? [] : (trainerSourceOf(backend, trainer, args.localRepoRoot).issues ?? []);
    // A displayName of the wrong type is a shape problem already: its folder is not checked. Nor
    // is a study's not known yet (an Output): idName stands in only for a study that gives none,
    // and validatedWhenKnown checks the real one.
    const displayName: unknown = study === undefined ? undefined : ((study as { displayName?: unknown }).displayName ?? this.idName);
    const infra = this.infraIssues(ctx, this.knownPlacement(args, backend), args, typeof displayName === "string" ? displayName : undefined);
    return this.invalid(name, [...shape, ...meaning, ...extraIssues, ...source, ...infra]);
  }

  /**
   * The study, checked as `validateNow` checks a plain one as soon as its value is known: an
   * Output-valued study (another stack's output) was validated only with the children's values,
   * which a preview of a new stack never knows, so its problems showed first at `up`, after the
   * bucket and accounts. A failed check rejects the job's input, which fails its registration.
   */
  private validatedWhenKnown(name: string, args: HyperparameterTuningStudyArgs, trainerArgs: TrainerArgs, backend: Backend, trainer: TrainerDefinition): pulumi.Input<StudyDefinition> {
    if (isPrompt(args.study)) return args.study;
    return pulumi.output(args.study).apply((known) => {
      const shape = definitionShapeIssues(known, trainerArgs, "", (v) => !isPrompt(v));
      if (shape.length) throw this.shapeInvalid(name, { ...args, study: known }, trainerArgs, shape);
      this.validateNow(name, { ...args, study: known }, backend, trainer, []);
      return known;
    });
  }

  /** The job's Vertex JSON, or ONE error listing every issue at its argument path (`extraIssues` among them). */
  private checkedJob(
    name: string,
    study: StudyDefinition,
    trainer: TrainerDefinition,
    ctx: JobContext,
    args: HyperparameterTuningStudyArgs,
    placement: KnownPlacement,
    extraIssues: Issue[] = [],
  ): VertexJob {
    const location = ctx.backend === "vertex" ? placement.location : undefined;
    const { job, issues } = buildJob(study, trainer, ctx, location || undefined);
    issues.push(...extraIssues, ...this.infraIssues(ctx, placement, args, study.displayName ?? this.idName));
    if (issues.length) throw this.invalid(name, issues);
    return job;
  }

  /** The one error of an invalid study: every issue, each at its argument path. */
  private invalid(name: string, issues: Issue[]): pulumi.ResourceError {
    return new pulumi.ResourceError(`HyperparameterTuningStudy ${name} is invalid:\n${formatIssues(issues)}`, this);
  }

  /**
   * Issues of the arguments around the study on Vertex: a project and region (an undefined one
   * is not known yet: the provider may still give it), the key next to the bucket, the staging
   * age, the build account's email, and a displayName under the bucket's staging folders (not
   * checked when undefined: a malformed one is named by the shape check).
   */
  private infraIssues(ctx: JobContext, placement: KnownPlacement, args: HyperparameterTuningStudyArgs, displayName: string | undefined): Issue[] {
    const issues: Issue[] = [];
    if (ctx.backend !== "vertex") return issues;
    const settings: [string, unknown, (value: unknown) => string | undefined][] = [
      ["bucket.stagingObjectAgeDays", args.bucket?.stagingObjectAgeDays, SETTING_RULES.ageDays],
      ["buildServiceAccountEmail", args.buildServiceAccountEmail, SETTING_RULES.serviceAccountEmail],
    ];
    for (const [path, value, rule] of settings) {
      const message = value !== undefined && isPrompt(value) ? rule(value) : undefined;
      if (message) issues.push({ path, message });
    }
    const folder = displayName?.split("/")[0];
    if (displayName !== undefined && /[\r\n]/.test(displayName)) {
      // Cloud Storage object names hold no line break (a YAML block scalar ends with one): the
      // job's output folder was refused at up, after the bucket, at a Vertex path.
      issues.push({ path: "study.displayName", message: `the trials write under gs://<bucket>/<displayName>/, and a Cloud Storage object name cannot hold a line break (got ${JSON.stringify(displayName)})` });
    } else if (displayName !== undefined && STAGING_PREFIXES.includes(`${folder}/`)) {
      issues.push({
        path: "study.displayName",
        message: `the trials write under gs://<bucket>/${displayName}/, and the bucket deletes everything under ${folder}/ (build staging) after bucket.stagingObjectAgeDays: choose another displayName${displayName === ctx.defaultDisplayName ? ` (it defaults to ${args.idName === undefined ? "the component's name" : "idName"})` : ""}`,
      });
    }
    issues.push(...this.placementIssues(placement));
    const bucketLocation = args.bucket?.location;
    const key = ctx.kmsKeyName;
    if (key && typeof bucketLocation === "string" && keyLocation(key) && keyLocation(key) !== bucketLocation.toLowerCase()) {
      issues.push({ path: "bucket.location", message: `the KMS key is in ${keyLocation(key)}: Cloud Storage needs a key in the bucket's location (${bucketLocation})` });
    }
    return issues;
  }

  /** Issues of the project and region on Vertex: `""` is missing, undefined or the placeholder not known yet. */
  private placementIssues(placement: KnownPlacement): Issue[] {
    // With a provider of its own the component reads no gcp config (ambientGcpConfig).
    const where = (key: "project" | "region") => (this.getProvider("gcp:index:Provider") ? `the ${key} argument or the provider's ${key}` : `the gcp:${key} config, the ${key} argument or a provider's ${key}`);
    const issues: Issue[] = [];
    for (const [path, value, rule] of [["project", placement.project, SETTING_RULES.project], ["region", placement.location, SETTING_RULES.region]] as const) {
      // An Output argument is the unknown placeholder at construction: checked once known.
      const message = value === "" ? `set ${where(path)}` : value !== undefined && value !== UNKNOWN ? rule(value) : undefined;
      if (message) issues.push({ path, message });
    }
    return issues;
  }

  /** Options of every Google Cloud child: parented here (providers flow from the parent) and after the APIs. */
  private gcpOpts(dependsOn: pulumi.Resource[] = [], options: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { ...options, parent: this, dependsOn: [...this.apis, ...dependsOn] };
  }

  /**
   * A Google Cloud id unique to this study among every Pulumi project and stack that shares the
   * Google Cloud project: `<pulumi project>-<idName>-<stack>[-<role>]`, shortened with a hash.
   */
  private gcpId(role: string | undefined, maxLength: number): string {
    return gcpId([pulumi.getProject(), this.idName, pulumi.getStack(), ...(role ? [role] : [])].join("-"), maxLength);
  }

  /**
   * Refuses a second study of this program whose Google Cloud ids would be this one's: two
   * components of one name under different parents (their URNs differ, so Pulumi allows them) or
   * names that differ only where an id cannot (`Study`, `study.v1` against `study`, `study-v1`),
   * or an `idName` that is another study's name (a renamed study whose old component was kept).
   * Without this the second account or repository fails at `up`, after the first one's children.
   */
  private claimGcpIds(name: string, args: HyperparameterTuningStudyArgs): void {
    // Ids are unique per Google Cloud project. A provider's project is not known yet, but studies
    // under one gcp.Provider share it (a platform stack with a study per team, one provider): the
    // provider stands for it. A project given as an Output may be any: no claim.
    const project = known(args.project) ?? this.ambientGcpConfig().project;
    const scope = project !== undefined && project !== UNKNOWN ? project : args.project === undefined ? this.getProvider("gcp:index:Provider") : undefined;
    if (scope === undefined) return;
    const claimed = runRecord<unknown, Map<string, string>>(CLAIMED_IDS);
    const inScope = claimed.get(scope) ?? new Map<string, string>();
    claimed.set(scope, inScope);
    const id = this.gcpId(undefined, 63);
    const other = inScope.get(id);
    const { field, label } = this.claimant(name, args);
    if (other !== undefined) {
      const where = typeof scope === "string" ? `project ${scope}` : "the project of their gcp.Provider";
      throw this.invalid(name, [{ path: field, message: `the study ${other} in this stack already has this ${field}'s Google Cloud ids in ${where} (repository ${id}, and its service accounts): give one of the two another ${field}` }]);
    }
    inScope.set(id, label);
  }

  /**
   * On the local backend, refuses a second study of this program whose job would carry this one's
   * identity label: its job is named after `idName`, so a study with another's name as `idName`
   * (a renamed study whose old component was kept) would adopt, or cancel as an orphan, the other's
   * job. On Vertex AI claimGcpIds refuses it (the same ids). Two studies of one name without
   * `idName` are left alone: under parents of different types their jobs' URNs differ, and under
   * parents of one type Pulumi refuses the second URN itself.
   */
  private claimLocalJobIdentity(name: string, args: HyperparameterTuningStudyArgs): void {
    const claimed = runRecord<string, Claimant>(CLAIMED_JOBS);
    const mine = this.claimant(name, args);
    const other = claimed.get(this.idName);
    if (other === undefined) {
      claimed.set(this.idName, mine);
    } else if (mine.field === "idName" || other.field === "idName") {
      throw this.invalid(name, [{ path: mine.field, message: `the study ${other.label} in this stack names its local job after the same ${JSON.stringify(this.idName)}: each would take the other's job for its own (adopting or cancelling it); give one of the two another ${mine.field}` }]);
    }
  }

  /** This study as its claims name it (see Claimant). */
  private claimant(name: string, args: HyperparameterTuningStudyArgs): Claimant {
    return args.idName === undefined ? { field: "name", label: `"${name}"` } : { field: "idName", label: `"${name}" (idName "${this.idName}")` };
  }

  private createVertexInfra(
    name: string,
    args: HyperparameterTuningStudyArgs,
    trainer: TrainerDefinition,
    source: TrainerSource | undefined,
    project: pulumi.Output<string>,
    region: pulumi.Output<string>,
  ): VertexInfra {
    const builds = buildsImage(trainer);
    const cmekOn = args.kmsKeyName !== undefined;
    if (args.enableApis ?? true) {
      this.enableApis(name, project, [...CORE_APIS, ...(builds ? BUILD_APIS : []), ...(cmekOn ? CMEK_APIS : [])]);
    }
    const cmek = args.kmsKeyName !== undefined ? this.grantKeyUse(name, args.kmsKeyName, project, builds) : undefined;
    const bucket = this.createBucket(name, args, region, project, cmek);
    const { serviceAccount, grants } = this.createTrialAccount(name, project, bucket);

    const infra: VertexInfra = {
      bucket,
      serviceAccount,
      imageUri: pulumi.output(undefined),
      dependencies: [...this.apis, ...grants, ...(cmek ? [cmek.vertex] : [])],
    };
    if (!source) return infra;

    const repository = this.createRepository(name, args, project, region, cmek);
    const builder = args.buildServiceAccountEmail === undefined ? this.createBuilder(name, project) : undefined;
    const buildEmail = builder ? builder.email : args.buildServiceAccountEmail!;
    const buildGrants = this.grantBuild(name, buildEmail, builder === undefined, project, region, repository, bucket);
    const image = buildTrainerImage(
      `${name}-image`,
      {
        sourceDir: source.dir,
        digest: source.digest,
        project,
        region,
        repository: repository.repositoryId,
        repositoryCreateTime: repository.createTime,
        bucket: bucket.name,
        serviceAccountEmail: buildEmail,
      },
      this.gcpOpts([repository, ...buildGrants]),
    );
    if (source.digest.uncounted.length) {
      pulumi.log.warn(
        `the ignore file of ${trainer.source ?? DEFAULTS.trainerSource} lets gcloud upload caches or virtual environments ` +
          `that do not count toward the image tag (${source.digest.uncounted.slice(0, 5).join(", ")}…): list them in its .gcloudignore`,
        this,
      );
    }
    infra.dependencies.push(image.command);
    return { ...infra, imageUri: image.imageUri, repository, image: image.command, buildServiceAccount: builder };
  }

  /** Enables the APIs, left enabled on destroy (other workloads of the project may use them). */
  private enableApis(name: string, project: pulumi.Output<string>, apis: string[]): void {
    for (const api of apis) {
      this.apis.push(
        new projects.Service(`${name}-api-${api}`, { project, service: `${api}.googleapis.com`, disableOnDestroy: false }, { parent: this }),
      );
    }
  }

  /**
   * The staging bucket. Without `forceDestroy` it holds models nobody should lose by accident, and
   * a non-empty bucket cannot be deleted: destroy leaves it in Google Cloud (`retainOnDelete`)
   * and completes; with `forceDestroy` it goes with its objects.
   */
  private createBucket(name: string, args: HyperparameterTuningStudyArgs, region: pulumi.Output<string>, project: pulumi.Output<string>, cmek: CmekGrants | undefined): storage.Bucket {
    const forceDestroy = args.bucket?.forceDestroy ?? false;
    return new storage.Bucket(
      `${name}-staging`,
      {
        project,
        location: args.bucket?.location ?? region,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        forceDestroy,
        labels: args.labels,
        encryption: args.kmsKeyName !== undefined ? { defaultKmsKeyName: args.kmsKeyName } : undefined,
        lifecycleRules: [
          {
            action: { type: "Delete" },
            condition: { age: args.bucket?.stagingObjectAgeDays ?? DEFAULT_STAGING_AGE_DAYS, matchesPrefixes: STAGING_PREFIXES },
          },
        ],
      },
      this.gcpOpts(cmek ? [cmek.storage] : [], { retainOnDelete: !forceDestroy }),
    );
  }

  /** The trials' account: objects and metadata of the staging bucket, log and metric writer on the project. Nothing else. */
  private createTrialAccount(name: string, project: pulumi.Output<string>, bucket: storage.Bucket): { serviceAccount: serviceaccount.Account; grants: pulumi.Resource[] } {
    const serviceAccount = new serviceaccount.Account(
      `${name}-trials`,
      {
        project,
        accountId: this.gcpId("trials", 30),
        displayName: accountDisplayName(`Trials of the ${this.idName} tuning study (${pulumi.getStack()})`),
      },
      this.gcpOpts(),
    );
    const member = pulumi.interpolate`serviceAccount:${serviceAccount.email}`;
    const grants: pulumi.Resource[] = [
      ...Object.entries(TRIAL_BUCKET_ROLES).map(
        ([purpose, role]) => new storage.BucketIAMMember(`${name}-trials-${purpose}`, { bucket: bucket.name, role, member }, this.gcpOpts()),
      ),
      ...Object.entries(TRIAL_PROJECT_ROLES).map(
        ([purpose, role]) => new projects.IAMMember(`${name}-trials-${purpose}`, { project, role, member }, this.gcpOpts()),
      ),
    ];
    return { serviceAccount, grants };
  }

  /**
   * The trainer images' repository. Its key is create-only: a new key replaces the repository,
   * and its id is fixed, so the old one goes first (`deleteBeforeReplace`); the build's trigger on
   * `createTime` then pushes the image into the new one.
   */
  private createRepository(
    name: string,
    args: HyperparameterTuningStudyArgs,
    project: pulumi.Output<string>,
    region: pulumi.Output<string>,
    cmek: CmekGrants | undefined,
  ): artifactregistry.Repository {
    return new artifactregistry.Repository(
      `${name}-repository`,
      {
        project,
        location: region,
        repositoryId: this.gcpId(undefined, 63),
        format: "DOCKER",
        description: `Trainer images of the ${this.idName} tuning study`,
        dockerConfig: { immutableTags: true },
        labels: args.labels,
        kmsKeyName: args.kmsKeyName,
        // Every build pushes a new tag: keep the latest few, drop the rest once a month old.
        cleanupPolicyDryRun: false,
        cleanupPolicies: [
          { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: KEEP_IMAGE_VERSIONS } },
          { id: "delete-old", action: "DELETE", condition: { tagState: "ANY", olderThan: IMAGE_MAX_AGE } },
        ],
      },
      this.gcpOpts(cmek?.artifactRegistry ? [cmek.artifactRegistry] : [], { deleteBeforeReplace: true }),
    );
  }

  /** The account the image build runs as when the caller names none: the project's default build account is never used. */
  private createBuilder(name: string, project: pulumi.Output<string>): serviceaccount.Account {
    return new serviceaccount.Account(
      `${name}-builder`,
      {
        project,
        accountId: this.gcpId("builder", 30),
        displayName: accountDisplayName(`Image builds of the ${this.idName} tuning study (${pulumi.getStack()})`),
      },
      this.gcpOpts(),
    );
  }

  /**
   * The build account: push to this repository, stage and log in this bucket, write logs. Nothing
   * else. A caller's account is shared with other work: its grants stay on destroy, so removing
   * one study never takes away a grant something else relies on.
   */
  private grantBuild(
    name: string,
    email: pulumi.Input<string>,
    shared: boolean,
    project: pulumi.Output<string>,
    region: pulumi.Output<string>,
    repository: artifactregistry.Repository,
    bucket: storage.Bucket,
  ): pulumi.Resource[] {
    const member = pulumi.interpolate`serviceAccount:${email}`;
    const opts = this.gcpOpts([], { retainOnDelete: shared });
    const onBucket = (purpose: "staging" | "staging-read") =>
      new storage.BucketIAMMember(`${name}-build-${purpose}`, { bucket: bucket.name, role: BUILD_ROLES[purpose], member }, opts);
    return [
      new artifactregistry.RepositoryIamMember(
        `${name}-build-push`,
        { project, location: region, repository: repository.repositoryId, role: BUILD_ROLES.push, member },
        opts,
      ),
      onBucket("staging"),
      onBucket("staging-read"),
      new projects.IAMMember(`${name}-build-logs`, { project, role: BUILD_ROLES.logs, member }, opts),
    ];
  }

  /**
   * CMEK: the service agents that encrypt for us get the key's use. Cloud Storage's agent has no
   * ServiceIdentity resource; its address comes from the Storage API (which also creates it), so
   * the look-up waits for the APIs and goes through the component's provider. The agents are the
   * project's, shared by every study: their grants stay on destroy.
   */
  private grantKeyUse(name: string, key: pulumi.Input<string>, project: pulumi.Output<string>, builds: boolean): CmekGrants {
    const grant = (service: string, member: pulumi.Input<string>) =>
      new kms.CryptoKeyIAMMember(`${name}-cmek-${service}`, { cryptoKeyId: key, role: KMS_ROLE, member }, this.gcpOpts([], { retainOnDelete: true }));
    const agent = (service: string) =>
      new projects.ServiceIdentity(`${name}-agent-${service}`, { project, service: `${service}.googleapis.com` }, this.gcpOpts());
    // The APIs, and what the component itself waits for (a deployer's grant, say).
    const dependsOn = pulumi.output(this.declaredDependsOn ?? []).apply((declared) => [...this.apis, ...[declared].flat()]);
    const storageAgent = storage.getProjectServiceAccountOutput({ project }, { parent: this, dependsOn });
    return {
      storage: grant("storage", storageAgent.member),
      vertex: grant("aiplatform", agent("aiplatform").member),
      artifactRegistry: builds ? grant("artifactregistry", agent("artifactregistry").member) : undefined,
    };
  }
}

/** Where the study runs, as outputs. */
interface Placement {
  project: pulumi.Output<string>;
  region: pulumi.Output<string>;
}

/** The project and region as far as known: undefined is not known yet, `""` is missing. */
interface KnownPlacement {
  project?: string;
  location?: string;
}

/** The Google Cloud side of a study, as the job needs it. */
interface VertexInfra {
  bucket: storage.Bucket;
  serviceAccount: serviceaccount.Account;
  imageUri: pulumi.Output<string | undefined>;
  /** What the job waits for: APIs, grants, the image build. */
  dependencies: pulumi.Resource[];
  repository?: artifactregistry.Repository;
  image?: command.local.Command;
  buildServiceAccount?: serviceaccount.Account;
}

interface CmekGrants {
  storage: pulumi.Resource;
  vertex: pulumi.Resource;
  artifactRegistry?: pulumi.Resource;
}
