/**
 * The trainer image: a content hash of exactly what `gcloud builds submit` uploads becomes the
 * image tag, and a `command.local.Command` runs the build with that hash, the image URI and the
 * repository's creation time as its only triggers. An unchanged folder gives the same tag, so the command shows no diff and never
 * rebuilds; any uploaded byte that changes gives a new tag, a new build and a new job spec.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ALWAYS_IGNORED, UploadFilter } from "./ignoreFiles";
import { shellWord } from "./shellWords";

/** The image name inside the study's repository. */
export const TRAINER_IMAGE_NAME = "trainer";

/** Length of the hex digest used as the tag: 64 bits, ample for one repository's history. */
const TAG_LENGTH = 16;

/** The content identity of a source folder. */
export interface SourceDigest {
  /** Hex digest of the uploaded files (paths and bytes); the image tag. */
  hash: string;
  /** The files the hash covers: what the build uploads, as sorted POSIX paths. */
  files: string[];
  /**
   * Files gcloud would upload although they never count (caches, virtual environments): the
   * folder's `.gcloudignore` should list them, or the upload and the hash differ.
   */
  uncounted: string[];
}

/**
 * Hashes what `gcloud builds submit <dir>` uploads: gcloud's own ignore rules for the folder (one
 * reader, `ignoreFiles.ts`, serves both), minus caches and virtual environments.
 */
export function digestSource(dir: string): SourceDigest {
  if (!fs.existsSync(path.join(dir, "Dockerfile"))) {
    throw new Error(`${dir} has no Dockerfile: a source trainer is built with \`gcloud builds submit --tag\`, which needs one`);
  }
  const uploaded = new UploadFilter(dir).files();
  // gcloud fails on a broken link it uploads (ignoreFiles.ts), at up, after the bucket, accounts
  // and repository exist; and leaving it out of the hash gave a link broken on one machine only
  // (to a dataset elsewhere) another tag there, so the job was replaced.
  const broken = uploaded.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (broken.length) {
    throw new Error(
      `${dir} holds broken symbolic links that \`gcloud builds submit\` would upload (${broken.slice(0, 5).join(", ")}), and it fails on them (FileNotFoundError): ` +
        "fix or remove them, or leave them out of the upload in the folder's .gcloudignore",
    );
  }
  // gcloud looks for the Dockerfile on disk, then uploads the folder through its ignore file: one
  // left out (a .gcloudignore kept in step with a .dockerignore that lists it) fails the remote
  // build, at `up`, after the bucket, accounts and repository exist.
  if (!uploaded.includes("Dockerfile")) {
    throw new Error(`the .gcloudignore of ${dir} leaves its Dockerfile out of the upload: Cloud Build needs it in what \`gcloud builds submit\` uploads`);
  }
  const counted = new UploadFilter(dir, ALWAYS_IGNORED).files();
  const countedSet = new Set(counted);
  const uncounted = uploaded.filter((f) => !countedSet.has(f));
  return { hash: hashFiles(dir, counted), files: counted, uncounted };
}

/**
 * The content tag of a trainer folder the local backend runs as it is (no build, so no Dockerfile
 * to ask for): the files an image's tag would count, caches and virtual environments never. It
 * goes into the local job, where the folder's content was not, so that a changed trainer is a
 * changed job, as a new image tag is on Vertex AI.
 */
export function contentTag(dir: string): string {
  return hashFiles(dir, new UploadFilter(dir, ALWAYS_IGNORED).files());
}

/** The tag of `files` (POSIX paths under `dir`): their paths, bytes, executable bits and link targets. */
function hashFiles(dir: string, files: string[]): string {
  const hash = createHash("sha256");
  for (const file of files) {
    const full = path.join(dir, file);
    const stat = fs.lstatSync(full);
    // A link is uploaded as a link: its target path is what the image gets.
    if (stat.isSymbolicLink()) {
      hash.update(`${file}\0link\0${fs.readlinkSync(full)}\0`);
      continue;
    }
    // A named pipe would block the read for as long as nothing writes to it: the preview hung.
    if (!stat.isFile()) {
      throw new Error(`${path.join(dir, file)} is neither a file nor a symbolic link (a named pipe or a socket): remove it, or leave it out of the upload in the folder's .gcloudignore`);
    }
    const bytes = fs.readFileSync(full);
    // Path and length first, so no two trees of files can feed the hash the same bytes. The
    // upload keeps file modes, and the one that matters (and that git keeps) is the executable
    // bit: it counts only when set, so a tree without executables keeps its tag.
    hash.update(`${file}\0${bytes.length}\0${stat.mode & 0o100 ? "x\0" : ""}`);
    hash.update(bytes);
  }
  return hash.digest("hex").slice(0, TAG_LENGTH);
}

/** `<region>-docker.pkg.dev/<project>/<repository>/trainer:<tag>`. */
export function trainerImageUri(region: string, project: string, repository: string, tag: string): string {
  return `${region}-docker.pkg.dev/${project}/${repository}/${TRAINER_IMAGE_NAME}:${tag}`;
}

/** What the build command needs. */
export interface BuildCommandOptions {
  /** The source folder as the command sees it (relative to the command's working directory). */
  source: string;
  /** The image to push, `<region>-docker.pkg.dev/<project>/<repository>/trainer:<tag>` (`trainerImageUri`). */
  imageUri: string;
  /** Project the build runs in and the repository is in. */
  project: string;
  /** Region of the build (a regional Cloud Build pool, next to the repository). */
  region: string;
  /**
   * The staging bucket: the source is staged under `gs://<bucket>/source` and the build logs go
   * to `gs://<bucket>/build-logs`, where they stay (the command suppresses them on stdout, which
   * Pulumi would keep in its state); Cloud Build requires a user-chosen logs location for a build
   * running as a user-specified service account.
   */
  bucket: string;
  /**
   * Service account the build runs as: always given, so the build never falls back to the
   * project's default build account (broad, or without the roles it needs).
   */
  serviceAccountEmail: string;
}

/**
 * The project of a service account's resource name: the account's own, from a user-managed
 * account's email (`<name>@<project>.iam.gserviceaccount.com`), so a caller's account from another
 * project is named where it lives; else the build's project.
 */
function serviceAccountProject(email: string, buildProject: string): string {
  return /@([a-z0-9-]+)\.iam\.gserviceaccount\.com$/.exec(email)?.[1] ?? buildProject;
}

/**
 * The command line of the image build: `gcloud builds submit`, skipped when the tag is already in
 * the repository. Tags are immutable there, so a build whose push succeeded but whose command
 * failed afterwards (say, while streaming logs) could otherwise never be retried.
 *
 * The check lists the repository's tags (Artifact Registry alone, and an empty repository is an
 * empty list, not an error). A failed check fails the command rather than building: building a
 * tag that exists fails for good. (`docker images describe` would also query Container Analysis
 * where that API is on, and a refusal there would read as "no image".)
 */
export function buildCommandLine(o: BuildCommandOptions): string {
  const colon = o.imageUri.lastIndexOf(":");
  const slash = o.imageUri.lastIndexOf("/");
  if (colon < slash || slash < 0) throw new Error(`${o.imageUri} is not <repository path>/<image>:<tag>`);
  const repositoryPath = o.imageUri.slice(0, slash);
  const tagName = `.*/packages/${o.imageUri.slice(slash + 1, colon)}/tags/${o.imageUri.slice(colon + 1)}`;
  const listTags = ["gcloud", "artifacts", "docker", "tags", "list", repositoryPath, "--project", o.project, "--format", "value(tag)", "--quiet"];
  const args = [
    "gcloud", "builds", "submit", o.source,
    "--tag", o.imageUri,
    "--project", o.project,
    "--region", o.region,
    "--gcs-source-staging-dir", `gs://${o.bucket}/source`,
    "--gcs-log-dir", `gs://${o.bucket}/build-logs`,
    "--service-account", `projects/${serviceAccountProject(o.serviceAccountEmail, o.project)}/serviceAccounts/${o.serviceAccountEmail}`,
    // The command's stdout is kept in Pulumi's state: the log stays in the bucket instead.
    "--suppress-logs",
    "--quiet",
  ];
  return (
    `tags=$(${listTags.map(shellWord).join(" ")}) || exit 1; ` +
    `printf '%s\\n' "$tags" | grep -qx ${shellWord(tagName)} || ${args.map(shellWord).join(" ")}`
  );
}

/** Inputs of the image build. */
export interface TrainerImageArgs {
  /** Absolute path of the source folder. */
  sourceDir: string;
  /** The folder's digest (`digestSource`), computed by the caller before it creates anything. */
  digest: SourceDigest;
  /** Project of the build and the repository. */
  project: pulumi.Input<string>;
  /** Region of the build and the repository. */
  region: pulumi.Input<string>;
  /** The Artifact Registry repository id. */
  repository: pulumi.Input<string>;
  /**
   * When the repository was created: a trigger, so a replaced repository (which starts empty)
   * gets the image built again under the same tag.
   */
  repositoryCreateTime: pulumi.Input<string>;
  /** The staging bucket (build source and logs). */
  bucket: pulumi.Input<string>;
  /** Service account the build runs as (see `BuildCommandOptions.serviceAccountEmail`). */
  serviceAccountEmail: pulumi.Input<string>;
}

/** The build and the image it pushes. */
export interface TrainerImage {
  /** The `gcloud builds submit` command resource; what depends on the image depends on it. */
  command: command.local.Command;
  /** The image the command pushes, tagged with the content hash; what takes it as an input waits for the push. */
  imageUri: pulumi.Output<string>;
}

/**
 * Creates the build command for a source folder. The command line names the folder relative to
 * the working directory (the program's, which Pulumi also gives the command provider), so the
 * same checkout at another path (a CI runner) shows no diff.
 */
export function buildTrainerImage(name: string, args: TrainerImageArgs, opts: pulumi.CustomResourceOptions): TrainerImage {
  const digest = args.digest;
  const source = path.relative(process.cwd(), args.sourceDir).split(path.sep).join("/") || ".";
  const imageUri = pulumi
    .all([args.region, args.project, args.repository])
    .apply(([region, project, repository]) => trainerImageUri(region, project, repository, digest.hash));
  const create = pulumi
    .all([imageUri, args.project, args.region, args.bucket, args.serviceAccountEmail])
    .apply(([uri, project, region, bucket, serviceAccountEmail]) =>
      buildCommandLine({ source, imageUri: uri, project, region, bucket, serviceAccountEmail }),
    );
  const triggers = [digest.hash, imageUri, args.repositoryCreateTime];
  const build = new command.local.Command(name, { create, triggers }, opts);
  // The URI as those who run the image see it: with the build among its resources, so a resource
  // given it (another study's job, a serving container) waits for the push rather than only for
  // the repository. Through the build's URN, known at preview: the value stays known then.
  const pushed = pulumi.all([imageUri, build.urn]).apply(([uri]) => uri);
  return { command: build, imageUri: pushed };
}
