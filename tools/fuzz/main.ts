/**
 * `npm run fuzz [-- --seconds 600 --seed 42 --method GetTour]`: fuzzes every method of every service (see
 * fuzz-run.ts) against a stack of its own, for about `seconds` in all, shared evenly by the methods. Prints
 * the counts per method and outcome, and every failure with the seed and path that replay it; exits 1 on any.
 */
import { parseArgs } from "node:util";
import { formatCounts, runFuzz, startFuzzStack } from "./fuzz-run.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "300" },
    seed: { type: "string" },
    method: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isFinite(seconds) || seconds <= 0 || !Number.isInteger(seed)) {
  process.stderr.write("usage: npm run fuzz -- [--seconds N] [--seed S] [--method NAME]\n");
  process.exit(64);
}
const say = (line: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

say(`starting the stack (seed ${seed})`);
const fuzz = await startFuzzStack();
let failed = true;
try {
  const targets = fuzz.targets.filter(
    (target) => values.method === undefined || target.method.name === values.method,
  );
  say(`fuzzing ${targets.length} methods for ${seconds} s`);
  const result = await runFuzz({
    ...fuzz,
    targets,
    seed,
    budget: { milliseconds: (seconds * 1_000) / Math.max(1, targets.length) },
    log: say,
  });
  process.stdout.write(`\n${result.calls} calls, seed ${seed}\n${formatCounts(result.counts)}\n`);
  for (const failure of result.failures) process.stdout.write(`\nFAILED ${failure}\n`);
  failed = result.failures.length > 0;
} finally {
  await fuzz.stack.stop();
}
process.exit(failed ? 1 : 0);
