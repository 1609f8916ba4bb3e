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
import { closeSync, fstatSync, fsyncSync, openSync, readSync, statSync, writeSync } from "node:fs";

/**
 * How much of the journal is read at a time. A journal is never read whole: one string cannot
 * hold more than ~512 MiB (V8's limit, ERR_STRING_TOO_LONG), which a trainer reporting every step
 * reaches in a few million measurements, and no server could start on the folder any more.
 */
export const READ_BYTES = 1024 * 1024;

/**
 * Reads every complete event of a journal file; a missing file is an empty journal. It reads
 * `chunkBytes` at a time and splits lines on the newline byte, so a UTF-8 character cut by a chunk
 * border is decoded whole with its line.
 */
export function replayJournal<E>(path: string, chunkBytes = READ_BYTES): E[] {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const events: E[] = [];
  const parse = (line: string): void => {
    if (!line.trim()) return;
    try {
      events.push(JSON.parse(line) as E);
    } catch {
      // A torn line (the server died mid-write): the event never committed.
    }
  };
  try {
    const chunk = Buffer.alloc(chunkBytes);
    // The start of the line being read, from earlier chunks (copied: the chunk is reused).
    let pieces: Buffer[] = [];
    for (let position = 0, read: number; (read = readSync(fd, chunk, 0, chunk.length, position)) > 0; position += read) {
      const data = chunk.subarray(0, read);
      let start = 0;
      for (let end: number; (end = data.indexOf(0x0a, start)) >= 0; start = end + 1) {
        parse(Buffer.concat([...pieces, data.subarray(start, end)]).toString("utf8"));
        pieces = [];
      }
      if (start < read) pieces.push(Buffer.from(data.subarray(start)));
    }
    // The last line, with no newline after it: a torn event, or whole but for its newline.
    parse(Buffer.concat(pieces).toString("utf8"));
  } finally {
    closeSync(fd);
  }
  return events;
}

/** An open journal for appending. */
export class Journal<E> {
  private readonly fd: number;
  /** A failed append may have left part of its line (a disk filling up): the next starts on a fresh line. */
  private torn = false;

  constructor(readonly path: string) {
    // Opened for reading too, to look at the last byte only (the journal may be too big to read).
    this.fd = openSync(path, "a+", 0o600);
    // If the last run died mid-line, end that torn line so it cannot swallow the next event.
    const { size } = fstatSync(this.fd);
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(this.fd, last, 0, 1, size - 1);
      try {
        if (last[0] !== 0x0a) writeSync(this.fd, "\n");
      } catch (error) {
        // The disk still full after an append failed part-way: named as append names it.
        closeSync(this.fd);
        throw this.writeError(error);
      }
    }
  }

  /**
   * A failed write, naming the journal: the error alone ("ENOSPC: no space left on device,
   * write") ends the server without saying which disk filled, and the state folder may be on
   * another than the work's. Its code is kept.
   */
  private writeError(error: unknown): Error {
    const { code, message } = error as NodeJS.ErrnoException;
    return Object.assign(new Error(`could not write the journal ${this.path}: ${message}`), { code });
  }

  /**
   * Appends one event; with `sync` (the default) it is on disk when this returns. It throws when
   * the event did not commit whole, so the caller never applies one a replay would not see.
   */
  append(event: E, sync = true): void {
    const line = Buffer.from(`${this.torn ? "\n" : ""}${JSON.stringify(event)}\n`);
    this.torn = true;
    try {
      // writeSync may write less than asked (a disk or a file size limit reached) and returns how
      // much: the rest is written on, and the next call throws (ENOSPC, EFBIG) when none fits.
      for (let written = 0; written < line.length; ) written += writeSync(this.fd, line, written);
      if (sync) fsyncSync(this.fd);
    } catch (error) {
      throw this.writeError(error);
    }
    this.torn = false;
  }

  /**
   * Whether the journal's path still names the file this journal appends to. Not once it was
   * deleted (with its state folder, say) or replaced: appends still succeed, into a file no replay
   * will ever read (see Store.journalLost).
   */
  inPlace(): boolean {
    const open = fstatSync(this.fd);
    let named: ReturnType<typeof statSync>;
    try {
      named = statSync(this.path, { throwIfNoEntry: false });
    } catch {
      // ENOTDIR (the state folder replaced by a file), EACCES and the like, which throwIfNoEntry
      // does not spare: the path no longer leads to this file either. Thrown, it ended the server's
      // process from its watchdog interval or a trial's event, its trials left running.
      return false;
    }
    return named !== undefined && named.ino === open.ino && named.dev === open.dev;
  }

  close(): void {
    closeSync(this.fd);
  }
}
