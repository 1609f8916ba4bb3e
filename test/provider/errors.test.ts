/** The client's pure parts: errors a person can act on, the retry policy, the endpoint, the credentials' order. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createVertexClient } from "../../components/vertex/client";
import { resolveAuth } from "../../components/vertex/auth";
import { apiRoot } from "../../components/vertex/endpoint";
import { isNotFound, toVertexError } from "../../components/vertex/errors";
import { backoffDelay, DEFAULT_RETRY, withRetries } from "../../components/vertex/retry";
import { vertexApiError } from "../../components/vertex/errors";
import { fastClock } from "./helpers";

/** The shape googleapis (gaxios) throws for an HTTP error answer. */
function httpError(status: number, error: object) {
  return Object.assign(new Error(`Request failed with status code ${status}`), { status, response: { status, data: { error } } });
}

describe("errors", () => {
  it("names the quota of a RESOURCE_EXHAUSTED create, from the message or the details", () => {
    const fromMessage = toVertexError(
      httpError(429, {
        code: 429,
        status: "RESOURCE_EXHAUSTED",
        message: "The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_nvidia_l4_gpus",
      }),
      "create hyperparameter tuning job in projects/p/locations/us-central1",
      "ADC",
    );
    expect(fromMessage.message).toContain("the quota aiplatform.googleapis.com/custom_model_training_nvidia_l4_gpus");
    expect(fromMessage).toMatchObject({ httpStatus: 429, transient: true, ambiguous: false });

    const fromDetails = toVertexError(
      httpError(429, {
        code: 429,
        status: "RESOURCE_EXHAUSTED",
        message: "Quota exceeded",
        details: [{ "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [{ subject: "aiplatform.googleapis.com/custom_model_training_cpus" }] }],
      }),
      "create",
      "ADC",
    );
    expect(fromDetails.message).toContain("the quota aiplatform.googleapis.com/custom_model_training_cpus");
  });

  it("tells a rate limit (requests per minute) from a job that does not fit: run again, not a smaller job", () => {
    // What Vertex AI answers when the region's CRUD requests per minute are used up.
    const message =
      "Quota exceeded for quota metric 'Resource management (CRUD) requests' and limit 'Resource management (CRUD) requests per minute per region' of service 'aiplatform.googleapis.com' for consumer 'project_number:123'.";
    const details = [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "RATE_LIMIT_EXCEEDED", domain: "googleapis.com", metadata: { quota_metric: "aiplatform.googleapis.com/resource_management_requests" } }];
    for (const body of [{ code: 429, status: "RESOURCE_EXHAUSTED", message, details }, { code: 429, status: "RESOURCE_EXHAUSTED", message }]) {
      const error = toVertexError(httpError(429, body), "create hyperparameter tuning job in projects/p/locations/us-central1", "ADC");
      expect(error.message).not.toContain("lower parallelTrialCount");
      expect(error.message).toContain("Too many requests to the API for now");
      expect(error.message).toContain("run again in a minute");
    }
    expect(toVertexError(httpError(429, { code: 429, status: "RESOURCE_EXHAUSTED", message, details }), "create", "ADC").message).toContain(
      "the quota aiplatform.googleapis.com/resource_management_requests",
    );
  });

  it("names the permission of a 403, and where the credentials came from", () => {
    const error = toVertexError(
      httpError(403, { code: 403, status: "PERMISSION_DENIED", message: "Permission 'aiplatform.hyperparameterTuningJobs.create' denied on resource '//aiplatform.googleapis.com/projects/p/locations/us-central1' (or it may not exist)." }),
      "create",
      "the access token in $GOOGLE_OAUTH_ACCESS_TOKEN",
    );
    expect(error.message).toContain("lacks the permission aiplatform.hyperparameterTuningJobs.create");
    expect(error.message).toContain("credentials from the access token in $GOOGLE_OAUTH_ACCESS_TOKEN");
    const fromDetails = toVertexError(
      httpError(403, { code: 403, status: "PERMISSION_DENIED", message: "denied", details: [{ reason: "IAM_PERMISSION_DENIED", metadata: { permission: "aiplatform.hyperparameterTuningJobs.cancel" } }] }),
      "cancel",
      "ADC",
    );
    expect(fromDetails.message).toContain("lacks the permission aiplatform.hyperparameterTuningJobs.cancel");
  });

  it("classifies dropped connections and 5xx as transient and ambiguous, 4xx as neither", () => {
    const reset = toVertexError(Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) }), "create", "ADC");
    expect(reset).toMatchObject({ httpStatus: undefined, transient: true, ambiguous: true, reason: "ECONNRESET" });
    expect(toVertexError(httpError(503, { status: "UNAVAILABLE", message: "x" }), "get", "ADC")).toMatchObject({ transient: true, ambiguous: true });
    expect(toVertexError(httpError(400, { status: "INVALID_ARGUMENT", message: "x" }), "get", "ADC")).toMatchObject({ transient: false, ambiguous: false });
    expect(isNotFound(toVertexError(httpError(404, { status: "NOT_FOUND", message: "x" }), "get", "ADC"))).toBe(true);
  });

  it("quotes only the start of an error answer that is not the API's JSON (a proxy's 502 page), on one line", () => {
    const page = `<html>\n<head><title>502 Bad Gateway</title></head>\n<body>${"x".repeat(1500)}</body></html>`;
    const error = Object.assign(new Error(page), { status: 502, response: { status: 502, data: page } });
    const message = toVertexError(error, "get j", "ADC").message;
    expect(message).toMatch(/^get j failed: 502 HTTP_502: <html> <head><title>502 Bad Gateway<\/title><\/head> <body>x+… \(1571 characters, not the API's JSON\)$/);
    expect(message.length).toBeLessThan(300);
  });

  it("takes a success that is not the API's JSON (a proxy's sign-in page, 200) as no answer: transient and ambiguous, never a job", async () => {
    const proxy = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>Sign in to continue</html>"));
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const client = createVertexClient({ project: "p", location: "us-central1", apiEndpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`, token: "t", retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
      for (const call of [() => client.create({ displayName: "d" }), () => client.get("projects/p/locations/us-central1/hyperparameterTuningJobs/1")]) {
        await expect(call()).rejects.toMatchObject({
          name: "VertexApiError",
          transient: true,
          ambiguous: true,
          message: expect.stringContaining("failed: the answer is not the API's (a proxy's page?): <html>Sign in to continue</html>; the request may or may not have been carried out"),
        });
      }
    } finally {
      proxy.close();
    }
  });

  it("never carries a token: messages come from the answer, not the request", () => {
    const token = "ya29.secret-token";
    const error = toVertexError(
      Object.assign(httpError(401, { status: "UNAUTHENTICATED", message: "Request had invalid authentication credentials." }), { config: { headers: { Authorization: `Bearer ${token}` } } }),
      "get",
      "the access token in $CLOUDSDK_AUTH_ACCESS_TOKEN",
    );
    expect(error.message).not.toContain(token);
    expect(error.message).toContain("were refused");
    // The way to fresh credentials is the one their source needs.
    expect(error.message).toMatch(/were refused: set \$CLOUDSDK_AUTH_ACCESS_TOKEN to a fresh token$/);
    const adc = toVertexError(httpError(401, { status: "UNAUTHENTICATED", message: "x" }), "get", "Application Default Credentials");
    expect(adc.message).toMatch(/were refused: run `gcloud auth application-default login`$/);
  });
});

describe("retry policy", () => {
  it("backs off exponentially with jitter, capped", () => {
    expect(backoffDelay(0, DEFAULT_RETRY, () => 0)).toBe(500);
    expect(backoffDelay(0, DEFAULT_RETRY, () => 1)).toBe(1000);
    expect(backoffDelay(3, DEFAULT_RETRY, () => 1)).toBe(8000);
    expect(backoffDelay(20, DEFAULT_RETRY, () => 1)).toBe(DEFAULT_RETRY.maxDelayMs);
  });

  it("retries transient errors up to the attempts, never others", async () => {
    let calls = 0;
    const transient = () => {
      calls++;
      return Promise.reject(vertexApiError("503", 503, "UNAVAILABLE", true, true));
    };
    await expect(withRetries(transient, fastClock(), { attempts: 3, baseDelayMs: 10, maxDelayMs: 10 })).rejects.toThrow("503");
    expect(calls).toBe(3);
    calls = 0;
    const permanent = () => {
      calls++;
      return Promise.reject(vertexApiError("400", 400, "INVALID_ARGUMENT", false, false));
    };
    await expect(withRetries(permanent, fastClock())).rejects.toThrow("400");
    expect(calls).toBe(1);
  });
});

describe("endpoint and credentials", () => {
  it("uses the regional endpoint, the global one for global, or the override", () => {
    expect(apiRoot("us-central1")).toBe("https://us-central1-aiplatform.googleapis.com/");
    expect(apiRoot("global")).toBe("https://aiplatform.googleapis.com/");
    expect(apiRoot("us-central1", "http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080/");
  });

  it("takes a given token, then GOOGLE_OAUTH_ACCESS_TOKEN, then CLOUDSDK_AUTH_ACCESS_TOKEN, then ADC", async () => {
    const both = { GOOGLE_OAUTH_ACCESS_TOKEN: "a", CLOUDSDK_AUTH_ACCESS_TOKEN: "b" };
    expect(resolveAuth("t", both).source).toBe("the given access token");
    const fromGoogle = resolveAuth(undefined, both);
    expect(fromGoogle.source).toBe("the access token in $GOOGLE_OAUTH_ACCESS_TOKEN");
    expect(await (fromGoogle.client as { getAccessToken(): Promise<{ token?: string | null }> }).getAccessToken()).toMatchObject({ token: "a" });
    expect(resolveAuth(undefined, { CLOUDSDK_AUTH_ACCESS_TOKEN: "b" }).source).toBe("the access token in $CLOUDSDK_AUTH_ACCESS_TOKEN");
    expect(resolveAuth(undefined, {}).source).toBe("Application Default Credentials");
  });
});
