import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./free-port.js";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

/** The binaries of the newest PostgreSQL installed from Debian's packages (initdb, postgres, pg_basebackup), if any. */
export function postgresBinaries(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const newest = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  return newest ? join(root, newest, "bin") : undefined;
}

export interface ReplicatedPostgres {
  /** A URL of database `name` on the primary, which takes reads and writes. */
  primaryUrl(name: string): string;
  /** A URL of database `name` on the hot standby, which streams the primary's WAL and only reads. */
  replicaUrl(name: string): string;
  /** Runs `sql` on the standby's database `name` (e.g. to pause or resume its replay); returns the rows. */
  queryReplica<Row extends pg.QueryResultRow>(name: string, sql: string): Promise<Row[]>;
  /** Stops both servers and deletes their data. */
  stop(): Promise<void>;
}

/**
 * A private PostgreSQL primary with a streaming hot standby, on free ports in a temporary folder: initdb makes
 * the primary (trust authentication, its replication connections from 127.0.0.1 included), `pg_basebackup -R`
 * copies it into the standby's folder with the settings that make it follow the primary, and each runs as its
 * own `postgres` process. The shared server on 5432 takes no replication connections, hence a private primary.
 * PostgreSQL refuses to run as root: as root its tools run as the `postgres` OS user, through setpriv, which
 * execs the tool in place (unlike runuser, which would stand between the test and the server's signals).
 */
export async function startReplicatedPostgres(): Promise<ReplicatedPostgres> {
  const bin = postgresBinaries();
  if (!bin) throw new Error("no PostgreSQL server is installed (Debian: apt-get install postgresql)");
  const dir = await mkdtemp(join(tmpdir(), "tourmesh-replica-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout: uid } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(uid), Number(gid));
  }
  const command = (tool: string, args: string[]): [string, string[]] =>
    asRoot
      ? ["setpriv", [...["--reuid=postgres", "--regid=postgres", "--init-groups"], join(bin, tool), ...args]]
      : [join(bin, tool), args];
  const runTool = (tool: string, args: string[]) => run(...command(tool, args));
  const servers: ChildProcess[] = [];
  const primaryPort = await freePort();
  const replicaPort = await freePort();
  const url = (port: number, name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;

  const startServer = async (dataDir: string, port: number) => {
    const [file, args] = command("postgres", [
      "-D",
      dataDir,
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-k",
      dir,
    ]);
    const server = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
    server.stderr?.resume();
    servers.push(server);
    await waitFor(
      `PostgreSQL on port ${port}`,
      async () => {
        if (server.exitCode !== null)
          throw new Error(`postgres on port ${port} exited with ${server.exitCode}`);
        const client = new pg.Client({ connectionString: url(port, "postgres") });
        client.on("error", () => undefined);
        try {
          await client.connect();
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      30_000,
    );
  };
  const stop = async () => {
    for (const server of servers.splice(0).reverse()) {
      if (server.exitCode !== null || server.signalCode !== null) continue;
      const exited = once(server, "exit");
      server.kill("SIGINT"); // fast shutdown: sessions end, the server checkpoints and exits
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const primaryDir = join(dir, "primary");
    const replicaDir = join(dir, "replica");
    await runTool("initdb", ["-D", primaryDir, "-U", "postgres", "--auth=trust", "--no-sync"]);
    await startServer(primaryDir, primaryPort);
    await runTool("pg_basebackup", [
      ...["-h", "127.0.0.1", "-p", String(primaryPort), "-U", "postgres"],
      ...["-D", replicaDir, "-R", "-X", "stream", "-c", "fast", "--no-sync"],
    ]);
    await startServer(replicaDir, replicaPort);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    primaryUrl: (name) => url(primaryPort, name),
    replicaUrl: (name) => url(replicaPort, name),
    async queryReplica<Row extends pg.QueryResultRow>(name: string, sql: string) {
      const client = new pg.Client({ connectionString: url(replicaPort, name) });
      await client.connect();
      try {
        return (await client.query<Row>(sql)).rows;
      } finally {
        await client.end();
      }
    },
    stop,
  };
}
