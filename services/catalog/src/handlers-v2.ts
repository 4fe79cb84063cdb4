import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CatalogService,
  GetTourResponseSchema,
  ListToursResponseSchema,
  type Tour as ProtoTour,
  ReservationStatus,
  type TourSchema,
} from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { EncodedMessage, type ServiceHandlers, signedInCaller } from "@tourmesh/platform";
import { type CatalogOperations, givenTourFields, type ReadAnswers, v1TourPaths } from "./handlers.js";
import { etagOf, type Reservation, type Tour, type TourFieldPaths } from "./tours.js";

function toProtoTour(tour: Tour): MessageInitShape<typeof TourSchema> {
  return {
    tourId: tour.tourId,
    title: tour.title,
    destination: tour.destination,
    startTime: timestampFromDate(tour.startTime),
    price: { currencyCode: tour.price.currencyCode, minorUnits: BigInt(tour.price.minorUnits) },
    seats: { capacity: tour.capacity, available: tour.seatsAvailable },
    rating: { average: tour.ratingAverage, count: tour.ratingCount },
    description: tour.description,
    durationMinutes: tour.durationMinutes,
    operatorId: tour.operatorId,
    etag: etagOf(tour),
  };
}

/** v2's names of a tour's editable fields: v1's, but the capacity is in the tour's `seats`. */
const v2TourPaths: TourFieldPaths = { ...v1TourPaths, capacity: "seats.capacity" };

const fromProtoTour = (tour: ProtoTour | undefined) => givenTourFields(tour, tour?.seats?.capacity);

/** v2's answers to GetTour and ListTours, as the cache keeps them. */
const v2Answers: ReadAnswers = {
  name: "v2",
  tour: (tour) => toBinary(GetTourResponseSchema, create(GetTourResponseSchema, { tour: toProtoTour(tour) })),
  page: ({ tours, nextPageToken }) =>
    toBinary(
      ListToursResponseSchema,
      create(ListToursResponseSchema, { tours: tours.map(toProtoTour), nextPageToken }),
    ),
};

const reservationStatus: Record<Reservation["status"], ReservationStatus> = {
  held: ReservationStatus.HELD,
  released: ReservationStatus.RELEASED,
};

function toProtoReservation(reservation: Reservation) {
  return { ...reservation, status: reservationStatus[reservation.status] };
}

/**
 * tourmesh.catalog.v2.CatalogService over gRPC: the same operations as v1 (handlers.ts), over the same store and
 * cache, so that a v1 and a v2 client see the same tours, seats and edits; only the messages' shapes, and so
 * the names of fields in violations, differ.
 */
export function catalogHandlersV2(operations: CatalogOperations): ServiceHandlers<typeof CatalogService> {
  return {
    async listTours(request) {
      const page = await operations.listTours(
        {
          destination: request.filter?.destination ?? "",
          availableOnly: request.filter?.availableOnly ?? false,
          pageSize: request.pageSize,
          pageToken: request.pageToken,
        },
        v2Answers,
        "filter.destination",
      );
      return new EncodedMessage(ListToursResponseSchema, page);
    },

    async getTour(request) {
      return new EncodedMessage(GetTourResponseSchema, await operations.getTour(request.tourId, v2Answers));
    },

    async reserveSeats(request) {
      const { reservation, seatsAvailable } = await operations.reserveSeats(request);
      return { reservation: toProtoReservation(reservation), seatsAvailable };
    },

    async releaseSeats(request) {
      return { reservation: toProtoReservation(await operations.releaseSeats(request)) };
    },

    async createTour(request, context) {
      // The id comes from the request's tour_id (AIP-133), and an etag means nothing for a tour not yet made.
      const { tourId: _tourId, etag: _etag, ...tour } = fromProtoTour(request.tour);
      const created = await operations.createTour(
        { tourId: request.tourId, tour },
        signedInCaller(context).userId,
        v2TourPaths,
      );
      return { tour: toProtoTour(created) };
    },

    async updateTour(request, context) {
      const updated = await operations.updateTour(
        { tour: fromProtoTour(request.tour), paths: request.updateMask?.paths ?? [] },
        signedInCaller(context).userId,
        v2TourPaths,
      );
      return { tour: toProtoTour(updated) };
    },

    async getTourOccupancy(request, context) {
      return { occupancy: await operations.tourOccupancy(request.tourId, signedInCaller(context).userId) };
    },
  };
}
