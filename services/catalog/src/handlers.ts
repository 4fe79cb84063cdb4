import { randomUUID } from "node:crypto";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CatalogService,
  GetTourResponseSchema,
  ListToursResponseSchema,
  type ReservationStatus as ProtoReservationStatus,
  type Tour as ProtoTour,
  ReservationStatus,
  type TourSchema,
} from "@tourmesh/gen/tourmesh/catalog/v1/catalog_pb.js";
import { EncodedMessage, pageTokenCodec, type ServiceHandlers, signedInCaller } from "@tourmesh/platform";
import type { AnswerFormat, CachedTours, TourPage } from "./cached-tours.js";
import { ALL_PAGES, invalidationsForSeats, tourTag } from "./tour-cache.js";
import type { TourStore } from "./tour-store.js";
import {
  applyTourUpdate,
  type CreateTourInput,
  checkCreateTour,
  checkListTours,
  checkOperator,
  checkReleaseSeats,
  checkReserveSeats,
  checkTourId,
  checkUpdateTour,
  etagOf,
  isTourPosition,
  type Reservation,
  type Tour,
  type TourFieldPaths,
  type TourOccupancy,
  type UpdateTourInput,
} from "./tours.js";

const pageTokens = pageTokenCodec(isTourPosition);

function toProtoTour({ revision, ...tour }: Tour): MessageInitShape<typeof TourSchema> {
  return {
    ...tour,
    etag: etagOf({ revision }),
    startTime: timestampFromDate(tour.startTime),
    price: { currencyCode: tour.price.currencyCode, minorUnits: BigInt(tour.price.minorUnits) },
  };
}

/** v1's answers to GetTour and ListTours, as the cache keeps them. */
const v1Answers: ReadAnswers = {
  name: "v1",
  tour: (tour) => toBinary(GetTourResponseSchema, create(GetTourResponseSchema, { tour: toProtoTour(tour) })),
  page: ({ tours, nextPageToken }) =>
    toBinary(
      ListToursResponseSchema,
      create(ListToursResponseSchema, { tours: tours.map(toProtoTour), nextPageToken }),
    ),
};

/** v1's names of a tour's editable fields: its update_mask paths, and its violations' fields after `tour.`. */
export const v1TourPaths: TourFieldPaths = {
  title: "title",
  description: "description",
  destination: "destination",
  startTime: "start_time",
  durationMinutes: "duration_minutes",
  price: "price",
  capacity: "capacity",
};

/** What v1's and v2's tours name alike, by the same name and type. */
type CommonTourFields = Pick<
  ProtoTour,
  "tourId" | "etag" | "title" | "description" | "destination" | "startTime" | "durationMinutes" | "price"
>;

/**
 * The fields of a request's tour as the domain reads them, from either version's Tour and the capacity where
 * that version keeps it; a message field left out is undefined.
 */
export function givenTourFields(tour: CommonTourFields | undefined, capacity: number | undefined) {
  return {
    tourId: tour?.tourId ?? "",
    etag: tour?.etag ?? "",
    title: tour?.title,
    description: tour?.description,
    destination: tour?.destination,
    startTime: tour?.startTime && timestampDate(tour.startTime),
    durationMinutes: tour?.durationMinutes,
    price: tour?.price && {
      currencyCode: tour.price.currencyCode,
      minorUnits: Number(tour.price.minorUnits),
    },
    capacity,
  };
}

const fromProtoTour = (tour: ProtoTour | undefined) => givenTourFields(tour, tour?.capacity);

const reservationStatus: Record<Reservation["status"], ProtoReservationStatus> = {
  held: ReservationStatus.HELD,
  released: ReservationStatus.RELEASED,
};

function toProtoReservation(reservation: Reservation) {
  return { ...reservation, status: reservationStatus[reservation.status] };
}

/** A tour id for a tour created without one, e.g. tour_5e0c8a2f41b7. */
const newTourId = () => `tour_${randomUUID().replaceAll("-", "").slice(0, 12)}`;

/**
 * How a version of the contract encodes its GetTour and ListTours responses; `name` tells its answers apart in
 * the cache.
 */
export interface ReadAnswers {
  name: string;
  tour(tour: Tour): Uint8Array;
  page(page: { tours: Tour[]; nextPageToken: string }): Uint8Array;
}

/**
 * What every version of the contract does, whichever asked: checks each request, reads through the cache, and
 * invalidates a change in the cache before its answer returns, so that its caller reads its own write. Reads
 * answer with the encoded response of the version that asked (`answers`), which a cache hit holds already. Tour
 * management acts for the verified caller whose id it is given: a tour is created as the caller's, and only
 * its operator may edit it or see its occupancy. Where a request's fields are named back to the caller, the
 * caller's version names them (`paths`).
 */
export function catalogOperations(
  store: TourStore,
  tours: CachedTours,
  clock: () => Date = () => new Date(),
) {
  const edited = async (tour: Tour) => {
    await tours.invalidate([tourTag(tour.tourId), ALL_PAGES]);
    return tour;
  };
  return {
    /** One page of ListTours, encoded; `destinationField` names the destination in violations. */
    async listTours(
      request: Parameters<typeof checkListTours>[0] & { pageToken: string },
      answers: ReadAnswers,
      destinationField?: string,
    ): Promise<Uint8Array> {
      const { filter, pageSize } = checkListTours(request, destinationField);
      const after = pageTokens.decode(request.pageToken, filter);
      // The next page's token is made from the page's last tour and the filter: the same on a hit as on a miss.
      const format: AnswerFormat<TourPage> = {
        name: answers.name,
        encode(page) {
          const last = page.tours.at(-1);
          const nextPageToken =
            page.more && last
              ? pageTokens.encode({ startTime: last.startTime.toISOString(), tourId: last.tourId }, filter)
              : "";
          return answers.page({ tours: page.tours, nextPageToken });
        },
      };
      return tours.listTours(filter, after, pageSize, format);
    },

    /** GetTour's answer, encoded. */
    async getTour(tourId: string, answers: ReadAnswers): Promise<Uint8Array> {
      checkTourId(tourId);
      return tours.getTour(tourId, { name: answers.name, encode: answers.tour });
    },

    async reserveSeats(
      request: Parameters<typeof checkReserveSeats>[0] & Parameters<TourStore["reserveSeats"]>[0],
    ) {
      checkReserveSeats(request);
      const { reservation, seatsAvailable } = await store.reserveSeats(request);
      await tours.invalidate(
        invalidationsForSeats(request.tourId, seatsAvailable + request.seats, seatsAvailable),
      );
      return { reservation, seatsAvailable };
    },

    async releaseSeats(request: { reservationId: string }) {
      checkReleaseSeats(request);
      const { reservation, seatsAvailable } = await store.releaseSeats(request.reservationId);
      if (seatsAvailable !== undefined)
        await tours.invalidate(
          invalidationsForSeats(reservation.tourId, seatsAvailable - reservation.seats, seatsAvailable),
        );
      return reservation;
    },

    async createTour(request: CreateTourInput, callerId: string, paths: TourFieldPaths): Promise<Tour> {
      return edited(await store.createTour(checkCreateTour(request, clock(), newTourId, paths), callerId));
    },

    async updateTour(request: UpdateTourInput, callerId: string, paths: TourFieldPaths): Promise<Tour> {
      const { tourId, ...update } = checkUpdateTour(request, clock(), paths);
      return edited(
        await store.updateTour(tourId, (current) => applyTourUpdate(current, update, callerId, paths)),
      );
    },

    async tourOccupancy(tourId: string, callerId: string): Promise<TourOccupancy> {
      checkTourId(tourId);
      const { operatorId, ...occupancy } = await store.occupancy(tourId);
      checkOperator({ tourId, operatorId }, callerId);
      return { tourId, ...occupancy };
    },
  };
}

export type CatalogOperations = ReturnType<typeof catalogOperations>;

/** CatalogService v1 over gRPC: the operations, shaped as v1's messages. */
export function catalogHandlers(operations: CatalogOperations): ServiceHandlers<typeof CatalogService> {
  return {
    async listTours(request) {
      return new EncodedMessage(ListToursResponseSchema, await operations.listTours(request, v1Answers));
    },

    async getTour(request) {
      return new EncodedMessage(GetTourResponseSchema, await operations.getTour(request.tourId, v1Answers));
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
        v1TourPaths,
      );
      return { tour: toProtoTour(created) };
    },

    async updateTour(request, context) {
      const updated = await operations.updateTour(
        { tour: fromProtoTour(request.tour), paths: request.updateMask?.paths ?? [] },
        signedInCaller(context).userId,
        v1TourPaths,
      );
      return { tour: toProtoTour(updated) };
    },

    async getTourOccupancy(request, context) {
      return { occupancy: await operations.tourOccupancy(request.tourId, signedInCaller(context).userId) };
    },
  };
}
