// `npm run generate:compose`: writes compose.yaml from the topology and mesh/base (see compose.ts).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { composeFile } from "./compose.js";

writeFileSync(join(import.meta.dirname, "..", "..", "compose.yaml"), composeFile());
console.log("wrote compose.yaml");
