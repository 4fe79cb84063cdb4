import type {
  EvaluationContext,
  JsonValue,
  Logger,
  Provider,
  ResolutionDetails,
} from "@openfeature/server-sdk";
import { OpenFeatureEventEmitter, ProviderEvents } from "@openfeature/server-sdk";
import type { FlagDefinitions } from "./definitions.js";

/**
 * An OpenFeature server provider that evaluates the definitions in process, with flagd's evaluator: no flagd
 * process, no network hop per evaluation. It tells the SDK when the definitions change.
 */
export class FlagdInProcessProvider implements Provider {
  readonly metadata = { name: "flagd-in-process" } as const;
  readonly runsOn = "server" as const;
  readonly events = new OpenFeatureEventEmitter();

  constructor(private readonly definitions: FlagDefinitions) {}

  /** Called when new definitions are in force, with the keys of the flags that changed. */
  changed(flagsChanged: string[]): void {
    this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged });
  }

  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(
      this.definitions.evaluator.resolveBooleanEvaluation(flagKey, defaultValue, context, logger),
    );
  }

  resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<string>> {
    return Promise.resolve(
      this.definitions.evaluator.resolveStringEvaluation(flagKey, defaultValue, context, logger),
    );
  }

  resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<number>> {
    return Promise.resolve(
      this.definitions.evaluator.resolveNumberEvaluation(flagKey, defaultValue, context, logger),
    );
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    logger: Logger,
  ): Promise<ResolutionDetails<T>> {
    return Promise.resolve(
      this.definitions.evaluator.resolveObjectEvaluation(flagKey, defaultValue, context, logger),
    );
  }
}
