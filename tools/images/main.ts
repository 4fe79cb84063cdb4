// `npm run images [-- catalog booking]`: builds the production image of each service (default: every one) as
// tourmesh/<service>:latest, the names the manifests and compose.yaml use, with docker or else buildah.
import { type ServiceName, serviceNames } from "@tourmesh/stack/topology";
import { findEngine } from "./engine.js";
import { buildImages } from "./images.js";

const requested = process.argv.slice(2);
for (const name of requested) {
  if (!serviceNames.includes(name as ServiceName)) {
    console.error(`no service ${name}; the services are ${serviceNames.join(", ")}`);
    process.exit(2);
  }
}
const engine = findEngine(".tourmesh");
if (!engine) {
  console.error(
    "no container tools: neither a Docker engine (docker info) nor buildah and podman " +
      "(Debian/Ubuntu: apt-get install buildah podman runc debootstrap uidmap)",
  );
  process.exit(1);
}
console.log(
  engine.kind === "docker" ? "building with docker" : "building with buildah (no Docker engine answers here)",
);
const started = performance.now();
const built = await buildImages(engine, requested.length > 0 ? (requested as ServiceName[]) : serviceNames, {
  stateDir: ".tourmesh",
  log: (line) => console.log(line),
  // The build's steps, not every line the steps print.
  progress: (line) => {
    if (/\bSTEP \d+\/\d+/.test(line)) console.log(`  ${line}`);
  },
});
console.log(
  `${built.length} images in ${((performance.now() - started) / 1000).toFixed(0)} s; run them with ` +
    "`docker compose up` or `podman compose up` (compose.yaml)",
);
