/**
 * Whatever a benchmark starts (processes, databases, event streams) registers how to undo it here, so that
 * Ctrl-C, SIGTERM or a crash in the middle of a run still leaves nothing behind.
 */
type Cleanup = () => Promise<unknown>;

const cleanups = new Set<Cleanup>();
let exiting = false;

/** Registers `cleanup` to run on an interrupted run; the returned function unregisters it. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

async function runAllAndExit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    console.error("\nstopping and removing everything the benchmark started ...");
    for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => undefined);
  }
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void runAllAndExit(130));
}
process.on("uncaughtException", (error) => {
  console.error(error);
  void runAllAndExit(1);
});
process.on("unhandledRejection", (error) => {
  console.error(error);
  void runAllAndExit(1);
});
