/**
 * The one retry policy of the Vertex client (googleapis' own retries are off): jittered
 * exponential backoff on transient failures (429, 5xx, dropped connections, timeouts), for the
 * calls that are safe to repeat: get, list, cancel, delete and operation get. Create is retried
 * only when its request never reached the server (`neverSent`, in `adoption.ts`); an ambiguous
 * create is resolved there by listing.
 */
import type { Clock } from "./clock";
import { isVertexApiError, type VertexApiError } from "./errors";

/** How many times and how patiently to retry. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The backoff ceiling of the first retry, doubled each retry. */
  baseDelayMs: number;
  /** The largest backoff ceiling. */
  maxDelayMs: number;
}

/** About a minute and a half of retrying in all: enough for a server restart or a quota refill. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 7, baseDelayMs: 1_000, maxDelayMs: 30_000 };

/**
 * The wait before retry number `retry` (0-based): a uniform draw between half and all of an
 * exponentially growing ceiling ("equal jitter"), so clients retrying at once spread out and
 * none comes back at once.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * Runs `call`, retrying transient `VertexApiError`s by the policy; other errors pass through at once.
 * @param retryable which transient errors to retry (default: all)
 */
export async function withRetries<T>(call: () => Promise<T>, clock: Clock, policy: RetryPolicy = DEFAULT_RETRY, retryable: (error: VertexApiError) => boolean = () => true): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isVertexApiError(error) || !error.transient || !retryable(error) || attempt >= policy.attempts) throw error;
      await clock.sleep(backoffDelay(attempt - 1, policy));
    }
  }
}
