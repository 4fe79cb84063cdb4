import { readFileSync, unwatchFile, watchFile } from "node:fs";
import type { Logger } from "../logger.js";
import { describeProblem, type FlagDefinitions } from "./definitions.js";
import type { FlagMetrics } from "./flag-metrics.js";

export interface FlagFileOptions {
  path: string;
  /** How often the file's status is checked for a change. */
  pollMs: number;
  definitions: FlagDefinitions;
  metrics: FlagMetrics;
  logger: Logger;
  /** Called after new definitions took effect, with the keys of the flags added, removed or changed. */
  onChange(flagsChanged: string[]): void;
}

/**
 * The flag file, re-read whenever it changes, with no restart. Changes are found by polling the file's status
 * (`fs.watchFile`) rather than by `fs.watch`: a polled `stat` follows the path as it is now, so it sees a file
 * replaced by a rename (editors, atomic writes) and a Kubernetes ConfigMap volume's update (a symlink swapped
 * to a new directory), both of which an inotify watch on the old file misses. A file that cannot be read or is
 * not valid is reported (an error log line, `feature_flag_definitions_valid` 0, a refused load counted) and
 * changes nothing: the definitions in force stay.
 */
export class FlagFile {
  /** The text last applied or refused, so that a status change with the same content is not re-read as news. */
  private lastText: string | undefined;
  /** Whether the file as last read is in force. */
  private valid = false;

  constructor(private readonly options: FlagFileOptions) {}

  /** Reads the file and applies it when valid; returns whether it is in force. */
  load(): boolean {
    const { path, definitions, metrics, logger } = this.options;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      this.refused(`cannot read the flag file: ${describeProblem(error)}`);
      this.lastText = undefined;
      return false;
    }
    if (text === this.lastText) return this.valid;
    this.lastText = text;
    let flagsChanged: string[];
    try {
      flagsChanged = definitions.replace(text);
    } catch (error) {
      this.refused(`the flag file is not valid: ${describeProblem(error)}`);
      return false;
    }
    this.valid = true;
    metrics.definitionsValid.set(1);
    metrics.loads.labels("applied").inc();
    logger.info({ flags_file: path, flags_changed: flagsChanged }, "feature flags loaded");
    if (flagsChanged.length > 0) this.options.onChange(flagsChanged);
    return true;
  }

  private refused(problem: string): void {
    const { path, metrics, logger } = this.options;
    this.valid = false;
    metrics.definitionsValid.set(0);
    metrics.loads.labels("refused").inc();
    logger.error({ flags_file: path, problem }, "feature flag file refused; the flags in force are kept");
  }

  /** Starts re-reading the file when its status changes. */
  watch(): void {
    watchFile(this.options.path, { interval: this.options.pollMs, persistent: false }, this.changed);
  }

  stop(): void {
    unwatchFile(this.options.path, this.changed);
  }

  private readonly changed = () => {
    this.load();
  };
}
