/**
 * HyperparameterTuningStudy on the vertex backend under Pulumi's mock runtime: which children it
 * creates, their names, parents and inputs, and the outputs it exposes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp/provider";
import { beforeAll, describe, expect, it } from "vitest";
import { HyperparameterTuningStudy, STUDY_TYPE, digestSource, type HyperparameterTuningStudyArgs } from "../../components";
import { BEST_TRIAL, JOB_TYPE, PROJECT, STACK, STORAGE_AGENT, childRecorder, installMocks, one, ofType, promiseOf, type Recorded } from "./mocks";
import { makeTrainer, stackStudy } from "./fixtures";
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
  return { study, mine, urns: await recorder.urns(), get: (type: string, role: string) => one(mine, type, `${name}-${role}`) };
}

const PRIMITIVE = /^roles\/(owner|editor|viewer)$/;

describe("HyperparameterTuningStudy on Vertex AI", () => {
  it("creates the APIs, bucket, account, grants, repository, build and job, each named <name>-<role> under the component", async () => {
    const { mine, urns } = await construct("s1", seedArgs());
    const children = mine.filter((r) => r.custom).map((r) => `${r.type}::${r.name}`).sort();
    expect(children).toEqual(
      [
        "gcp:projects/service:Service::s1-api-aiplatform",
        "gcp:projects/service:Service::s1-api-artifactregistry",
        "gcp:projects/service:Service::s1-api-cloudbuild",
        "gcp:projects/service:Service::s1-api-iam",
        "gcp:projects/service:Service::s1-api-storage",
        "gcp:storage/bucket:Bucket::s1-staging",
        "gcp:serviceaccount/account:Account::s1-trials",
        "gcp:storage/bucketIAMMember:BucketIAMMember::s1-trials-staging",
        "gcp:projects/iAMMember:IAMMember::s1-trials-logs",
        "gcp:projects/iAMMember:IAMMember::s1-trials-metrics",
        "gcp:artifactregistry/repository:Repository::s1-repository",
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

  it("enables each API without disabling it on destroy", async () => {
    const { mine } = await construct("s2", seedArgs());
    for (const api of ofType(mine, "gcp:projects/service:Service")) {
      expect(api.inputs).toMatchObject({ project: GCP_PROJECT, disableOnDestroy: false });
      expect(api.inputs.service).toBe(`${api.name.replace("s2-api-", "")}.googleapis.com`);
    }
  });

  it("makes the staging bucket private, uniform, labelled, regional, and expires build sources", async () => {
    const { get } = await construct("s3", seedArgs({ bucket: { stagingObjectAgeDays: 3 } }));
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
  });

  it("gives the trial account object admin on the staging bucket and log and metric writer on the project, nothing else", async () => {
    const { mine, get, study } = await construct("s4", seedArgs());
    const account = get("gcp:serviceaccount/account:Account", "trials").inputs;
    expect(account).toMatchObject({ project: GCP_PROJECT, accountId: "s4-dev-trials" });
    const email = await promiseOf(study.serviceAccountEmail);
    expect(email).toBe(`s4-dev-trials@${GCP_PROJECT}.iam.gserviceaccount.com`);
    const member = `serviceAccount:${email}`;
    const bucketName = await promiseOf(study.bucketName);
    const grants = mine.filter((r) => "member" in r.inputs && "role" in r.inputs);
    expect(grants.map((g) => ({ type: g.type, role: g.inputs.role, member: g.inputs.member, scope: g.inputs.bucket ?? g.inputs.project }))).toEqual([
      { type: "gcp:storage/bucketIAMMember:BucketIAMMember", role: "roles/storage.objectAdmin", member, scope: bucketName },
      { type: "gcp:projects/iAMMember:IAMMember", role: "roles/logging.logWriter", member, scope: GCP_PROJECT },
      { type: "gcp:projects/iAMMember:IAMMember", role: "roles/monitoring.metricWriter", member, scope: GCP_PROJECT },
    ]);
    // No repository grant: Vertex's own service agent pulls same-project images.
    expect(ofType(mine, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")).toEqual([]);
  });

  it("keeps the repository's tags immutable, in the region, labelled", async () => {
    const { get } = await construct("s5", seedArgs());
    expect(get("gcp:artifactregistry/repository:Repository", "repository").inputs).toMatchObject({
      project: GCP_PROJECT,
      location: REGION,
      repositoryId: "s5-dev",
      format: "DOCKER",
      dockerConfig: { immutableTags: true },
      labels: { team: "ml-platform" },
    });
  });

  it("builds the image with gcloud, staged in the bucket, tagged and triggered by the content hash", async () => {
    const args = seedArgs();
    const { get, study } = await construct("s6", args);
    const hash = digestSource(args.trainer!.source!).hash;
    const imageUri = `${REGION}-docker.pkg.dev/${GCP_PROJECT}/s6-dev/trainer:${hash}`;
    expect(await promiseOf(study.imageUri)).toBe(imageUri);
    const build = get("command:local:Command", "image").inputs;
    const bucket = await promiseOf(study.bucketName);
    expect(build.create).toMatch(
      new RegExp(`^gcloud artifacts docker images describe ${imageUri} --project ${GCP_PROJECT} --quiet >/dev/null 2>&1 \\|\\| gcloud builds submit \\S+/trainer --tag ${imageUri} --project ${GCP_PROJECT} --region ${REGION} --gcs-source-staging-dir gs://${bucket}/source --gcs-log-dir gs://${bucket}/build-logs --quiet$`),
    );
    expect(build.triggers).toEqual([hash, imageUri]);
    expect(build.update).toBeUndefined();
  });

  it("sends the seed study to Vertex exactly: parameters, scales, Bayesian, T4 trials, args, outputs, account, labels", async () => {
    const args = seedArgs();
    const { get, study } = await construct("s7", args);
    const job = get(JOB_TYPE, "job").inputs;
    const bucket = await promiseOf(study.bucketName);
    expect(job.project).toBe(GCP_PROJECT);
    expect(job.location).toBe(REGION);
    expect(job.backend).toBe("vertex");
    expect(job.job).toEqual(
      seedVertexJob({
        imageUri: (await promiseOf(study.imageUri))!,
        serviceAccount: `s7-dev-trials@${GCP_PROJECT}.iam.gserviceaccount.com`,
        outputUriPrefix: `gs://${bucket}/bayesian-hp-tuning/`,
      }),
    );
  });

  it("starts the job only after the APIs, the grants and the image build", async () => {
    // The job's explicit dependencies are visible to a transformation of the caller.
    const seen: pulumi.ResourceTransformationArgs[] = [];
    const study = new HyperparameterTuningStudy("s8", seedArgs(), { transformations: [(a) => void seen.push(a)] });
    await promiseOf(study.jobName);
    const job = seen.find((a) => a.name === "s8-job")!;
    const deps = (job.opts.dependsOn as pulumi.Resource[]).map((d) => seen.find((a) => a.resource === d)?.name).sort();
    expect(deps).toEqual(
      ["s8-api-aiplatform", "s8-api-artifactregistry", "s8-api-cloudbuild", "s8-api-iam", "s8-api-storage", "s8-image", "s8-trials-logs", "s8-trials-metrics", "s8-trials-staging"].sort(),
    );
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
    expect(await promiseOf(study.bestModelDir)).toBe(`gs://${bucket}/bayesian-hp-tuning/2/model/`);
  });
});

describe("HyperparameterTuningStudy with a customer-managed key", () => {
  it("encrypts bucket, repository and job with the key, after granting the Storage, Artifact Registry and Vertex agents its use", async () => {
    const { mine, get } = await construct("c1", seedArgs({ kmsKeyName: KEY }));
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
  });

  it("refuses a key outside the job's region, at kmsKeyName", () => {
    const other = KEY.replace(REGION, "europe-west4");
    expect(() => new HyperparameterTuningStudy("c2", seedArgs({ kmsKeyName: other }))).toThrow(
      /kmsKeyName: the key is in europe-west4 but the job runs in us-central1/,
    );
  });
});

describe("HyperparameterTuningStudy options", () => {
  it("grants a build service account writer on the repository only, and runs the build as it", async () => {
    const buildSa = "builder@your-project-id.iam.gserviceaccount.com";
    const { mine, get, study } = await construct("o1", seedArgs({ buildServiceAccountEmail: buildSa }));
    const member = `serviceAccount:${buildSa}`;
    const grants = mine.filter((r) => r.inputs.member === member).map((r) => ({ type: r.type, role: r.inputs.role, scope: r.inputs.repository ?? r.inputs.bucket ?? r.inputs.project }));
    expect(grants.sort((a, b) => a.role.localeCompare(b.role))).toEqual([
      { type: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", role: "roles/artifactregistry.writer", scope: "o1-dev" },
      { type: "gcp:projects/iAMMember:IAMMember", role: "roles/logging.logWriter", scope: GCP_PROJECT },
      { type: "gcp:storage/bucketIAMMember:BucketIAMMember", role: "roles/storage.objectAdmin", scope: await promiseOf(study.bucketName) },
    ]);
    expect(get("command:local:Command", "image").inputs.create).toContain(
      ` --service-account projects/${GCP_PROJECT}/serviceAccounts/${buildSa} --quiet`,
    );
  });

  it("creates no repository, build or build APIs for a prebuilt image, and runs that image", async () => {
    const imageUri = "us-docker.pkg.dev/vertex-ai/training/tf-gpu.2-17.py310:latest";
    const { mine, get, study } = await construct("o2", seedArgs({ trainer: { imageUri } }));
    expect(mine.map((r) => r.type)).not.toContain("gcp:artifactregistry/repository:Repository");
    expect(mine.map((r) => r.type)).not.toContain("command:local:Command");
    expect(ofType(mine, "gcp:projects/service:Service").map((s) => s.inputs.service).sort()).toEqual([
      "aiplatform.googleapis.com",
      "iam.googleapis.com",
      "storage.googleapis.com",
    ]);
    expect(get(JOB_TYPE, "job").inputs.job.trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri).toBe(imageUri);
    expect(await promiseOf(study.imageUri)).toBeUndefined();
  });

  it("enables no API with enableApis: false", async () => {
    const { mine } = await construct("o3", seedArgs({ enableApis: false }));
    expect(ofType(mine, "gcp:projects/service:Service")).toEqual([]);
    expect(ofType(mine, "gcp:storage/bucket:Bucket")).toHaveLength(1);
  });

  it("passes a gcp.Provider to every Google Cloud child and never to the job", async () => {
    const provider = new gcp.Provider("o4-gcp", { project: GCP_PROJECT });
    const { mine } = await construct("o4", seedArgs({ kmsKeyName: KEY }), { providers: [provider] });
    const gcpChildren = mine.filter((r) => r.type.startsWith("gcp:"));
    expect(gcpChildren.length).toBeGreaterThan(10);
    for (const child of gcpChildren) expect(child.provider, child.name).toMatch(/::o4-gcp::o4-gcp-id$/);
    expect(one(mine, JOB_TYPE, "o4-job").provider ?? "").not.toContain("o4-gcp");
  });

  it("grants no primitive role (owner, editor, viewer) anywhere, with every option on", async () => {
    const { mine } = await construct("o5", seedArgs({ kmsKeyName: KEY, buildServiceAccountEmail: "b@x.iam.gserviceaccount.com" }));
    const roles = mine.filter((r) => "role" in r.inputs).map((r) => r.inputs.role as string);
    expect(roles.length).toBeGreaterThanOrEqual(9);
    for (const role of roles) expect(role).not.toMatch(PRIMITIVE);
    // Nor a binding or policy resource that could carry one.
    expect(mine.map((r) => r.type).filter((t) => /IAM(Binding|Policy)|Iam(Binding|Policy)/.test(t))).toEqual([]);
  });
});
