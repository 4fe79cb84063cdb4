import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPOSITORY_FLAGS_FILE } from "../config.js";

/** A flag file in flagd's format, as far as the copies change it. */
export interface FlagFileContents {
  flags: Record<
    string,
    {
      state: "ENABLED" | "DISABLED";
      variants: Record<string, unknown>;
      defaultVariant: string;
      targeting?: unknown;
    }
  >;
  [field: string]: unknown;
}

/** A private copy of a flag file that services read through FLAGS_FILE, to flip flags while they run. */
export interface FlagFileCopy {
  path: string;
  /** The settings that point a process at the copy and have it checked often. */
  env: { FLAGS_FILE: string; FLAGS_POLL_MS: string };
  /** Makes `variant` what the flag serves to everyone: its default variant, with its targeting removed. */
  serve(key: string, variant: string): Promise<void>;
  /** Changes the definitions as `change` says and writes them. */
  edit(change: (contents: FlagFileContents) => void): Promise<void>;
  /** Replaces the file with `text`, valid or not. */
  write(text: string): Promise<void>;
  /** Deletes the copy. */
  remove(): Promise<void>;
}

/**
 * Copies the repository's flag file (or `source`) to a private folder. Every write replaces the file whole
 * (written beside it, then renamed over it), so a reader never sees half a file.
 */
export async function copyFlagFile(
  source = REPOSITORY_FLAGS_FILE,
  { pollMs = 100 }: { pollMs?: number } = {},
): Promise<FlagFileCopy> {
  const dir = await mkdtemp(join(tmpdir(), "tourmesh-flags-"));
  const path = join(dir, "flags.json");
  let writes = 0;
  const write = async (text: string) => {
    const next = join(dir, `flags.json.${++writes}`);
    await writeFile(next, text);
    await rename(next, path);
  };
  const edit = async (change: (contents: FlagFileContents) => void) => {
    const contents = JSON.parse(await readFile(path, "utf8")) as FlagFileContents;
    change(contents);
    await write(`${JSON.stringify(contents, null, 2)}\n`);
  };
  await write(await readFile(source, "utf8"));
  return {
    path,
    env: { FLAGS_FILE: path, FLAGS_POLL_MS: String(pollMs) },
    serve: (key, variant) =>
      edit((contents) => {
        const flag = contents.flags[key];
        if (!flag) throw new Error(`no flag ${key} in ${path}`);
        if (!(variant in flag.variants)) throw new Error(`flag ${key} has no variant ${variant}`);
        flag.defaultVariant = variant;
        delete flag.targeting;
      }),
    edit,
    write,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
