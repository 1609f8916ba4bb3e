/**
 * Credentials of the Vertex client, read at call time and never stored: an explicit token (the
 * local backend's), then `GOOGLE_OAUTH_ACCESS_TOKEN` (what Pulumi ESC's gcp-login exports), then
 * `CLOUDSDK_AUTH_ACCESS_TOKEN` (gcloud's), then Application Default Credentials, which do not
 * read either variable themselves (research/pulumi.md §0.7).
 */
type AuthModule = (typeof import("googleapis/build/src/apis/aiplatform"))["auth"];

/** An auth client for googleapis, and where its credentials came from (for error messages; never the secret). */
export interface ResolvedAuth {
  client: InstanceType<AuthModule["OAuth2"]> | InstanceType<AuthModule["GoogleAuth"]>;
  source: string;
}

const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const TOKEN_VARIABLES = ["GOOGLE_OAUTH_ACCESS_TOKEN", "CLOUDSDK_AUTH_ACCESS_TOKEN"] as const;

/** Picks the credentials by the order above. */
export function resolveAuth(
  token?: string,
  env: NodeJS.ProcessEnv = process.env,
  auth: AuthModule = (require("googleapis/build/src/apis/aiplatform") as typeof import("googleapis/build/src/apis/aiplatform")).auth,
): ResolvedAuth {
  const fromEnv = TOKEN_VARIABLES.find((name) => env[name]);
  const accessToken = token ?? (fromEnv ? env[fromEnv] : undefined);
  if (accessToken) {
    const client = new auth.OAuth2();
    client.setCredentials({ access_token: accessToken });
    return { client, source: token !== undefined ? "the given access token" : `the access token in $${fromEnv}` };
  }
  return { client: new auth.GoogleAuth({ scopes: [SCOPE] }), source: "Application Default Credentials" };
}
