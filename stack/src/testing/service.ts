import { freePort, type TestEventStreams, testEventStreams } from "@tourmesh/platform/testing";
import { launchService, type ServiceProcess, sourceCommand } from "../launcher.js";
import { type ServiceName, serviceSpec } from "../topology.js";

/**
 * The event streams of the services this test file starts alone: private to the file (its processes share
 * them with each other and nobody else), deleted when the test process ends.
 */
let fileEventStreams: TestEventStreams | undefined;

function eventStreamsOfThisFile(): TestEventStreams {
  if (fileEventStreams) return fileEventStreams;
  const streams = testEventStreams();
  fileEventStreams = streams;
  process.once("beforeExit", () => {
    void streams.delete().catch(() => undefined);
  });
  return streams;
}

/**
 * One service of the topology as its own process, for a spec that wires it itself: `env` gives its database
 * and peers. It runs on free ports unless told which, with the topology's local-only settings and, unless
 * `env` names a stream, this test file's own event streams. Its logs are kept.
 */
export async function startService(
  name: ServiceName,
  env: Record<string, string> = {},
  options: { port?: number; metricsPort?: number; readyTimeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const spec = serviceSpec(name);
  return launchService({
    name,
    command: sourceCommand(`services/${name}/src/main.ts`),
    port: options.port ?? (await freePort()),
    metricsPort: options.metricsPort ?? (await freePort()),
    env: {
      ...(spec.events && env.EVENTS_STREAM === undefined ? eventStreamsOfThisFile().env : {}),
      ...spec.localOnly,
      ...env,
    },
    ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
  });
}
