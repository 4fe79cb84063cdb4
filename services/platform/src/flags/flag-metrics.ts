import { Counter, Gauge, type Registry } from "prom-client";

/** The flags' metrics, in the process's registry (served on /metrics). */
export class FlagMetrics {
  /** Evaluations by flag, variant (empty when the code default was used) and OpenFeature reason. */
  readonly evaluations: Counter<"flag" | "variant" | "reason">;
  /** 1 while the flag file last read was valid and is in force; 0 while a bad one is being ignored. */
  readonly definitionsValid: Gauge;
  /** Reads of the flag file that were applied, and those refused (the definitions in force were kept). */
  readonly loads: Counter<"result">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.evaluations = new Counter({
      name: "feature_flag_evaluations_total",
      help: "Feature flag evaluations, by flag, variant and reason.",
      labelNames: ["flag", "variant", "reason"],
      registers,
    });
    this.definitionsValid = new Gauge({
      name: "feature_flag_definitions_valid",
      help: "1 when the flag file last read was valid and is in force, 0 when it was refused.",
      registers,
    });
    this.loads = new Counter({
      name: "feature_flag_definition_loads_total",
      help: "Reads of the flag file, by result: applied, or refused (the definitions in force were kept).",
      labelNames: ["result"],
      registers,
    });
  }
}
