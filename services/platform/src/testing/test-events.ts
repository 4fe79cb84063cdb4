import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { connect, headers } from "nats";
import { eventHeaders, type NewEvent } from "../events/envelope.js";
import { type EventStreams, eventStreams } from "../events/streams.js";
import { freePort } from "./free-port.js";

const defaultNatsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";

export interface TestEventStreams {
  streams: EventStreams;
  /** NATS_URL, EVENTS_STREAM and EVENTS_SUBJECT_PREFIX for a service that should use these streams. */
  env: Record<"NATS_URL" | "EVENTS_STREAM" | "EVENTS_SUBJECT_PREFIX", string>;
  /** Deletes the event, dead-letter and advisory streams (whichever exist). */
  delete(): Promise<void>;
}

/**
 * A private set of event streams on the real NATS server (`TEST_<random>`, subjects `test_<random>.>`), so
 * that test files running side by side never see each other's events or share a durable consumer. The
 * services create the streams when they start; `delete` removes them.
 */
export function testEventStreams(natsUrl = defaultNatsUrl): TestEventStreams {
  const suffix = randomBytes(4).toString("hex");
  const streams = eventStreams(`TEST_${suffix}`, `test_${suffix}`);
  return {
    streams,
    env: { NATS_URL: natsUrl, EVENTS_STREAM: streams.stream, EVENTS_SUBJECT_PREFIX: streams.subjectPrefix },
    async delete() {
      const connection = await connect({ servers: natsUrl });
      try {
        const jsm = await connection.jetstreamManager();
        for (const name of [streams.stream, streams.deadLetterStream, streams.advisoryStream]) {
          await jsm.streams.delete(name).catch((error: unknown) => {
            if (!/stream not found/i.test(String(error))) throw error;
          });
        }
      } finally {
        await connection.close();
      }
    },
  };
}

/**
 * Publishes an event straight to a test's stream, as a service's relay would (CloudEvents headers, the event
 * id as Nats-Msg-Id unless `messageId` says otherwise, to forge a duplicate). Returns the event id.
 */
export async function publishTestEvent<D extends DescMessage>(
  streams: TestEventStreams,
  event: NewEvent<D> & { id?: string; messageId?: string; source?: string },
): Promise<string> {
  const id = event.id ?? randomUUID();
  const connection = await connect({ servers: streams.env.NATS_URL });
  try {
    await connection
      .jetstream()
      .publish(
        `${streams.streams.subjectPrefix}.${event.subject}`,
        toBinary(event.schema, create(event.schema, event.message)),
        {
          msgID: event.messageId ?? id,
          headers: eventHeaders({
            id,
            type: event.schema.typeName,
            source: event.source ?? "test",
            time: new Date(),
            aggregateId: event.aggregateId,
            trace: {},
          }),
        },
      );
  } finally {
    await connection.close();
  }
  return id;
}

/**
 * Publishes the last event stored on `subject` (e.g. "review.created") again, its bytes and headers as they are
 * (the same `ce-id`), under a new Nats-Msg-Id so that JetStream takes it: each consumer gets the event a second
 * time, as after a redrive. `env` names the streams, as a service's settings do (a stack's `environmentOf`).
 * Returns the event id.
 */
export async function republishLastEvent(env: Record<string, string>, subject: string): Promise<string> {
  const { NATS_URL: natsUrl, EVENTS_STREAM: stream, EVENTS_SUBJECT_PREFIX: prefix } = env;
  if (!natsUrl || !stream || !prefix)
    throw new Error("NATS_URL, EVENTS_STREAM and EVENTS_SUBJECT_PREFIX are needed");
  const connection = await connect({ servers: natsUrl });
  try {
    const jsm = await connection.jetstreamManager();
    const stored = await jsm.streams.getMessage(stream, { last_by_subj: `${prefix}.${subject}` });
    const copied = headers();
    for (const [key, values] of stored.header) {
      if (key.toLowerCase() === "nats-msg-id") continue;
      for (const value of values) copied.append(key, value);
    }
    await connection
      .jetstream()
      .publish(stored.subject, stored.data, { headers: copied, msgID: randomUUID() });
    return stored.header.get("ce-id");
  } finally {
    await connection.close();
  }
}

export interface NatsServer {
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit; its JetStream data stays for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and, when its store is temporary, deletes it. */
  close(): Promise<void>;
}

const natsServerBinary = process.env.NATS_SERVER_BIN ?? "nats-server";

/**
 * Starts nats-server with JetStream on 127.0.0.1: on `port` with its store in `storeDir` (kept), or by default on
 * a free port with a temporary store (deleted by `close`), for tests that stop and restart NATS without
 * disturbing the shared server other tests use.
 */
export async function startNatsServer(
  placement: { port: number; storeDir: string; binary?: string } | undefined = undefined,
): Promise<NatsServer> {
  const port = placement?.port ?? (await freePort());
  const storeDir = placement?.storeDir ?? (await mkdtemp(join(tmpdir(), "tourmesh-nats-")));
  const binary = placement?.binary ?? natsServerBinary;
  let child: ChildProcess | undefined;

  const start = async () => {
    const started = spawn(binary, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = started;
    const output: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nats-server did not start:\n${output.join("")}`)),
        10_000,
      );
      started.stderr?.on("data", (chunk: Buffer) => {
        output.push(chunk.toString());
        if (output.join("").includes("Server is ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      started.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${output.join("")}`));
      });
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, "exit");
    running.kill("SIGTERM");
    await exited;
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    stop,
    start,
    async close() {
      await stop();
      if (!placement) await rm(storeDir, { recursive: true, force: true });
    },
  };
}
