/**
 * What Linux says about processes and the machine (/proc): CPU time, resident memory, load. Benchmarks on a
 * shared machine report CPU time per operation beside rates, since other load disturbs it far less.
 */
import { readdirSync, readFileSync } from "node:fs";
import { cpus, getPriority, loadavg, setPriority, totalmem } from "node:os";

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) the process has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    // The command name in field 2 may hold spaces; the fields after its closing parenthesis do not.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The pids of the processes whose command name (/proc/<pid>/comm) is `command`, e.g. "nats-server". */
export function pidsNamed(command: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === command;
      } catch {
        return false;
      }
    })
    .map(Number);
}

export interface Memory {
  /** Resident set size now, MB. */
  rssMb: number;
  /** Highest resident set size since the process started, MB. */
  peakRssMb: number;
}

/** VmRSS and VmHWM of the process, or undefined once it is gone. */
export function memory(pid: number): Memory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kilobytes = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rssMb: kilobytes("VmRSS") / 1024, peakRssMb: kilobytes("VmHWM") / 1024 };
}

/** CPU seconds the whole machine has spent busy and in all (every core), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .split(/\s+/)
    .slice(1, 9)
    .map((field) => Number(field) / CLOCK_TICKS_PER_SECOND);
  const idleTime = (idle ?? 0) + (iowait ?? 0);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>(
    (sum, value) => sum + (value ?? 0),
    0,
  );
  return { busy, total: busy + idleTime };
}

export function describeMachine(): string {
  const model = cpus()[0]?.model.trim() ?? "cpu";
  return `${cpus().length} × ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** The 1-minute load average, one decimal. */
export function loadAverage(): number {
  return Number((loadavg()[0] ?? 0).toFixed(1));
}

/**
 * CPU used between two moments by named groups of processes (a group may gain and lose processes, as a pool
 * of database backends does: each process counts from when it was first seen), and by the whole machine.
 */
export class CpuMeter {
  private readonly before = new Map<number, number>();
  private machineBefore = machineCpuSeconds();
  private startedAt = performance.now();

  constructor(private readonly groups: () => Map<string, number[]>) {
    this.reset();
  }

  reset(): void {
    this.before.clear();
    for (const pids of this.groups().values()) for (const pid of pids) this.before.set(pid, cpuSeconds(pid));
    this.machineBefore = machineCpuSeconds();
    this.startedAt = performance.now();
  }

  /** CPU seconds per group since the last reset, and the machine's busy share (0..1 of all cores). */
  read(): { seconds: number; byGroup: Map<string, number>; machineBusy: number } {
    const byGroup = new Map<string, number>();
    for (const [name, pids] of this.groups()) {
      let used = 0;
      for (const pid of pids) used += Math.max(0, cpuSeconds(pid) - (this.before.get(pid) ?? 0));
      byGroup.set(name, used);
    }
    const machine = machineCpuSeconds();
    const total = machine.total - this.machineBefore.total;
    return {
      seconds: (performance.now() - this.startedAt) / 1000,
      byGroup,
      machineBusy: total > 0 ? (machine.busy - this.machineBefore.busy) / total : 0,
    };
  }
}

/**
 * Gives processes this process's own scheduling priority (nice value), e.g. the Postgres backends serving a
 * benchmark run with `nice -n -15`: otherwise the services would outrank their own database. Needs root to
 * raise a priority; without it (or for a process that is gone) nothing changes.
 */
export function shareOwnPriority(pids: number[]): void {
  const own = getPriority();
  for (const pid of pids) {
    try {
      if (getPriority(pid) !== own) setPriority(pid, own);
    } catch {
      // Not permitted or already gone: the measurement goes on at the default priority.
    }
  }
}
