import type { EvaluationDetails, FlagValue, Hook, HookContext } from "@openfeature/server-sdk";
import { trace } from "@opentelemetry/api";
import {
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  EVENT_FEATURE_FLAG_EVALUATION,
} from "@opentelemetry/semantic-conventions/incubating";
import { currentCallContext } from "../call-context.js";
import type { FlagMetrics } from "./flag-metrics.js";

/** One flag evaluation as it is reported. */
export interface ObservedEvaluation {
  key: string;
  /** The variant chosen; undefined when the code default was used (an error, a disabled flag). */
  variant?: string | undefined;
  /** OpenFeature's reason, e.g. STATIC, TARGETING_MATCH, SPLIT, DISABLED, ERROR. */
  reason: string;
}

/**
 * Reports every flag evaluation three ways: the `feature_flag_evaluations_total` counter, a
 * `feature_flag.evaluation` event on the active span (OpenTelemetry's feature-flag conventions), and the
 * flag's variant on the log line of the call being served. The OpenFeature hook does it for the services'
 * evaluations; the gateway's remote evaluation (OFREP) reports through the same method.
 */
export class FlagObserver {
  constructor(
    private readonly metrics: FlagMetrics,
    private readonly providerName: string,
  ) {}

  observe({ key, variant, reason }: ObservedEvaluation): void {
    this.metrics.evaluations.labels(key, variant ?? "", reason).inc();
    trace.getActiveSpan()?.addEvent(EVENT_FEATURE_FLAG_EVALUATION, {
      [ATTR_FEATURE_FLAG_KEY]: key,
      [ATTR_FEATURE_FLAG_RESULT_REASON]: reason.toLowerCase(),
      [ATTR_FEATURE_FLAG_PROVIDER_NAME]: this.providerName,
      ...(variant === undefined ? {} : { [ATTR_FEATURE_FLAG_RESULT_VARIANT]: variant }),
    });
    currentCallContext()?.flagEvaluated(key, variant ?? "");
  }

  /** The OpenFeature hook: reports each evaluation once it is finished, successful or not. */
  hook(): Hook {
    return {
      finally: (hookContext: Readonly<HookContext>, details: EvaluationDetails<FlagValue>) =>
        this.observe({
          key: hookContext.flagKey,
          variant: details.variant,
          reason: details.reason ?? "UNKNOWN",
        }),
    };
  }
}
