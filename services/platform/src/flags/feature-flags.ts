import {
  type Client,
  ErrorCode,
  type EvaluationContext,
  OpenFeature,
  ProviderEvents,
  type ResolutionDetails,
} from "@openfeature/server-sdk";
import type { Registry } from "prom-client";
import type { Caller } from "../auth.js";
import type { Logger } from "../logger.js";
import { FlagDefinitions, openFeatureLogger } from "./definitions.js";
import { FlagFile } from "./flag-file.js";
import { FlagMetrics } from "./flag-metrics.js";
import { FlagdInProcessProvider } from "./flagd-in-process-provider.js";
import { FlagObserver } from "./observer.js";

/** A process's feature flags: an OpenFeature client over the flag file's definitions. */
export interface FeatureFlags {
  /**
   * The process's OpenFeature client. Its context names the service (`service`); each evaluation adds the
   * caller's with `callerContext`.
   */
  readonly client: Client;
  /** The definitions in force (what the gateway's remote evaluation serves). */
  readonly definitions: FlagDefinitions;
  /** Reports an evaluation made without the client (the gateway's remote evaluation). */
  readonly observer: FlagObserver;
  /**
   * Keeps what `evaluate` gives current: evaluated now, and again each time the definitions change. For flags
   * whose rules need nothing from the call (no user, no country): an OpenFeature evaluation costs tens of
   * microseconds of CPU, too much to repeat on every call for an answer that only a file change can change.
   */
  follow<T>(evaluate: () => Promise<T>): Promise<Followed<T>>;
  /**
   * Evaluates flag `key` for one call, at once: what the client's evaluation gives (the service's context with
   * `context` added; the code's `defaultValue` when the flag is missing, disabled, of another type or fails),
   * reported as the client reports it (see FlagObserver). For flags whose rules look at the call, evaluated on
   * every call: it asks flagd's evaluator directly, where the client's hooks and contexts, rebuilt for each
   * evaluation, cost about twenty times the evaluation itself.
   */
  valueOf<T extends boolean | number | string>(key: string, defaultValue: T, context: EvaluationContext): T;
  /** Stops watching the flag file. */
  stop(): void;
}

/** A value that follows the flag definitions (see FeatureFlags.follow). */
export interface Followed<T> {
  current(): T;
}

export interface FeatureFlagsOptions {
  service: string;
  /** The flag file, in flagd's format. */
  file: string;
  pollMs: number;
  logger: Logger;
  registry: Registry;
}

/** OpenFeature's API is one per process; each FeatureFlags gets a domain of its own in it. */
let domains = 0;

/**
 * Loads the flag file and keeps it in force as it changes (see FlagFile). A file that is missing or not valid
 * at start is reported and leaves no definitions: every evaluation then gets the default its code gives.
 */
export async function startFeatureFlags(options: FeatureFlagsOptions): Promise<FeatureFlags> {
  const { service, logger } = options;
  const definitions = new FlagDefinitions(openFeatureLogger(logger));
  const metrics = new FlagMetrics(options.registry);
  const provider = new FlagdInProcessProvider(definitions);
  const file = new FlagFile({
    path: options.file,
    pollMs: options.pollMs,
    definitions,
    metrics,
    logger,
    onChange: (flagsChanged) => provider.changed(flagsChanged),
  });
  file.load();
  file.watch();

  const domain = `${service}/${++domains}`;
  await OpenFeature.setProviderAndWait(domain, provider);
  const client = OpenFeature.getClient(domain);
  client.setLogger(openFeatureLogger(logger));
  client.setContext({ service });
  const observer = new FlagObserver(metrics, provider.metadata.name);
  client.addHooks(observer.hook());
  const evaluator = definitions.evaluator;
  const evaluatorLogger = openFeatureLogger(logger);
  const resolve = (key: string, defaultValue: unknown, context: EvaluationContext) => {
    switch (typeof defaultValue) {
      case "boolean":
        return evaluator.resolveBooleanEvaluation(key, defaultValue, context, evaluatorLogger);
      case "number":
        return evaluator.resolveNumberEvaluation(key, defaultValue, context, evaluatorLogger);
      default:
        return evaluator.resolveStringEvaluation(key, String(defaultValue), context, evaluatorLogger);
    }
  };
  return {
    client,
    definitions,
    observer,
    async follow<T>(evaluate: () => Promise<T>): Promise<Followed<T>> {
      let value = await evaluate();
      // Evaluations run one at a time, in the order of the changes, so that the last change's answer stays.
      let latest = Promise.resolve();
      client.addHandler(ProviderEvents.ConfigurationChanged, () => {
        latest = latest.then(async () => {
          value = await evaluate();
        });
      });
      return { current: () => value };
    },
    valueOf<T extends boolean | number | string>(
      key: string,
      defaultValue: T,
      context: EvaluationContext,
    ): T {
      let resolution: ResolutionDetails<unknown>;
      try {
        resolution = resolve(key, defaultValue, { service, ...context });
      } catch {
        resolution = { value: defaultValue, reason: "ERROR", errorCode: ErrorCode.GENERAL };
      }
      // As the client does: an error gives the default, with no variant.
      const failed = resolution.errorCode !== undefined;
      observer.observe({
        key,
        variant: failed ? undefined : resolution.variant,
        reason: failed ? "ERROR" : (resolution.reason ?? "UNKNOWN"),
      });
      return failed ? defaultValue : (resolution.value as T);
    },
    stop: () => file.stop(),
  };
}

/**
 * The evaluation context of a call made by a verified user: `targetingKey` is the user's id (what fractional
 * rollouts bucket by), `username` their name (what lists of chosen users match), `country` the traveller's
 * country (ISO 3166-1 alpha-2, upper case) when the call names one. Only a verified token sets the first two.
 */
export function callerContext(caller: Caller, countryCode?: string): EvaluationContext {
  return {
    targetingKey: caller.userId,
    username: caller.username,
    ...(countryCode ? { country: countryCode.toUpperCase() } : {}),
  };
}
