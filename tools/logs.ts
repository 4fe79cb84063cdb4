// `npm run logs -- --trace <trace id>` or `-- --request <request id>`: every service's log lines of one trace, or
// of one request through the gateway, from the files the demo writes (.tourmesh/logs), merged in time order.
//   --dir <folder>   search another folder of <service>.log files
import { parseArgs } from "node:util";
import { logPrefix, readableLogLine, searchLogs, serviceNames } from "@tourmesh/stack";

const { values } = parseArgs({
  options: {
    trace: { type: "string" },
    request: { type: "string" },
    dir: { type: "string", default: ".tourmesh/logs" },
  },
});
const usage = "usage: npm run logs -- --trace <trace id> | --request <request id> [--dir <folder>]";
if ((values.trace === undefined) === (values.request === undefined)) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

const entries = await searchLogs(
  values.dir,
  values.trace !== undefined ? { traceId: values.trace } : { requestId: values.request ?? "" },
);
for (const { service, time, line } of entries) {
  const index = serviceNames.indexOf(service as (typeof serviceNames)[number]);
  process.stdout.write(`${time} ${logPrefix(service, index)}${readableLogLine(line)}\n`);
}
if (entries.length === 0) {
  process.stderr.write(`no line in ${values.dir} has that id\n`);
  process.exit(1);
}
