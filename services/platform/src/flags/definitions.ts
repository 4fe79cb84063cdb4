import type {
  EvaluationContext,
  FlagMetadata,
  JsonValue,
  Logger as OpenFeatureLogger,
} from "@openfeature/core";
import { FlagdCore, MemoryStorage } from "@openfeature/flagd-core";
import type { Logger } from "../logger.js";

/** OpenFeature's logger interface over the process's pino logger. */
export function openFeatureLogger(logger: Logger): OpenFeatureLogger {
  const line = (args: unknown[]) =>
    args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" ");
  return {
    error: (...args) => logger.error(line(args)),
    warn: (...args) => logger.warn(line(args)),
    info: (...args) => logger.info(line(args)),
    debug: (...args) => logger.debug(line(args)),
  };
}

const silent: OpenFeatureLogger = { error() {}, warn() {}, info() {}, debug() {} };

/**
 * The flag definitions in force, in flagd's own format (https://flagd.dev/schema/v0/flags.json), evaluated in
 * process by flagd's evaluator (`@openfeature/flagd-core`: JsonLogic targeting with flagd's `fractional`,
 * `sem_ver`, `starts_with` and `ends_with`). A new file replaces them whole, and only when it is valid: one
 * that is not JSON, breaks flagd's schema or names a default variant it lacks changes nothing.
 */
export class FlagDefinitions {
  private readonly storage: MemoryStorage;
  readonly evaluator: FlagdCore;

  constructor(logger: OpenFeatureLogger = silent) {
    this.storage = new MemoryStorage(logger);
    this.evaluator = new FlagdCore(this.storage, logger);
  }

  /**
   * Replaces the definitions with those of `text`, the contents of a flag file, and returns the keys of the
   * flags added, removed or changed. Throws, changing nothing, when the file is not valid.
   */
  replace(text: string): string[] {
    // Strict: a file that breaks flagd's schema is refused, not used with a warning.
    return this.storage.setConfigurations(text, true);
  }

  /** The keys of the flags defined, disabled ones included. */
  keys(): string[] {
    return [...this.storage.getFlags().keys()];
  }

  /** Evaluates flag `key` for `context`, whatever its type; undefined when no such flag is defined. */
  evaluate(key: string, context: EvaluationContext): FlagEvaluation | undefined {
    const flag = this.storage.getFlag(key);
    if (flag === undefined) return undefined;
    if (flag.state === "DISABLED") return { key, reason: "DISABLED", metadata: flag.metadata };
    try {
      const { value, variant, reason, errorCode, errorMessage, flagMetadata } = flag.evaluate(context);
      return {
        key,
        reason,
        metadata: flagMetadata,
        ...(value === undefined ? {} : { value }),
        ...(variant === undefined ? {} : { variant }),
        ...(errorCode === undefined ? {} : { errorCode, errorMessage }),
      };
    } catch (error) {
      return {
        key,
        reason: "ERROR",
        errorCode: "GENERAL",
        errorMessage: describeProblem(error),
        metadata: flag.metadata,
      };
    }
  }
}

/** One flag evaluated without a typed default: what remote evaluation (OFREP) answers. */
export interface FlagEvaluation {
  key: string;
  /** Absent when the flag gives no value: it is disabled, has no default variant, or failed. */
  value?: JsonValue;
  variant?: string;
  /** OpenFeature's reason: STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED or ERROR. */
  reason: string;
  /** OpenFeature's error code when the reason is ERROR, e.g. PARSE_ERROR, GENERAL. */
  errorCode?: string;
  errorMessage?: string;
  metadata: FlagMetadata;
}

/** Why `text` is not a valid flag file (flagd's schema and structure), or undefined when it is one. */
export function flagFileProblem(text: string): string | undefined {
  try {
    new FlagDefinitions().replace(text);
    return undefined;
  } catch (error) {
    return describeProblem(error);
  }
}

/** A refused file's problem in one line: flagd's message, and what it wraps. */
export function describeProblem(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message.replace(/\s+/g, " ")}${cause}`;
}
