/**
 * `HyperparameterTuningStudy`: one study definition in, a running (or finished) Vertex AI
 * hyperparameter tuning job out, with everything it needs on Google Cloud: the APIs, a staging
 * bucket, a least-privilege service account for the trials, an Artifact Registry repository and
 * the trainer image built by Cloud Build. On the local backend only the job exists, run on this
 * machine.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as gcpConfig from "@pulumi/gcp/config";
import * as artifactregistry from "@pulumi/gcp/artifactregistry";
import * as kms from "@pulumi/gcp/kms";
import * as projects from "@pulumi/gcp/projects";
import * as serviceaccount from "@pulumi/gcp/serviceaccount";
import * as storage from "@pulumi/gcp/storage";
import {
  DEFAULTS,
  UNKNOWN,
  buildJob,
  formatIssues,
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
import { buildTrainerImage, digestSource, type SourceDigest } from "./trainerImage";
import { gcpId } from "./gcpIds";

/** The component's type token. */
export const STUDY_TYPE = "vertex-tuning:index:HyperparameterTuningStudy";

/** Settings of the staging bucket (trial outputs under `<displayName>/`, build sources under `source/`). */
export interface StagingBucketArgs {
  /** Bucket location. Default: the study's region (a single region, next to the trials). */
  location?: pulumi.Input<string>;
  /** Delete the bucket with its objects (trial outputs, models) on destroy. Default false: a non-empty bucket stops `pulumi destroy`. */
  forceDestroy?: pulumi.Input<boolean>;
  /** Days after which build sources (`source/`) and build logs (`build-logs/`) are deleted. Default 7. Trial outputs are kept. */
  stagingObjectAgeDays?: pulumi.Input<number>;
}

/** Arguments of `HyperparameterTuningStudy`. Only `study` is required. */
export interface HyperparameterTuningStudyArgs {
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
   * `pythonPackage` nothing is built and no repository is created. A plain value: it decides
   * which resources exist.
   */
  trainer?: TrainerDefinition;
  /** Google Cloud project. Default: the `gcp:project` config (or the provider's environment variables). */
  project?: pulumi.Input<string>;
  /** Region of the job, the bucket, the repository and the build. Default: the `gcp:region` config. */
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
   * Service account the image build runs as, instead of the project's default Cloud Build
   * account. It is granted `roles/artifactregistry.writer` on the study's repository,
   * `roles/storage.objectAdmin` on the staging bucket (sources and build logs) and
   * `roles/logging.logWriter` on the project; the deploying identity needs `actAs` on it.
   */
  buildServiceAccountEmail?: pulumi.Input<string>;
  /** Keep `pulumi up` running until the job ends, so outputs carry the best trial. Default true (always true on the local backend). */
  wait?: pulumi.Input<boolean>;
  /** Stop waiting after this many minutes; the job keeps running and the next `pulumi up` resumes the wait. Default 24 h. */
  waitTimeoutMinutes?: pulumi.Input<number>;
  /** Local backend: its state folder. Default `.tune/state` under `localRepoRoot`. */
  localStateDir?: pulumi.Input<string>;
  /** Local backend: the folder trial commands run from. Default: the Pulumi project root. */
  localRepoRoot?: pulumi.Input<string>;
  /** Override of the Vertex API root, e.g. a local server started by hand. Default: the regional endpoint. */
  apiEndpoint?: pulumi.Input<string>;
}

/** The APIs enabled on the vertex backend; the build's two only when an image is built. */
const CORE_APIS = ["aiplatform", "storage", "iam"];
const BUILD_APIS = ["artifactregistry", "cloudbuild"];

/** Roles of the trial service account: nothing else (DESIGN.md, "Google Cloud resources"). */
const TRIAL_BUCKET_ROLE = "roles/storage.objectAdmin";
const TRIAL_PROJECT_ROLES = { logs: "roles/logging.logWriter", metrics: "roles/monitoring.metricWriter" };
/** Roles of a given build account: what Cloud Build needs to run as it, each on the narrowest scope. */
const BUILD_ROLES = { repository: "roles/artifactregistry.writer", bucket: "roles/storage.objectAdmin", project: "roles/logging.logWriter" };
const KMS_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter";
const DEFAULT_STAGING_AGE_DAYS = 7;

/** A value usable right now (not an Output or a Promise): validation can run at construction. */
function isPrompt(value: unknown): boolean {
  return !pulumi.Output.isInstance(value) && !(value instanceof Promise);
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

/** `projects/<p>/locations/<l>/keyRings/…` → `<l>`. */
function keyLocation(key: string): string | undefined {
  return /^projects\/[^/]+\/locations\/([^/]+)\//.exec(key)?.[1];
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
  /** Where the best trial saved its model (`AIP_MODEL_DIR`): `gs://<bucket>/<displayName>/<trialId>/model/`. */
  public readonly bestModelDir: pulumi.Output<string | undefined>;
  /** The staging bucket's name (vertex backend). */
  public readonly bucketName: pulumi.Output<string | undefined>;
  /** The trials' service account (vertex backend). */
  public readonly serviceAccountEmail: pulumi.Output<string | undefined>;
  /** The built trainer image (vertex backend, `source` trainer). */
  public readonly imageUri: pulumi.Output<string | undefined>;
  /** The tuning job resource. */
  public readonly job: HyperparameterTuningJob;

  private readonly apis: pulumi.Resource[] = [];

  constructor(name: string, args: HyperparameterTuningStudyArgs, opts?: pulumi.ComponentResourceOptions) {
    super(STUDY_TYPE, name, {}, opts);
    const backend = args.backend ?? "vertex";
    const trainer = args.trainer ?? { source: DEFAULTS.trainerSource };
    const project = pulumi.output(args.project ?? gcpConfig.project ?? (backend === "local" ? "local" : ""));
    const region = pulumi.output(args.region ?? gcpConfig.region ?? (backend === "local" ? "local" : ""));
    this.validateNow(name, args, backend, trainer);

    let ctx: pulumi.Output<JobContext> = pulumi.output({ backend, defaultDisplayName: name });
    let dependencies: pulumi.Resource[] = [];
    let infra: VertexInfra | undefined;
    if (backend === "vertex") {
      infra = this.createVertexInfra(name, args, trainer, project, region);
      dependencies = infra.dependencies;
      const displayName = pulumi.output(args.study).apply((s) => s.displayName ?? name);
      ctx = pulumi
        .all([infra.bucket.name, infra.serviceAccount.email, infra.imageUri, displayName])
        .apply(([bucket, serviceAccount, builtImageUri, display]) => ({
          backend,
          defaultDisplayName: name,
          serviceAccount,
          builtImageUri,
          baseOutputDirectory: `gs://${bucket}/${display}/`,
        }));
    }

    const job = pulumi
      .all([args.study, ctx, args.labels, args.kmsKeyName, region])
      .apply(([study, context, labels, kmsKeyName, location]) =>
        this.checkedJob(name, study, trainer, { ...context, labels, kmsKeyName }, backend === "vertex" ? location : undefined),
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
          ? { localStateDir: args.localStateDir, localRepoRoot: args.localRepoRoot ?? projectRoot() }
          : {}),
      },
      { parent: this, dependsOn: dependencies },
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
   * Validates at construction when the study is a plain value (the usual case), so a bad study
   * fails `pulumi preview` with every problem at once, before any child exists. Values that only
   * the children will know (bucket, image, account) stand in as Pulumi's unknown placeholder,
   * which validation skips. Output-valued studies are validated in `checkedJob` once known.
   */
  private validateNow(name: string, args: HyperparameterTuningStudyArgs, backend: Backend, trainer: TrainerDefinition): void {
    const values = [args.study, args.labels, args.kmsKeyName, args.region];
    if (!values.every(isPrompt)) return;
    // The key's region matters on Vertex only: the local backend notes encryption and ignores it.
    const region = backend === "vertex" ? ((args.region as string | undefined) ?? gcpConfig.region) : undefined;
    const placeholders: JobContext =
      backend === "vertex" ? { serviceAccount: UNKNOWN, baseOutputDirectory: UNKNOWN, builtImageUri: UNKNOWN } : {};
    const ctx: JobContext = {
      ...placeholders,
      backend,
      defaultDisplayName: name,
      labels: args.labels as Record<string, string> | undefined,
      kmsKeyName: args.kmsKeyName as string | undefined,
    };
    this.checkedJob(name, args.study as StudyDefinition, trainer, ctx, region, args);
  }

  /** The job's Vertex JSON, or ONE error listing every issue at its argument path. */
  private checkedJob(
    name: string,
    study: StudyDefinition,
    trainer: TrainerDefinition,
    ctx: JobContext,
    location: string | undefined,
    args?: HyperparameterTuningStudyArgs,
  ): VertexJob {
    const { job, issues } = buildJob(study, trainer, ctx, location || undefined);
    issues.push(...this.infraIssues(ctx, location, args));
    if (issues.length) {
      throw new pulumi.ResourceError(`HyperparameterTuningStudy ${name} is invalid:\n${formatIssues(issues)}`, this);
    }
    return job;
  }

  /** Issues of the arguments around the study: a project and region on Vertex, the key next to the bucket. */
  private infraIssues(ctx: JobContext, location: string | undefined, args?: HyperparameterTuningStudyArgs): Issue[] {
    const issues: Issue[] = [];
    if (ctx.backend !== "vertex" || !args) return issues;
    if (isPrompt(args.project) && !(args.project ?? gcpConfig.project)) {
      issues.push({ path: "project", message: "set the gcp:project config or the project argument" });
    }
    if (!location) issues.push({ path: "region", message: "set the gcp:region config or the region argument" });
    const bucketLocation = args.bucket?.location;
    const key = ctx.kmsKeyName;
    if (key && typeof bucketLocation === "string" && keyLocation(key) && keyLocation(key) !== bucketLocation.toLowerCase()) {
      issues.push({ path: "bucket.location", message: `the KMS key is in ${keyLocation(key)}: Cloud Storage needs a key in the bucket's location (${bucketLocation})` });
    }
    return issues;
  }

  /** Options of every Google Cloud child: parented here (providers flow from the parent) and after the APIs. */
  private gcpOpts(dependsOn: pulumi.Resource[] = []): pulumi.CustomResourceOptions {
    return { parent: this, dependsOn: [...this.apis, ...dependsOn] };
  }

  private createVertexInfra(
    name: string,
    args: HyperparameterTuningStudyArgs,
    trainer: TrainerDefinition,
    project: pulumi.Output<string>,
    region: pulumi.Output<string>,
  ): VertexInfra {
    const builds = trainer.imageUri === undefined && trainer.pythonPackage === undefined;
    const sourceDir = path.resolve(projectRoot(), trainer.source ?? DEFAULTS.trainerSource);
    const digest = builds ? this.digestTrainer(name, sourceDir) : undefined;
    if (args.enableApis ?? true) {
      for (const api of [...CORE_APIS, ...(builds ? BUILD_APIS : [])]) {
        this.apis.push(
          new projects.Service(
            `${name}-api-${api}`,
            { project, service: `${api}.googleapis.com`, disableOnDestroy: false },
            { parent: this },
          ),
        );
      }
    }
    const stackScoped = `${name}-${pulumi.getStack()}`;
    const cmek = args.kmsKeyName !== undefined ? this.grantKeyUse(name, args.kmsKeyName, project, builds) : undefined;

    const bucket = new storage.Bucket(
      `${name}-staging`,
      {
        project,
        location: args.bucket?.location ?? region,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        forceDestroy: args.bucket?.forceDestroy ?? false,
        labels: args.labels,
        encryption: args.kmsKeyName !== undefined ? { defaultKmsKeyName: args.kmsKeyName } : undefined,
        lifecycleRules: [
          {
            action: { type: "Delete" },
            condition: { age: args.bucket?.stagingObjectAgeDays ?? DEFAULT_STAGING_AGE_DAYS, matchesPrefixes: ["source/", "build-logs/"] },
          },
        ],
      },
      this.gcpOpts(cmek ? [cmek.storage] : []),
    );

    const serviceAccount = new serviceaccount.Account(
      `${name}-trials`,
      {
        project,
        accountId: gcpId(`${stackScoped}-trials`, 30),
        displayName: `Trials of the ${name} tuning study (${pulumi.getStack()})`,
      },
      this.gcpOpts(),
    );
    const trialMember = pulumi.interpolate`serviceAccount:${serviceAccount.email}`;
    const grants: pulumi.Resource[] = [
      new storage.BucketIAMMember(
        `${name}-trials-staging`,
        { bucket: bucket.name, role: TRIAL_BUCKET_ROLE, member: trialMember },
        this.gcpOpts(),
      ),
      ...Object.entries(TRIAL_PROJECT_ROLES).map(
        ([purpose, role]) => new projects.IAMMember(`${name}-trials-${purpose}`, { project, role, member: trialMember }, this.gcpOpts()),
      ),
    ];

    let imageUri: pulumi.Output<string | undefined> = pulumi.output(undefined);
    const dependencies: pulumi.Resource[] = [...this.apis, ...grants, ...(cmek ? [cmek.vertex] : [])];
    if (digest) {
      const repository = new artifactregistry.Repository(
        `${name}-repository`,
        {
          project,
          location: region,
          repositoryId: gcpId(stackScoped, 63),
          format: "DOCKER",
          description: `Trainer images of the ${name} tuning study`,
          dockerConfig: { immutableTags: true },
          labels: args.labels,
          kmsKeyName: args.kmsKeyName,
        },
        this.gcpOpts(cmek?.artifactRegistry ? [cmek.artifactRegistry] : []),
      );
      const buildGrants = args.buildServiceAccountEmail !== undefined
        ? this.grantBuild(name, args.buildServiceAccountEmail, project, region, repository, bucket)
        : [];
      const image = buildTrainerImage(
        `${name}-image`,
        {
          sourceDir,
          digest,
          project,
          region,
          repository: repository.repositoryId,
          bucket: bucket.name,
          serviceAccountEmail: args.buildServiceAccountEmail,
        },
        this.gcpOpts([repository, ...buildGrants]),
      );
      if (digest.uncounted.length) {
        pulumi.log.warn(
          `the ignore file of ${trainer.source ?? DEFAULTS.trainerSource} lets gcloud upload caches or virtual environments ` +
            `that do not count toward the image tag (${digest.uncounted.slice(0, 5).join(", ")}…): list them in its .gcloudignore`,
          this,
        );
      }
      imageUri = image.imageUri;
      dependencies.push(image.command);
    }
    return { bucket, serviceAccount, imageUri, dependencies };
  }

  /** The source folder's digest, taken before any child exists; a folder that cannot be built is reported at `trainer.source`. */
  private digestTrainer(name: string, sourceDir: string): SourceDigest {
    try {
      return digestSource(sourceDir);
    } catch (err) {
      throw new pulumi.ResourceError(`HyperparameterTuningStudy ${name} is invalid:\n  trainer.source: ${(err as Error).message}`, this);
    }
  }

  /** The build account: push to this repository, stage and log in this bucket, write logs. Nothing else. */
  private grantBuild(
    name: string,
    email: pulumi.Input<string>,
    project: pulumi.Output<string>,
    region: pulumi.Output<string>,
    repository: artifactregistry.Repository,
    bucket: storage.Bucket,
  ): pulumi.Resource[] {
    const member = pulumi.interpolate`serviceAccount:${email}`;
    return [
      new artifactregistry.RepositoryIamMember(
        `${name}-build-push`,
        { project, location: region, repository: repository.repositoryId, role: BUILD_ROLES.repository, member },
        this.gcpOpts(),
      ),
      new storage.BucketIAMMember(
        `${name}-build-staging`,
        { bucket: bucket.name, role: BUILD_ROLES.bucket, member },
        this.gcpOpts(),
      ),
      new projects.IAMMember(`${name}-build-logs`, { project, role: BUILD_ROLES.project, member }, this.gcpOpts()),
    ];
  }

  /**
   * CMEK: the service agents that encrypt for us get the key's use. Cloud Storage's agent has no
   * ServiceIdentity resource; its address comes from the Storage API (which also creates it).
   */
  private grantKeyUse(name: string, key: pulumi.Input<string>, project: pulumi.Output<string>, builds: boolean): CmekGrants {
    const grant = (service: string, member: pulumi.Input<string>) =>
      new kms.CryptoKeyIAMMember(`${name}-cmek-${service}`, { cryptoKeyId: key, role: KMS_ROLE, member }, this.gcpOpts());
    const agent = (service: string) =>
      new projects.ServiceIdentity(`${name}-agent-${service}`, { project, service: `${service}.googleapis.com` }, this.gcpOpts());
    const storageAgent = storage.getProjectServiceAccountOutput({ project }, { parent: this });
    return {
      storage: grant("storage", storageAgent.member),
      vertex: grant("aiplatform", agent("aiplatform").member),
      artifactRegistry: builds ? grant("artifactregistry", agent("artifactregistry").member) : undefined,
    };
  }
}

/** The Google Cloud side of a study, as the job needs it. */
interface VertexInfra {
  bucket: storage.Bucket;
  serviceAccount: serviceaccount.Account;
  imageUri: pulumi.Output<string | undefined>;
  /** What the job waits for: APIs, grants, the image build. */
  dependencies: pulumi.Resource[];
}

interface CmekGrants {
  storage: pulumi.Resource;
  vertex: pulumi.Resource;
  artifactRegistry?: pulumi.Resource;
}
