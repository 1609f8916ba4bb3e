/**
 * The append-only journal under the state folder: one JSON event a line, replayed on start.
 *
 * A `kill -9` can stop the server between any two instructions, so every append that commits a
 * fact others rely on (a job exists, a trial is about to spawn, an end) is written whole and
 * `fsync`ed before the caller acts on it (a measurement is written whole, and synced with the
 * next such fact: the trial's metrics file holds it too, see Store.addMeasurement). The only damage a kill can do is a
 * torn last line, which replay ignores (and the next append starts on a fresh line). An append
 * that fails part-way (a full disk) leaves the same, throws, and is mended the same way.
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
  /** A failed append may have left part of its line (a disk filling up): the next starts on a fresh line. */
  private torn = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, "a", 0o600);
    // If the last run died mid-line, end that torn line so it cannot swallow the next event.
    const text = readFileSync(path, "utf8");
    if (text.length > 0 && !text.endsWith("\n")) writeSync(this.fd, "\n");
  }

  /**
   * Appends one event; with `sync` (the default) it is on disk when this returns. It throws when
   * the event did not commit whole, so the caller never applies one a replay would not see.
   */
  append(event: E, sync = true): void {
    const line = Buffer.from(`${this.torn ? "\n" : ""}${JSON.stringify(event)}\n`);
    this.torn = true;
    // writeSync may write less than asked (a disk or a file size limit reached) and returns how
    // much: the rest is written on, and the next call throws (ENOSPC, EFBIG) when none fits.
    for (let written = 0; written < line.length; ) written += writeSync(this.fd, line, written);
    if (sync) fsyncSync(this.fd);
    this.torn = false;
  }

  close(): void {
    closeSync(this.fd);
  }
}
