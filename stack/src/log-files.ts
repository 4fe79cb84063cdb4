/**
 * Every service's JSON log lines in one folder, one file per service, and the search across them: the local
 * stand-in for the cluster's log store. A file is rotated at LOG_FILE_SIZE, keeping ROTATED_FILES_KEPT older
 * ones (`<service>.log.1` newest), so a service's logs never take more than 6 × 10 MB.
 */
import { createReadStream, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createStream, type RotatingFileStream } from "rotating-file-stream";

export const LOG_FILE_SIZE = "10M";
export const ROTATED_FILES_KEPT = 5;

export interface LogFiles {
  /** Appends one line of a service's output to its file. */
  write(service: string, line: string): void;
  /** Flushes and closes every file. */
  close(): Promise<void>;
}

export interface LogFilesOptions {
  /** Rotate a file when it reaches this size ("10M", "1K"). */
  size?: string;
  /** Rotated files kept per service. */
  kept?: number;
}

export function openLogFiles(
  dir: string,
  { size = LOG_FILE_SIZE, kept = ROTATED_FILES_KEPT }: LogFilesOptions = {},
): LogFiles {
  const streams = new Map<string, RotatingFileStream>();
  const streamOf = (service: string) => {
    let stream = streams.get(service);
    if (!stream) {
      const name = `${service}.log`;
      stream = createStream((index) => (index === null ? name : `${name}.${index}`), {
        path: dir,
        size,
        rotate: kept,
      });
      streams.set(service, stream);
    }
    return stream;
  };
  return {
    write(service, line) {
      streamOf(service).write(`${line}\n`);
    },
    async close() {
      await Promise.all([...streams.values()].map((stream) => new Promise<void>((done) => stream.end(done))));
    },
  };
}

export interface LogEntry {
  service: string;
  /** ISO time, as the services write it. */
  time: string;
  /** The line as written. */
  line: string;
  fields: Record<string, unknown>;
}

export type LogQuery = { traceId: string } | { requestId: string };

/**
 * The lines of every service's logs (rotated files included) that belong to a trace, or to a request: the
 * gateway logs a request's id with its trace id, so a request's lines are those of the traces it was part of,
 * in every service. Merged in time order.
 */
export async function searchLogs(dir: string, query: LogQuery): Promise<LogEntry[]> {
  if (!existsSync(dir)) return [];
  let traceIds: Set<string>;
  let requestId: string | undefined;
  if ("traceId" in query) {
    traceIds = new Set([query.traceId]);
  } else {
    requestId = query.requestId;
    const ofRequest = await collect(dir, [requestId], (fields) => fields.request_id === requestId);
    traceIds = new Set(
      ofRequest.flatMap(({ fields }) => (typeof fields.trace_id === "string" ? [fields.trace_id] : [])),
    );
  }
  const found = await collect(
    dir,
    [...traceIds, ...(requestId ? [requestId] : [])],
    (fields) =>
      (typeof fields.trace_id === "string" && traceIds.has(fields.trace_id)) ||
      (requestId !== undefined && fields.request_id === requestId),
  );
  return found.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** Lines of every log file that mention one of `needles` and whose fields match. */
async function collect(
  dir: string,
  needles: string[],
  matches: (fields: Record<string, unknown>) => boolean,
): Promise<LogEntry[]> {
  const found: LogEntry[] = [];
  if (needles.length === 0) return found;
  for (const file of readdirSync(dir)) {
    const service = /^(.+)\.log(\.\d+)?$/.exec(file)?.[1];
    if (!service) continue;
    const lines = createInterface({ input: createReadStream(join(dir, file)), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!needles.some((needle) => line.includes(needle))) continue;
      let fields: Record<string, unknown>;
      try {
        fields = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (matches(fields)) found.push({ service, time: String(fields.time ?? ""), line, fields });
    }
  }
  return found;
}
