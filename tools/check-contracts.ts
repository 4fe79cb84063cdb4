// Fails when the contracts break a rule: `buf lint` must be clean and gen/ must be exactly what
// `buf generate` makes from proto/ (so nobody edits generated code or forgets to regenerate).
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const buf = join("node_modules", ".bin", "buf");

function run(args: string[]): void {
  execFileSync(buf, args, { stdio: "inherit" });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

run(["lint"]);

const scratch = mkdtempSync(join(tmpdir(), "tourmesh-gen-"));
try {
  cpSync("gen/package.json", join(scratch, "package.json"));
  run(["generate", "--template", "buf.gen.yaml", "-o", scratch]);
  const generated = join(scratch, "gen");
  const expected = listFiles(generated);
  const committed = listFiles("gen").filter((file) => file !== "package.json");
  const problems = [
    ...expected.filter((file) => !committed.includes(file)).map((file) => `missing from gen/: ${file}`),
    ...committed
      .filter((file) => !expected.includes(file))
      .map((file) => `not made by buf generate: gen/${file}`),
    ...expected
      .filter((file) => committed.includes(file))
      .filter(
        (file) => readFileSync(join(generated, file), "utf8") !== readFileSync(join("gen", file), "utf8"),
      )
      .map((file) => `differs from buf generate: gen/${file}`),
  ];
  if (problems.length > 0) {
    console.error(`gen/ is out of date; run \`npm run generate\`:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`contracts: buf lint clean; gen/ matches buf generate (${expected.length} files)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
