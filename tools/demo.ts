// `npm run demo`: starts the services that exist so far on their standard ports, shows a first call, and
// keeps them running until Ctrl-C.
import { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { createClient } from "@tourmesh/platform";
import { startServiceProcess } from "@tourmesh/platform/testing";

const catalogPort = Number(process.env.CATALOG_PORT ?? 50051);
const catalog = await startServiceProcess("services/catalog/src/main.ts", {
  PORT: String(catalogPort),
  METRICS_PORT: "9451",
  OTEL_SERVICE_NAME: "catalog",
});
console.log(
  `catalog serving gRPC on 127.0.0.1:${catalog.grpcPort}, metrics on http://127.0.0.1:${catalog.metricsPort}/metrics\n`,
);

const client = createClient(CatalogService, `127.0.0.1:${catalog.grpcPort}`, { retries: true });
const { tours } = await client.listTours({ destination: "Paris" });
console.log("ListTours(destination: Paris):");
for (const tour of tours) {
  const price = `${(Number(tour.price?.minorUnits ?? 0n) / 100).toFixed(2)} ${tour.price?.currencyCode}`;
  console.log(
    `  ${tour.tourId.padEnd(26)} ${tour.title.padEnd(24)} ${price.padStart(10)}  ${tour.seatsAvailable} seats`,
  );
}
client.close();

console.log(`
Try it yourself (reflection: no .proto files needed):
  npx buf curl --protocol grpc --http2-prior-knowledge --list-services http://127.0.0.1:${catalog.grpcPort}
  npx buf curl --protocol grpc --http2-prior-knowledge -d '{"destination":"Rome"}' \\
    http://127.0.0.1:${catalog.grpcPort}/tourmesh.catalog.v1.CatalogService/ListTours
  grpcurl -plaintext -d '{"tour_id":"tour_paris_louvre"}' 127.0.0.1:${catalog.grpcPort} tourmesh.catalog.v1.CatalogService/GetTour

Ctrl-C stops everything.`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await catalog.stop("SIGTERM");
    process.exit(0);
  });
}
