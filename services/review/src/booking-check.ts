import { type BookingService, BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import type { ServiceClient } from "@tourmesh/platform";

/** Bookings looked through per request at most: 20 pages of 100. */
const MAX_PAGES = 20;

/**
 * Asks booking whether the caller has a CONFIRMED booking of a tour. The caller's own authorization header is
 * forwarded, so booking answers with the caller's bookings and nobody else's (review never sees another
 * user's data), and each call has a deadline (and the platform client keeps it within what is left of the
 * CreateReview call's own).
 */
export class BookingCheck {
  constructor(
    private readonly booking: ServiceClient<typeof BookingService>,
    private readonly timeoutMs: number,
  ) {}

  async hasConfirmedBooking(authorization: string, tourId: string): Promise<boolean> {
    let pageToken = "";
    for (let page = 0; page < MAX_PAGES; page++) {
      const { bookings, nextPageToken } = await this.booking.listBookings(
        { pageSize: 100, pageToken },
        { timeoutMs: this.timeoutMs, headers: { authorization } },
      );
      if (bookings.some((booking) => booking.tourId === tourId && booking.status === BookingStatus.CONFIRMED))
        return true;
      if (nextPageToken === "") return false;
      pageToken = nextPageToken;
    }
    return false;
  }
}
