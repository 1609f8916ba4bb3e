/**
 * Text as a line shows it: a job's own strings (its names and values) one way, a trainer's
 * output (a trial's failure reason) another. Used by the provider's progress lines and errors,
 * `tune run`'s lines, bar and report, and `tune status`.
 */

/**
 * Unicode's bidirectional controls (the embeddings, overrides and isolates, LRM, RLM and ALM).
 * Invisible, they reorder the characters after them on the line: a right-to-left override in a
 * display name showed the rest of its line, the trial's value included, reversed.
 */
const BIDI_CONTROL = /\p{Bidi_Control}/gu;

/**
 * Text of a job (its display name, metric id, a CATEGORICAL value: any string the study gave) as
 * a line shows it: each control character and each bidirectional control as `\u` and its four
 * hex digits (ESC as \u001b, a carriage return as \u000d, a right-to-left override as \u202e),
 * every other character as it is, any script's. Printed raw, an escape sequence in a display
 * name rewrote the terminal, and a `\r` or `\n` forged a line of its own (a trial line that no
 * trial wrote). Unlike plainText, which shows a trainer's output as its terminal did, a name is
 * shown as it is spelled.
 */
export function printable(text: string): string {
  return text.replace(/\p{Cc}|\p{Bidi_Control}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Text from a trainer's output (its stderr in a failed trial's reason) as a terminal showed it:
 * colour codes gone, of each line only what follows its last carriage return (a progress bar's
 * redraws), any other control character a space, bidirectional controls dropped. Passed on as
 * they were, they reached CI logs, report.html and `pulumi up`'s error as noise, and a
 * terminal's `\r` wrote the rest of a line over its start.
 */
export function plainText(text: string): string {
  return text
    .split("\n")
    .map((line) =>
      line
        .trimEnd()
        .split("\r")
        .pop()!
        .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "")
        .replace(/[\x00-\x1f\x7f-\x9f]/g, " ")
        .replace(BIDI_CONTROL, ""),
    )
    .join("\n");
}

/**
 * A trial's reason on one line (`tune`'s lines and report, the local backend's job.log). The local backend's reason for a failed process is a lead-in
 * ("…; last lines of stderr:") followed by those lines, so the lead-in alone says nothing: the
 * last non-empty line (the exception, usually) goes after it.
 */
export function reasonLine(reason: string | null | undefined): string {
  const lines = plainText(reason ?? "").split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length <= 1) return lines[0] ?? "";
  return `${lines[0]} ${lines[lines.length - 1]}`;
}
