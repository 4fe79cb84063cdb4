import { Code, ConnectError } from "@connectrpc/connect";
import type { CatalogService } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { NotFoundError, type ServiceClient } from "@tourmesh/platform";

/**
 * Who runs a tour, asked of the catalog (v2's public GetTour) with a deadline, so that ReviewCreated can name
 * the operator to tell. A tour's operator is set when the tour is created and never changes, so what the
 * event carries never goes stale.
 */
export class TourOperators {
  constructor(
    private readonly catalog: ServiceClient<typeof CatalogService>,
    private readonly timeoutMs: number,
  ) {}

  /** The operator's user id; "" for the catalog's own tours. NOT_FOUND (on tour_id) when there is no such tour. */
  async operatorOf(tourId: string): Promise<string> {
    try {
      const { tour } = await this.catalog.getTour({ tourId }, { timeoutMs: this.timeoutMs });
      return tour?.operatorId ?? "";
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound)
        throw new NotFoundError(`tour ${tourId} does not exist`, "tour_id");
      throw error;
    }
  }
}
