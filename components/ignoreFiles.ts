/**
 * Which files of a folder `gcloud builds submit` uploads: a port of gcloud's own
 * `.gcloudignore` reader (googlecloudsdk/command_lib/util/gcloudignore.py and glob.py), so the
 * trainer image's content hash covers exactly what the build uploads.
 *
 * gcloud's rules, kept as gcloud has them (they differ from git in places):
 * - `<dir>/.gcloudignore` is read when present; when absent and the folder holds `.git` or
 *   `.gitignore`, gcloud's default file applies (`.gcloudignore`, `.git`, `.gitignore` and
 *   `#!include:.gitignore`); otherwise nothing is ignored.
 * - A pattern is matched against the END of a path, component by component (`a/b` also matches
 *   `x/a/b`); a leading `/` anchors it at the root; `**` spans any number of components; a
 *   trailing `/` matches folders only; `!` re-includes; the last matching pattern wins.
 * - A path is left out when the rules ignore it or any folder above it.
 * - Symbolic links are uploaded as links, as `gcloud builds submit` packs its tarball (it walks
 *   the folder without following them): a link to a folder is one entry, never walked. A broken
 *   link is listed as the file gcloud takes it for: gcloud means to skip one, but tests the link
 *   by its path from the working directory rather than from the folder, so run as the build
 *   command runs it (from the program's folder) it tries to read the link's size and fails
 *   (FileNotFoundError). (`gcloud meta list-files-for-upload` follows links instead: it is not
 *   what the build uploads.)
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** What a link points to, or undefined for a broken one (missing target, a loop of links). */
function linkTarget(link: string): fs.Stats | undefined {
  try {
    return fs.statSync(link);
  } catch {
    return undefined;
  }
}

/** The name of the ignore file gcloud reads from the top of the uploaded folder. */
const IGNORE_FILE = ".gcloudignore";

/** gcloud's generated default (DEFAULT_IGNORE_FILE), used when a folder with git files has no `.gcloudignore`. */
const GCLOUD_DEFAULT = [".gcloudignore", ".git", ".gitignore"];

/**
 * Caches and virtual environments: never part of an image's identity, whatever the ignore file
 * says. They come last, so no `!` pattern re-includes them.
 */
export const ALWAYS_IGNORED = ["__pycache__/", "*.py[co]", ".pytest_cache/", ".mypy_cache/", ".venv/", "venv/", ".tox/"];

interface Pattern {
  /** The glob split on `/`; a leading empty part anchors it at the root. */
  parts: string[];
  negated: boolean;
  dirOnly: boolean;
}

/** Python's `fnmatch.translate` for one path component: `*`, `?`, `[seq]`, `[!seq]`. */
function componentRegex(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      let j = i + 1;
      if (glob[j] === "!") j++;
      if (glob[j] === "]") j++;
      while (j < glob.length && glob[j] !== "]") j++;
      if (j >= glob.length) out += "\\[";
      else {
        let body = glob.slice(i + 1, j).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        else if (body.startsWith("^") || body.startsWith("[")) body = "\\" + body;
        out += `[${body}]`;
        i = j;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^(?:${out})$`, "s");
}

/** gcloud's `_HandleSpaces`: unescaped trailing spaces dropped, then `\ ` unescaped. */
function handleSpaces(line: string): string {
  const tokens = line.match(/\\.|./gs) ?? [];
  while (tokens.length && tokens[tokens.length - 1] === " ") tokens.pop();
  return tokens.join("").replace(/\\ /g, " ");
}

/** One line of an ignore file as a pattern (gcloud's `Pattern.FromString` and `Glob.FromString`), or undefined for comments, blank and invalid lines. */
function parseLine(raw: string): Pattern | undefined {
  if (raw.startsWith("#")) return undefined;
  const negated = raw.startsWith("!");
  let line = negated ? raw.slice(1) : raw;
  const dirOnly = line.endsWith("/");
  if (dirOnly) line = line.slice(0, -1);
  line = handleSpaces(line);
  if (/(?<!\\)\\(\\\\)*$/.test(line)) return undefined;
  line = line.replace(/\\([^\\])/g, "$1").replace(/\\\\/g, "\\");
  if (!line) return undefined;
  return { parts: line.split("/"), negated, dirOnly };
}

/** gcloud's `Glob._MatchesHelper`: the pattern's parts against the path's components, from the end. */
function matchParts(parts: string[], pathText: string | undefined): boolean {
  if (parts.length === 0) return true;
  if (pathText === undefined) return false;
  const last = parts[parts.length - 1];
  const rest = parts.slice(0, -1);
  const normalized = pathText ? path.posix.normalize(pathText) : pathText;
  const slash = normalized.lastIndexOf("/");
  const component = slash < 0 ? normalized : normalized.slice(slash + 1);
  let remaining: string | undefined = slash < 0 ? "" : normalized.slice(0, slash);
  if (!component) remaining = undefined;
  if (last === "**") {
    const anchored = rest.length && rest[0] === "" ? rest : ["", ...rest];
    return pathPrefixes(normalized).some((prefix) => matchParts(anchored, prefix));
  }
  // gcloud: a lone `*` matches top-level paths only.
  if (last === "*" && rest.length === 0 && remaining && remaining.length > 1) return false;
  if (!componentRegex(last).test(component)) return false;
  return matchParts(rest, remaining);
}

/** `a/b/c` → `["", "a", "a/b", "a/b/c"]`, as gcloud's `GetPathPrefixes`. */
function pathPrefixes(p: string): string[] {
  const parts = p ? p.split("/") : [];
  return ["", ...parts.map((_, i) => parts.slice(0, i + 1).join("/"))];
}

/** The patterns of an ignore file's text; `#!include:<file>` is followed one level deep, as gcloud does. */
function parseIgnoreText(text: string, dir: string, includeDepth: number): Pattern[] {
  const patterns: Pattern[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    const include = /^#\s*!include:(.*)$/.exec(line);
    if (include) {
      const file = include[1];
      if (file.includes("/")) throw new Error(`${IGNORE_FILE}: may only include files in the same folder (${line})`);
      if (includeDepth > 0) patterns.push(...parseIgnoreText(readText(path.join(dir, file), line), dir, includeDepth - 1));
      continue;
    }
    const pattern = parseLine(line);
    if (pattern) patterns.push(pattern);
  }
  return patterns;
}

function readText(file: string, context: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${file} (${context}): ${(err as Error).message}`);
  }
}

/** The ignore text gcloud applies to `dir`: its `.gcloudignore`, else gcloud's default where git files exist, else none. */
function gcloudIgnoreText(dir: string): string {
  const file = path.join(dir, IGNORE_FILE);
  if (fs.existsSync(file)) return readText(file, "the folder's ignore file");
  const hasGit = [".git", ".gitignore"].some((name) => fs.existsSync(path.join(dir, name)));
  if (!hasGit) return "";
  return [...GCLOUD_DEFAULT, ...(fs.existsSync(path.join(dir, ".gitignore")) ? ["#!include:.gitignore"] : [])].join("\n");
}

/** Decides, path by path, what an upload of one folder includes. */
export class UploadFilter {
  private readonly patterns: Pattern[];

  /** `extra` patterns apply after the folder's own rules (and so win over them). */
  constructor(readonly dir: string, extra: string[] = []) {
    this.patterns = parseIgnoreText([gcloudIgnoreText(dir), ...extra].join("\n"), dir, 1);
  }

  /** gcloud's `IsIncluded`: a path is left out when it, or a folder above it, is ignored. */
  isIncluded(relPath: string, isDir = false): boolean {
    const prefixes = pathPrefixes(relPath).slice(1);
    for (const prefix of prefixes) {
      const prefixIsDir = prefix !== relPath || isDir;
      let ignored = false;
      for (const p of this.patterns) {
        if (p.dirOnly && !prefixIsDir) continue;
        if (matchParts(p.parts, prefix)) ignored = !p.negated;
      }
      if (ignored) return false;
    }
    return true;
  }

  /**
   * Every included file and symbolic link, as sorted POSIX paths relative to the folder. A link
   * is an entry of its own (to a folder too: its target is not walked); a broken one is listed as
   * a file, as gcloud lists it (see the module's comment): it fails the upload.
   */
  files(): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
      for (const entry of fs.readdirSync(path.join(this.dir, rel))) {
        const child = rel ? `${rel}/${entry}` : entry;
        const full = path.join(this.dir, child);
        if (fs.lstatSync(full).isSymbolicLink()) {
          // gcloud's walk has a link to a folder among the folders, any other (a broken one too) among the files.
          if (this.isIncluded(child, linkTarget(full)?.isDirectory() ?? false)) out.push(child);
        } else if (fs.statSync(full).isDirectory()) {
          if (this.isIncluded(child, true)) walk(child);
        } else if (this.isIncluded(child)) out.push(child);
      }
    };
    walk("");
    return out.sort();
  }
}
