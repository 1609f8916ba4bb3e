/** Quoting for POSIX shell command lines: the image build's, and the commands `tune` prints. */

/** Quotes a shell word when it holds anything beyond a safe set of characters. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
