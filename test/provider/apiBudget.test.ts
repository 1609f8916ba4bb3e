/** The API budget (bench/api-budget): a job running two simulated hours costs under 200 requests. */
import { describe, expect, it } from "vitest";
import { measureApiBudget } from "../../bench/api-budget/budget";

describe("API budget", () => {
  it("waits two simulated hours with fewer than 200 requests to the server", async () => {
    const budget = await measureApiBudget(2);
    console.log(`api budget: ${budget.requests} requests for 2 simulated hours`, budget.byRoute);
    expect(budget.requests).toBeLessThan(200);
    expect(budget.byRoute["POST /hyperparameterTuningJobs"]).toBe(1);
  });
});
