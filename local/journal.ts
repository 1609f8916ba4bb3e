/**
 * The append-only journal under the state folder: one JSON event a line, replayed on start.
 *
 * A `kill -9` can stop the server between any two instructions, so every append that commits a
 * fact others rely on (a job exists, a trial is about to spawn, a measurement, an end) is
 * written with one `write` and `fsync`ed before the caller acts on it. The only damage a kill
 * can do is a torn last line, which replay ignores (and the next append starts on a fresh line).
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";

/** Reads every complete event of a journal file; a missing file is an empty journal. */
export function replayJournal<E>(path: string): E[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const events: E[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as E);
    } catch {
      // A torn line (the server died mid-write): the event never committed.
    }
  }
  return events;
}

/** An open journal for appending. */
export class Journal<E> {
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, "a", 0o600);
    // If the last run died mid-line, end that torn line so it cannot swallow the next event.
    const text = readFileSync(path, "utf8");
    if (text.length > 0 && !text.endsWith("\n")) writeSync(this.fd, "\n");
  }

  /** Appends one event; with `sync` (the default) it is on disk when this returns. */
  append(event: E, sync = true): void {
    writeSync(this.fd, `${JSON.stringify(event)}\n`);
    if (sync) fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
