const colors = [36, 33, 35, 32, 34, 31, 96, 93];

/** One line of a service's JSON log, made readable: level, message and the fields that matter. */
export function readableLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, msg, time: _time, service: _service, trace_id, span_id: _span, err, ...fields } = entry;
  const details = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  const trace = typeof trace_id === "string" ? ` trace=${trace_id.slice(0, 8)}` : "";
  const error = err ? ` ${JSON.stringify(err)}` : "";
  return `${String(level).padEnd(5)} ${msg} ${details}${trace}${error}`;
}

/** A coloured, padded `name│ ` prefix, a different colour for each index. */
export function logPrefix(name: string, index: number): string {
  return `\u001b[${colors[index % colors.length]}m${name.padEnd(12)}\u001b[0m│ `;
}
