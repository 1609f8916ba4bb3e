/**
 * HyperparameterTuningStudy on the vertex backend under Pulumi's mock runtime: which children it
 * creates, their names, parents and inputs, and the outputs it exposes.
 */
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp/provider";
import * as projects from "@pulumi/gcp/projects";
import { beforeAll, describe, expect, it } from "vitest";
import { HyperparameterTuningStudy, STUDY_TYPE, digestSource, type HyperparameterTuningStudyArgs } from "../../components";
import { outputDirectory } from "../../components/study";
import {
  BEST_TRIAL,
  CLIENT_CONFIG,
  JOB_TYPE,
  PROJECT,
  STACK,
  STORAGE_AGENT,
  childRecorder,
  installMocks,
  invokes,
  one,
  ofType,
  promiseOf,
  type Recorded,
} from "./mocks";
import { makeTrainer, stackStudy } from "./fixtures";
import { tuningJobProvider } from "../../components/tuningJob";
import { seedVertexJob } from "../fixtures/seedStudy";

let recorded: Recorded[];
beforeAll(async () => {
  recorded = await installMocks();
});

const GCP_PROJECT = "your-project-id";
const REGION = "us-central1";
const KEY = `projects/keys/locations/${REGION}/keyRings/ring/cryptoKeys/study`;

/** The seed study (Pulumi.dev.yaml) with a temp trainer folder, and any argument overridden. */
function seedArgs(overrides: Partial<HyperparameterTuningStudyArgs> = {}): HyperparameterTuningStudyArgs {
  const dev = stackStudy("dev");
  return {
    study: dev.study,
    trainer: { source: makeTrainer() },
    labels: dev.labels,
    project: GCP_PROJECT,
    region: REGION,
    ...overrides,
  };
}

/** Constructs a study, waits until every child is registered (the job depends on all of them) and returns what it made. */
async function construct(name: string, args: HyperparameterTuningStudyArgs, opts: pulumi.ComponentResourceOptions = {}) {
  const recorder = childRecorder();
  const study = new HyperparameterTuningStudy(name, args, { ...opts, transformations: [recorder.transformation] });
  await promiseOf(pulumi.all([study.jobName, study.imageUri, study.bucketName, study.serviceAccountEmail]));
  const mine = recorded.filter((r) => r.name === name || r.name.startsWith(`${name}-`));
  const child = (role: string) => {
    const found = recorder.children.find((c) => c.name === `${name}-${role}`);
    if (!found) throw new Error(`no child ${name}-${role}`);
    return found;
  };
  /** The logical names of a child's explicit dependencies. */
  const dependsOn = (role: string) =>
    ((child(role).opts.dependsOn ?? []) as pulumi.Resource[]).map((d) => recorder.children.find((c) => c.resource === d)?.name ?? "?").sort();
  return {
    study,
    mine,
    urns: await recorder.urns(),
    get: (type: string, role: string) => one(mine, type, `${name}-${role}`),
    opts: (role: string) => child(role).opts,
    dependsOn,
  };
}

const PRIMITIVE = /^roles\/(owner|editor|viewer)$/;
/** Service account and repository ids: `<pulumi project>-<name>-<stack>[-<role>]`. */
const gcpIdOf = (name: string, role?: string) => [PROJECT, name, STACK, ...(role ? [role] : [])].join("-");
const emailOf = (name: string, role: string) => `${gcpIdOf(name, role)}@${GCP_PROJECT}.iam.gserviceaccount.com`;
const apis = (name: string, ...services: string[]) => services.map((s) => `${name}-api-${s}`);
const BUILD_APIS = ["aiplatform", "artifactregistry", "cloudbuild", "cloudresourcemanager", "iam", "storage"];

describe("HyperparameterTuningStudy on Vertex AI", () => {
  it("creates the APIs, bucket, accounts, grants, repository, build and job, each named <name>-<role> under the component", async () => {
    const { mine, urns } = await construct("s1", seedArgs());
    const children = mine.filter((r) => r.custom).map((r) => `${r.type}::${r.name}`).sort();
    expect(children).toEqual(
      [
        "gcp:projects/service:Service::s1-api-aiplatform",
        "gcp:projects/service:Service::s1-api-artifactregistry",
        "gcp:projects/service:Service::s1-api-cloudbuild",
        "gcp:projects/service:Service::s1-api-cloudresourcemanager",
        "gcp:projects/service:Service::s1-api-iam",
        "gcp:projects/service:Service::s1-api-storage",
        "gcp:storage/bucket:Bucket::s1-staging",
        "gcp:serviceaccount/account:Account::s1-trials",
        "gcp:storage/bucketIAMMember:BucketIAMMember::s1-trials-staging",
        "gcp:storage/bucketIAMMember:BucketIAMMember::s1-trials-staging-read",
        "gcp:projects/iAMMember:IAMMember::s1-trials-logs",
        "gcp:projects/iAMMember:IAMMember::s1-trials-metrics",
        "gcp:artifactregistry/repository:Repository::s1-repository",
        "gcp:serviceaccount/account:Account::s1-builder",
        "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember::s1-build-push",
        "gcp:storage/bucketIAMMember:BucketIAMMember::s1-build-staging",
        "gcp:storage/bucketIAMMember:BucketIAMMember::s1-build-staging-read",
        "gcp:projects/iAMMember:IAMMember::s1-build-logs",
        "command:local:Command::s1-image",
        `${JOB_TYPE}::s1-job`,
      ].sort(),
    );
    // Parents, from the URNs: every child sits directly under the component.
    // (The caller's transformation sees the component itself too: its URN has no parent.)
    expect(urns.s1).toBe(`urn:pulumi:${STACK}::${PROJECT}::${STUDY_TYPE}::s1`);
    const childUrns = Object.entries(urns).filter(([name]) => name !== "s1");
    expect(childUrns.map(([name]) => name).sort()).toEqual(mine.filter((r) => r.custom).map((r) => r.name).sort());
    for (const [name, urn] of childUrns) {
      expect(urn).toMatch(new RegExp(`^urn:pulumi:${STACK}::${PROJECT}::${STUDY_TYPE}\\$[^$]+::${name}$`));
    }
  });

  it("enables each API, Resource Manager included (project IAM members need it), without disabling it on destroy", async () => {
    const { mine } = await construct("s2", seedArgs());
    const services = ofType(mine, "gcp:projects/service:Service");
    expect(services.map((a) => a.inputs.service).sort()).toEqual(BUILD_APIS.map((a) => `${a}.googleapis.com`));
    for (const api of services) {
      expect(api.inputs).toMatchObject({ project: GCP_PROJECT, disableOnDestroy: false });
      expect(api.inputs.service).toBe(`${api.name.replace("s2-api-", "")}.googleapis.com`);
    }
  });

  it("makes the staging bucket private, uniform, labelled, regional, expires build sources, and keeps it (and its models) on destroy", async () => {
    const { get, opts } = await construct("s3", seedArgs({ bucket: { stagingObjectAgeDays: 3 } }));
    const bucket = get("gcp:storage/bucket:Bucket", "staging").inputs;
    expect(bucket).toMatchObject({
      project: GCP_PROJECT,
      location: REGION,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      forceDestroy: false,
      labels: { team: "ml-platform" },
      lifecycleRules: [{ action: { type: "Delete" }, condition: { age: 3, matchesPrefixes: ["source/", "build-logs/"] } }],
    });
    expect(bucket.encryption).toBeUndefined();
    // A non-empty bucket cannot be deleted: destroy leaves it in Google Cloud and completes.
    expect(opts("staging").retainOnDelete).toBe(true);
  });

  it("deletes the bucket with its objects on destroy with forceDestroy", async () => {
    const { get, opts } = await construct("s3f", seedArgs({ bucket: { forceDestroy: true } }));
    expect(get("gcp:storage/bucket:Bucket", "staging").inputs.forceDestroy).toBe(true);
    expect(opts("staging").retainOnDelete).toBe(false);
  });

  it("gives the trial account object user and bucket reader on the staging bucket and log and metric writer on the project, nothing else", async () => {
    const { mine, get, study } = await construct("s4", seedArgs());
    const account = get("gcp:serviceaccount/account:Account", "trials").inputs;
    expect(account).toMatchObject({ project: GCP_PROJECT, accountId: gcpIdOf("s4", "trials") });
    const email = await promiseOf(study.serviceAccountEmail);
    expect(email).toBe(emailOf("s4", "trials"));
    const member = `serviceAccount:${email}`;
    const bucketName = await promiseOf(study.bucketName);
    const grants = mine.filter((r) => r.inputs.member === member);
    expect(grants.map((g) => ({ type: g.type, role: g.inputs.role, scope: g.inputs.bucket ?? g.inputs.project }))).toEqual([
      { type: "gcp:storage/bucketIAMMember:BucketIAMMember", role: "roles/storage.objectUser", scope: bucketName },
      // storage.buckets.get: tf.io.gfile.makedirs in a new job's folder reads the bucket's metadata.
      { type: "gcp:storage/bucketIAMMember:BucketIAMMember", role: "roles/storage.legacyBucketReader", scope: bucketName },
      { type: "gcp:projects/iAMMember:IAMMember", role: "roles/logging.logWriter", scope: GCP_PROJECT },
      { type: "gcp:projects/iAMMember:IAMMember", role: "roles/monitoring.metricWriter", scope: GCP_PROJECT },
    ]);
    // No repository grant: Vertex's own service agent pulls same-project images.
    expect(ofType(mine, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember").map((g) => g.inputs.member)).not.toContain(member);
  });

  it("names service accounts and the repository after the Pulumi project too, so two Pulumi projects never collide", async () => {
    const { get } = await construct("s4id", seedArgs());
    expect(get("gcp:serviceaccount/account:Account", "trials").inputs.accountId).toBe("vertex-tuning-s4id-dev-trials");
    expect(get("gcp:serviceaccount/account:Account", "builder").inputs.accountId).toBe("vertex-tuning-s4id-dev-builder");
    expect(get("gcp:artifactregistry/repository:Repository", "repository").inputs.repositoryId).toBe("vertex-tuning-s4id-dev");
  });

  it("shortens an id over 30 characters with a hash of the whole", async () => {
    const { get } = await construct("s4-longer", seedArgs());
    expect(get("gcp:serviceaccount/account:Account", "trials").inputs.accountId).toMatch(/^vertex-tuning-s4-longer-[0-9a-f]{6}$/);
  });

  it("cuts a long study's account display names to IAM's 100 bytes", async () => {
    const name = `s4-${"x".repeat(80)}`;
    const { get } = await construct(name, seedArgs());
    for (const role of ["trials", "builder"]) {
      const displayName = get("gcp:serviceaccount/account:Account", role).inputs.displayName as string;
      expect(displayName).toMatch(/^(Trials|Image builds) of the s4-x{20}/);
      expect(Buffer.byteLength(displayName)).toBe(100);
    }
  });

  it("keeps the repository's tags immutable, in the region, labelled, cleaned up, and deleted before a replacement", async () => {
    const { get, opts } = await construct("s5", seedArgs());
    expect(get("gcp:artifactregistry/repository:Repository", "repository").inputs).toMatchObject({
      project: GCP_PROJECT,
      location: REGION,
      repositoryId: gcpIdOf("s5"),
      format: "DOCKER",
      dockerConfig: { immutableTags: true },
      labels: { team: "ml-platform" },
      cleanupPolicyDryRun: false,
      cleanupPolicies: [
        { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: 5 } },
        { id: "delete-old", action: "DELETE", condition: { tagState: "ANY", olderThan: "2592000s" } },
      ],
    });
    // A new key replaces the repository under the same id: the old one must go first.
    expect((opts("repository") as pulumi.CustomResourceOptions).deleteBeforeReplace).toBe(true);
  });

  it("builds the image with gcloud as its own builder account, staged in the bucket, logs suppressed, triggered by the content hash and the repository", async () => {
    const args = seedArgs();
    const { get, study, dependsOn } = await construct("s6", args);
    const hash = digestSource(args.trainer!.source!).hash;
    const imageUri = `${REGION}-docker.pkg.dev/${GCP_PROJECT}/${gcpIdOf("s6")}/trainer:${hash}`;
    expect(await promiseOf(study.imageUri)).toBe(imageUri);
    const build = get("command:local:Command", "image").inputs;
    const bucket = await promiseOf(study.bucketName);
    const builder = emailOf("s6", "builder");
    const repositoryPath = imageUri.slice(0, imageUri.lastIndexOf("/"));
    const check =
      `tags=$(gcloud artifacts docker tags list ${repositoryPath} --project ${GCP_PROJECT} --format 'value(tag)' --quiet) || exit 1; ` +
      `printf '%s\\n' "$tags" | grep -qx '.*/packages/trainer/tags/${hash}' || `;
    expect(build.create).toMatch(
      new RegExp(
        `^${check.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}` +
          `gcloud builds submit \\S+/trainer --tag ${imageUri} --project ${GCP_PROJECT} --region ${REGION} ` +
          `--gcs-source-staging-dir gs://${bucket}/source --gcs-log-dir gs://${bucket}/build-logs ` +
          `--service-account projects/${GCP_PROJECT}/serviceAccounts/${builder} --suppress-logs --quiet$`,
      ),
    );
    // A replaced repository (new createTime) starts empty: the build runs again.
    expect(build.triggers).toEqual([hash, imageUri, "2026-12-04T09:00:00.000000Z"]);
    expect(build.update).toBeUndefined();
    expect(dependsOn("image")).toEqual([...apis("s6", ...BUILD_APIS), "s6-build-logs", "s6-build-push", "s6-build-staging", "s6-build-staging-read", "s6-repository"].sort());
  });

  it("gives the builder account writer on the repository, object user and bucket reader on the bucket, log writer on the project, nothing else", async () => {
    const { mine, get, study } = await construct("s6b", seedArgs());
    const email = `${get("gcp:serviceaccount/account:Account", "builder").inputs.accountId}@${GCP_PROJECT}.iam.gserviceaccount.com`;
    const bucket = await promiseOf(study.bucketName);
    const grants = mine.filter((r) => r.inputs.member === `serviceAccount:${email}`);
    expect(grants.map((g) => ({ type: g.type, role: g.inputs.role, scope: g.inputs.repository ?? g.inputs.bucket ?? g.inputs.project })).sort((a, b) => a.role.localeCompare(b.role))).toEqual([
      { type: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", role: "roles/artifactregistry.writer", scope: gcpIdOf("s6b") },
      { type: "gcp:projects/iAMMember:IAMMember", role: "roles/logging.logWriter", scope: GCP_PROJECT },
      { type: "gcp:storage/bucketIAMMember:BucketIAMMember", role: "roles/storage.legacyBucketReader", scope: bucket },
      { type: "gcp:storage/bucketIAMMember:BucketIAMMember", role: "roles/storage.objectUser", scope: bucket },
    ]);
    expect(study.buildServiceAccount).toBeDefined();
    expect(await promiseOf(study.buildServiceAccount!.email)).toBe(email);
  });

  it("sends the seed study to Vertex exactly: parameters, scales, Bayesian, T4 trials, args, outputs, account, labels", async () => {
    const args = seedArgs();
    const { get, study } = await construct("s7", args);
    const job = get(JOB_TYPE, "job").inputs;
    const bucket = await promiseOf(study.bucketName);
    const imageUri = (await promiseOf(study.imageUri))!;
    expect(job.project).toBe(GCP_PROJECT);
    expect(job.location).toBe(REGION);
    expect(job.backend).toBe("vertex");
    const outputUriPrefix = outputDirectory(bucket!, "bayesian-hp-tuning", { study: args.study as never, trainer: args.trainer as never, imageUri, labels: args.labels as never });
    expect(outputUriPrefix).toMatch(/^gs:\/\/[^/]+\/bayesian-hp-tuning\/[0-9a-f]{12}\/$/);
    expect(job.job).toEqual(seedVertexJob({ imageUri, serviceAccount: emailOf("s7", "trials"), outputUriPrefix }));
  });

  it("gives each spec its own output folder, so a replacement job never overwrites the models of the one before", () => {
    const { study } = seedArgs();
    // A fixed trainer: seedArgs' source folder is a fresh temporary path.
    const definition = { study: study as never, trainer: { source: "trainer" }, imageUri: "image:1" };
    const base = outputDirectory("b", "d", definition);
    expect(base).toMatch(/^gs:\/\/b\/d\/[0-9a-f]{12}\/$/);
    expect(outputDirectory("b", "d", { ...definition })).toBe(base);
    // Unset labels and key leave the folder as it was before they entered the hash (pinned: the
    // folder of a stack deployed then), so such a stack keeps its job on upgrade.
    expect(base).toBe("gs://b/d/9b3f615769c6/");
    expect(outputDirectory("b", "d", { ...definition, labels: undefined, kmsKeyName: undefined })).toBe(base);
    // The same folder spelled another way, or from a checkout elsewhere, is the same trainer.
    expect(outputDirectory("b", "d", { ...definition, trainer: { source: "./trainer/" } })).toBe(base);
    expect(outputDirectory("b", "d", { ...definition, trainer: { source: join(process.cwd(), "trainer") } })).toBe(base);
    // Each change that replaces the job moves it to another folder.
    expect(outputDirectory("b", "d", { ...definition, imageUri: "image:2" })).not.toBe(base);
    expect(outputDirectory("b", "d", { ...definition, study: { ...(study as object), maxTrials: 31 } as never })).not.toBe(base);
    expect(outputDirectory("b", "d", { ...definition, trainer: { imageUri: "other" } })).not.toBe(base);
    expect(outputDirectory("b", "d", { ...definition, labels: { team: "ml" } })).not.toBe(base);
    expect(outputDirectory("b", "d", { ...definition, kmsKeyName: "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k" })).not.toBe(base);
  });

  it("starts the job only after the APIs, the grants and the image build", async () => {
    const { dependsOn } = await construct("s8", seedArgs());
    expect(dependsOn("job")).toEqual([...apis("s8", ...BUILD_APIS), "s8-image", "s8-trials-logs", "s8-trials-metrics", "s8-trials-staging", "s8-trials-staging-read"].sort());
  });

  it("exposes the job's outcome: name, state, console URL, counts, best trial, its parameters, value and model dir", async () => {
    const { study } = await construct("s9", seedArgs());
    const bucket = await promiseOf(study.bucketName);
    expect(await promiseOf(study.jobName)).toBe("projects/p/locations/us-central1/hyperparameterTuningJobs/123");
    expect(await promiseOf(study.state)).toBe("JOB_STATE_SUCCEEDED");
    expect(await promiseOf(study.consoleUrl)).toContain("console.cloud.google.com");
    expect(await promiseOf(study.trialCounts)).toMatchObject({ total: 3, succeeded: 3 });
    expect(await promiseOf(study.bestTrial)).toEqual(BEST_TRIAL);
    expect(await promiseOf(study.bestParameters)).toEqual(BEST_TRIAL.parameters);
    expect(await promiseOf(study.bestMetricValue)).toBe(0.91);
    expect(await promiseOf(study.bestModelDir)).toMatch(new RegExp(`^gs://${bucket}/bayesian-hp-tuning/[0-9a-f]{12}/2/model/$`));
  });

  it("exposes its children: bucket, trial account, builder account, repository and build command", async () => {
    const { study, get } = await construct("s10", seedArgs());
    expect(await promiseOf(study.bucket!.name)).toBe(await promiseOf(study.bucketName));
    expect(await promiseOf(study.serviceAccount!.email)).toBe(emailOf("s10", "trials"));
    expect(await promiseOf(study.repository!.repositoryId)).toBe(get("gcp:artifactregistry/repository:Repository", "repository").inputs.repositoryId);
    expect(await promiseOf(study.image!.create)).toBe(get("command:local:Command", "image").inputs.create);
    expect(await promiseOf(study.buildServiceAccount!.accountId)).toBe(get("gcp:serviceaccount/account:Account", "builder").inputs.accountId);
  });
});

describe("HyperparameterTuningStudy with a customer-managed key", () => {
  it("encrypts bucket, repository and job with the key, after granting the Storage, Artifact Registry and Vertex agents its use", async () => {
    const { mine, get, dependsOn } = await construct("c1", seedArgs({ kmsKeyName: KEY }));
    expect(get("gcp:storage/bucket:Bucket", "staging").inputs.encryption).toEqual({ defaultKmsKeyName: KEY });
    expect(get("gcp:artifactregistry/repository:Repository", "repository").inputs.kmsKeyName).toBe(KEY);
    expect(get(JOB_TYPE, "job").inputs.job.encryptionSpec).toEqual({ kmsKeyName: KEY });
    expect(ofType(mine, "gcp:projects/serviceIdentity:ServiceIdentity").map((s) => s.inputs.service).sort()).toEqual([
      "aiplatform.googleapis.com",
      "artifactregistry.googleapis.com",
    ]);
    const keyGrants = ofType(mine, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").map((g) => g.inputs);
    expect(keyGrants.sort((a, b) => a.member.localeCompare(b.member))).toEqual([
      { cryptoKeyId: KEY, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: "serviceAccount:service-123456@gcp-sa-aiplatform.iam.gserviceaccount.com" },
      { cryptoKeyId: KEY, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: "serviceAccount:service-123456@gcp-sa-artifactregistry.iam.gserviceaccount.com" },
      { cryptoKeyId: KEY, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: `serviceAccount:${STORAGE_AGENT}` },
    ]);
    // Each key grant comes before what encrypts with it.
    const withKms = [...BUILD_APIS, "cloudkms"].sort();
    expect(dependsOn("staging")).toEqual([...apis("c1", ...withKms), "c1-cmek-storage"].sort());
    expect(dependsOn("repository")).toEqual([...apis("c1", ...withKms), "c1-cmek-artifactregistry"].sort());
    expect(dependsOn("job")).toContain("c1-cmek-aiplatform");
  });

  it("enables Cloud KMS, and looks the Storage agent up only once the APIs are enabled", async () => {
    const { mine } = await construct("c3", seedArgs({ kmsKeyName: KEY }));
    const services = ofType(mine, "gcp:projects/service:Service");
    expect(services.map((s) => s.inputs.service)).toContain("cloudkms.googleapis.com");
    const lookup = invokes.filter((i) => i.token === "gcp:storage/getProjectServiceAccount:getProjectServiceAccount");
    expect(lookup.length).toBeGreaterThan(0);
    // The mocks answer APIs late: a look-up that waits for them comes after every answer.
    const last = lookup.at(-1)!;
    expect(last.inputs.project).toBe(GCP_PROJECT);
    for (const api of services) expect(last.at, api.name).toBeGreaterThan(api.answeredAt!);
  });

  it("looks the Storage agent up only after what the component itself depends on, also with enableApis: false", async () => {
    // An invoke does not wait for its parent's dependsOn as the children do: a platform stack's
    // API enablement or deployer grant, given to the component, must hold the look-up back too.
    const grant = new projects.Service("c5-deployer-api", { project: GCP_PROJECT, service: "storage.googleapis.com" });
    const before = invokes.length;
    await construct("c5", seedArgs({ kmsKeyName: KEY, enableApis: false }), { dependsOn: [grant] });
    const lookups = invokes.slice(before).filter((i) => i.token === "gcp:storage/getProjectServiceAccount:getProjectServiceAccount");
    expect(lookups).toHaveLength(1);
    // The mocks answer a Service late: a look-up that waits for it comes after its answer.
    expect(lookups[0].at).toBeGreaterThan(one(recorded, "gcp:projects/service:Service", "c5-deployer-api").answeredAt!);
  });

  it("keeps the key grants to the project's service agents on destroy: other studies rely on them", async () => {
    const { opts } = await construct("c4", seedArgs({ kmsKeyName: KEY }));
    for (const service of ["storage", "aiplatform", "artifactregistry"]) expect(opts(`cmek-${service}`).retainOnDelete, service).toBe(true);
  });

  it("refuses a key outside the job's region, at kmsKeyName", () => {
    const other = KEY.replace(REGION, "europe-west4");
    expect(() => new HyperparameterTuningStudy("c2", seedArgs({ kmsKeyName: other }))).toThrow(
      /kmsKeyName: the key is in europe-west4 but the job runs in us-central1/,
    );
  });
});

describe("HyperparameterTuningStudy options", () => {
  it("grants a given build service account its roles on the repository, bucket and project, keeps them on destroy, and runs the build as it", async () => {
    const buildSa = "builder@your-project-id.iam.gserviceaccount.com";
    const { mine, get, study, opts } = await construct("o1", seedArgs({ buildServiceAccountEmail: buildSa }));
    const member = `serviceAccount:${buildSa}`;
    const grants = mine.filter((r) => r.inputs.member === member);
    const bucket = await promiseOf(study.bucketName);
    expect(grants.map((r) => ({ type: r.type, role: r.inputs.role, scope: r.inputs.repository ?? r.inputs.bucket ?? r.inputs.project })).sort((a, b) => a.role.localeCompare(b.role))).toEqual([
      { type: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", role: "roles/artifactregistry.writer", scope: gcpIdOf("o1") },
      { type: "gcp:projects/iAMMember:IAMMember", role: "roles/logging.logWriter", scope: GCP_PROJECT },
      { type: "gcp:storage/bucketIAMMember:BucketIAMMember", role: "roles/storage.legacyBucketReader", scope: bucket },
      { type: "gcp:storage/bucketIAMMember:BucketIAMMember", role: "roles/storage.objectUser", scope: bucket },
    ]);
    // The caller's account is shared: destroying this study leaves its grants.
    for (const grant of grants) expect(opts(grant.name.replace("o1-", "")).retainOnDelete, grant.name).toBe(true);
    expect(ofType(mine, "gcp:serviceaccount/account:Account").map((a) => a.name)).toEqual(["o1-trials"]);
    expect(study.buildServiceAccount).toBeUndefined();
    expect(get("command:local:Command", "image").inputs.create).toContain(
      ` --service-account projects/${GCP_PROJECT}/serviceAccounts/${buildSa} --suppress-logs --quiet`,
    );
  });

  it("deletes the grants to its own builder account on destroy (nothing else uses it)", async () => {
    const { opts } = await construct("o1b", seedArgs());
    for (const role of ["build-push", "build-staging", "build-staging-read", "build-logs"]) expect(opts(role).retainOnDelete, role).toBe(false);
  });

  it("creates no repository, build or build APIs for a prebuilt image, and runs that image", async () => {
    const imageUri = "us-docker.pkg.dev/vertex-ai/training/tf-gpu.2-17.py310:latest";
    const { mine, get, study } = await construct("o2", seedArgs({ trainer: { imageUri } }));
    expect(mine.map((r) => r.type)).not.toContain("gcp:artifactregistry/repository:Repository");
    expect(mine.map((r) => r.type)).not.toContain("command:local:Command");
    expect(ofType(mine, "gcp:serviceaccount/account:Account").map((a) => a.name)).toEqual(["o2-trials"]);
    expect(ofType(mine, "gcp:projects/service:Service").map((s) => s.inputs.service).sort()).toEqual([
      "aiplatform.googleapis.com",
      "cloudresourcemanager.googleapis.com",
      "iam.googleapis.com",
      "storage.googleapis.com",
    ]);
    expect(get(JOB_TYPE, "job").inputs.job.trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri).toBe(imageUri);
    expect(await promiseOf(study.imageUri)).toBeUndefined();
    expect(study.repository).toBeUndefined();
    expect(study.image).toBeUndefined();
  });

  it("takes the image or the package's URIs as Outputs of other resources, into the same folder as the plain values", async () => {
    const imageUri = "us-central1-docker.pkg.dev/p/r/trainer:1";
    const { mine, get } = await construct("o2out", seedArgs({ trainer: { imageUri: pulumi.output(imageUri) } }));
    expect(mine.map((r) => r.type)).not.toContain("gcp:artifactregistry/repository:Repository");
    const job = get(JOB_TYPE, "job").inputs.job;
    expect(job.trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri).toBe(imageUri);
    const plain = await construct("o2plain", seedArgs({ trainer: { imageUri } }));
    const folder = (j: { trialJobSpec: { baseOutputDirectory: { outputUriPrefix: string } } }) => j.trialJobSpec.baseOutputDirectory.outputUriPrefix.split("/").slice(-2)[0];
    expect(folder(job)).toBe(folder(plain.get(JOB_TYPE, "job").inputs.job));

    const pythonPackage = { executorImageUri: pulumi.output("us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest"), packageUris: [pulumi.output("gs://bkt/trainer-0.1.tar.gz")], module: "trainer.task" };
    const packaged = await construct("o2pkg", seedArgs({ trainer: { pythonPackage } }));
    expect(packaged.get(JOB_TYPE, "job").inputs.job.trialJobSpec.workerPoolSpecs[0].pythonPackageSpec).toMatchObject({ packageUris: ["gs://bkt/trainer-0.1.tar.gz"], pythonModule: "trainer.task" });
    // A bad study is still refused at construction, and a bad URI once it is known.
    const invalid = () => new HyperparameterTuningStudy("o2bad", seedArgs({ study: { ...(seedArgs().study as object), maxTrials: 0 } as never, trainer: { imageUri: pulumi.output(imageUri) } }));
    expect(invalid).toThrow(/study\.maxTrials: must be between 1/);
  });

  it("enables no API with enableApis: false", async () => {
    const { mine } = await construct("o3", seedArgs({ enableApis: false }));
    expect(ofType(mine, "gcp:projects/service:Service")).toEqual([]);
    expect(ofType(mine, "gcp:storage/bucket:Bucket")).toHaveLength(1);
  });

  it("passes a gcp.Provider to every Google Cloud child and to the Storage agent look-up, and never to the job", async () => {
    const provider = new gcp.Provider("o4-gcp", { project: GCP_PROJECT });
    const before = invokes.length;
    const { mine } = await construct("o4", seedArgs({ kmsKeyName: KEY }), { providers: [provider] });
    const gcpChildren = mine.filter((r) => r.type.startsWith("gcp:"));
    expect(gcpChildren.length).toBeGreaterThan(10);
    for (const child of gcpChildren) expect(child.provider, child.name).toMatch(/::o4-gcp::o4-gcp-id$/);
    expect(one(mine, JOB_TYPE, "o4-job").provider ?? "").not.toContain("o4-gcp");
    const lookups = invokes.slice(before).filter((i) => i.token === "gcp:storage/getProjectServiceAccount:getProjectServiceAccount");
    expect(lookups).toHaveLength(1);
    expect(lookups[0].provider).toMatch(/::o4-gcp::o4-gcp-id$/);
  });

  it("takes project and region from the inherited provider when neither the arguments nor gcp:* config give them", async () => {
    const provider = new gcp.Provider("o6-gcp", { project: CLIENT_CONFIG.project, region: CLIENT_CONFIG.region });
    const before = invokes.length;
    const { project: _p, region: _r, ...args } = seedArgs();
    const { get } = await construct("o6", args, { providers: [provider] });
    const config = invokes.slice(before).filter((i) => i.token === "gcp:organizations/getClientConfig:getClientConfig");
    expect(config).toHaveLength(1);
    expect(config[0].provider).toMatch(/::o6-gcp::o6-gcp-id$/);
    expect(get("gcp:storage/bucket:Bucket", "staging").inputs).toMatchObject({ project: CLIENT_CONFIG.project, location: CLIENT_CONFIG.region });
    expect(get(JOB_TYPE, "job").inputs).toMatchObject({ project: CLIENT_CONFIG.project, location: CLIENT_CONFIG.region });
  });

  it("places the job where its children are: in the given provider's project and region, not the stack's gcp config", async () => {
    const saved = { project: process.env.GOOGLE_PROJECT, region: process.env.GOOGLE_REGION };
    process.env.GOOGLE_PROJECT = "config-project";
    process.env.GOOGLE_REGION = "us-east1";
    try {
      const { project: _p, region: _r, ...args } = seedArgs();
      const provider = new gcp.Provider("o7-gcp", { project: CLIENT_CONFIG.project, region: CLIENT_CONFIG.region });
      const under = await construct("o7", args, { providers: [provider] });
      expect(under.get(JOB_TYPE, "job").inputs).toMatchObject({ project: CLIENT_CONFIG.project, location: CLIENT_CONFIG.region });
      expect(under.get("gcp:storage/bucket:Bucket", "staging").inputs).toMatchObject({ project: CLIENT_CONFIG.project, location: CLIENT_CONFIG.region });
      // Without a provider of its own, the default provider's config is the placement.
      const ambient = await construct("o8", args);
      expect(ambient.get(JOB_TYPE, "job").inputs).toMatchObject({ project: "config-project", location: "us-east1" });
    } finally {
      for (const [key, value] of [["GOOGLE_PROJECT", saved.project], ["GOOGLE_REGION", saved.region]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it("grants no primitive role (owner, editor, viewer) anywhere, with every option on", async () => {
    const { mine } = await construct("o5", seedArgs({ kmsKeyName: KEY, buildServiceAccountEmail: "b@x.iam.gserviceaccount.com" }));
    const roles = mine.filter((r) => "role" in r.inputs).map((r) => r.inputs.role as string);
    expect(roles.length).toBeGreaterThanOrEqual(10);
    for (const role of roles) expect(role).not.toMatch(PRIMITIVE);
    // Nor a binding or policy resource that could carry one.
    expect(mine.map((r) => r.type).filter((t) => /IAM(Binding|Policy)|Iam(Binding|Policy)/.test(t))).toEqual([]);
  });
});

describe("HyperparameterTuningStudy renamed with aliases", () => {
  it("with idName set to the old name, gives the new name's children the old one's inputs: ids, display names, job and output folder", async () => {
    // No displayName: the job's and the output folder's default to the name.
    const { displayName: _seedName, ...study } = stackStudy("dev").study;
    const args = seedArgs({ study, trainer: { source: makeTrainer() } });
    // Two program runs, before and after the rename: in one, the second would claim the first's ids.
    type Constructed = Awaited<ReturnType<typeof construct>>;
    let before: Constructed | undefined;
    let after: Constructed | undefined;
    await pulumi.runtime.runInPulumiStack(async () => {
      before = await construct("old", args);
    });
    await pulumi.runtime.runInPulumiStack(async () => {
      after = await construct("new", { ...args, idName: "old" }, { aliases: [{ name: "old" }] });
    });
    const oldBucket = (await promiseOf(before!.study.bucketName))!;
    const newBucket = (await promiseOf(after!.study.bucketName))!;
    /**
     * Each child's inputs by type and role. The bucket is named by Pulumi (autonaming, which keeps
     * the old name under an alias; the mocks name it after the resource): it stands as <bucket>.
     */
    const inputs = (made: Constructed, name: string, bucket: string) =>
      Object.fromEntries(made.mine.filter((r) => r.custom).map((r) => [`${r.type}::${r.name.slice(name.length)}`, JSON.parse(JSON.stringify(r.inputs).split(bucket).join("<bucket>"))]));
    const oldInputs = inputs(before!, "old", oldBucket);
    const newInputs = inputs(after!, "new", newBucket);
    // The job's spec hash hashes the job with the mocks' bucket name: its provider's diff ignores
    // it (checked below), and the job itself is compared.
    const { specHash: _s, ...renamedJob } = newInputs[`${JOB_TYPE}::-job`];
    const { specHash: _os, ...oldJob } = oldInputs[`${JOB_TYPE}::-job`];
    expect(Object.keys(newInputs)).toHaveLength(20);
    // The identity label included: the job an interrupted up of "old" left running is the one an up
    // of "new" adopts (or cancels, for another spec), not one it leaves running beside a second.
    expect(renamedJob.identity).toMatch(/^[0-9a-f]{20}$/);
    expect({ ...newInputs, [`${JOB_TYPE}::-job`]: renamedJob }).toEqual({ ...oldInputs, [`${JOB_TYPE}::-job`]: oldJob });
    const finished = { ...oldInputs[`${JOB_TYPE}::-job`], state: "JOB_STATE_SUCCEEDED" };
    expect(await tuningJobProvider.diff!("id", finished as never, newInputs[`${JOB_TYPE}::-job`])).toMatchObject({ changes: false, replaces: [] });
    // What a rename without idName changed, named: the ids, the display names and the job's folder.
    const account = (role: string) => after!.get("gcp:serviceaccount/account:Account", role).inputs;
    expect(account("trials")).toMatchObject({ accountId: gcpIdOf("old", "trials"), displayName: `Trials of the old tuning study (${STACK})` });
    expect(account("builder")).toMatchObject({ accountId: gcpIdOf("old", "builder"), displayName: `Image builds of the old tuning study (${STACK})` });
    expect(after!.get("gcp:artifactregistry/repository:Repository", "repository").inputs).toMatchObject({ repositoryId: gcpIdOf("old"), description: "Trainer images of the old tuning study" });
    const job = after!.get(JOB_TYPE, "job").inputs.job;
    expect(job.displayName).toBe("old");
    expect(job.trialJobSpec.baseOutputDirectory.outputUriPrefix).toMatch(new RegExp(`^gs://${newBucket}/old/[0-9a-f]{12}/$`));
    // Pulumi names follow the component's real name.
    expect(after!.mine.filter((r) => r.custom).every((r) => r.name.startsWith("new-"))).toBe(true);
  });
});
