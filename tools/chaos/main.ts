/**
 * `npm run chaos [-- --seconds 60 --rate 30]`: the full chaos run (see chaos-run.ts). Prints the counts and
 * every violation; exits 1 on any violation or when a fault could not be played.
 */
import { parseArgs } from "node:util";
import { formatResult, runChaos } from "./chaos-run.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    rate: { type: "string", default: "30" },
    "stall-seconds": { type: "string", default: "5" },
    "settle-seconds": { type: "string", default: "120" },
  },
});
const say = (line: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const number = (name: keyof typeof values): number => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`--${name} must be a positive number, got ${values[name]}\n`);
    process.exit(64);
  }
  return value;
};

const result = await runChaos({
  loadSeconds: number("seconds"),
  rate: number("rate"),
  paymentStallMs: number("stall-seconds") * 1_000,
  settleTimeoutMs: number("settle-seconds") * 1_000,
  log: say,
});
process.stdout.write(`\n${formatResult(result)}\n`);
process.exit(result.check.violations.length > 0 ? 1 : 0);
