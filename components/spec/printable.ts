/**
 * A job's text as a line shows it, one way for the provider's progress lines, `tune run`'s lines
 * and bar, and `tune status`.
 */

/**
 * Text of a job (its display name, metric id, a CATEGORICAL value: any string the study gave) as
 * a line shows it: each control character as `\u` and its four hex digits (ESC as \u001b, a
 * carriage return as \u000d), every other character as it is, any script's. Printed raw, an
 * escape sequence in a display name rewrote the terminal, and a `\r` or `\n` forged a line of its
 * own (a trial line that no trial wrote). Unlike `tune`'s plainText (cli/progress.ts), which
 * shows a trainer's output as its terminal did, a name is shown as it is spelled.
 */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
