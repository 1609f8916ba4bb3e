/**
 * One contender for a state folder's lock, for the lock race test: waits for the shared start
 * time, tries to take the lock, prints "took" or "refused", and holds a taken lock for a while so
 * the others meet it live.
 */
import { acquireLock } from "../../local/lock";

const [stateDir, startAt, holdMs] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {
  // Busy-wait: every contender leaves the line within the same millisecond.
}
try {
  const release = acquireLock(stateDir!);
  process.stdout.write("took\n");
  setTimeout(release, Number(holdMs));
} catch (error) {
  process.stdout.write(`refused: ${(error as Error).message}\n`);
}
