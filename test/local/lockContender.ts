/**
 * One contender for a state folder's lock, for the lock race test. It says "ready" once loaded,
 * reads the shared start time from stdin, tries to take the lock at that moment and prints "took"
 * or "refused: …". A taken lock is held until stdin closes, so every other contender meets it live.
 */
import { createInterface } from "node:readline";
import { acquireLock } from "../../local/lock";

const stateDir = process.argv[2]!;
const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
lines.once("line", (line) => {
  const startAt = Number(line);
  // Sleep until just before the start, then spin: the contenders leave within the same millisecond.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, startAt - Date.now() - 3));
  while (Date.now() < startAt) {
    // spin
  }
  try {
    const release = acquireLock(stateDir);
    process.stdout.write("took\n");
    lines.once("close", release);
  } catch (error) {
    process.stdout.write(`refused: ${(error as Error).message}\n`);
    lines.close();
  }
});
