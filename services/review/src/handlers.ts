import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ReviewService } from "@tourmesh/gen/tourmesh/review/v1/review_pb.js";
import {
  FailedPreconditionError,
  pageTokenCodec,
  type ServiceHandlers,
  signedInCaller,
} from "@tourmesh/platform";
import type { BookingCheck } from "./booking-check.js";
import type { ReviewStore, StoredReview } from "./review-store.js";
import { checkCreateReview, checkListReviews, isReviewPosition } from "./reviews.js";
import type { TourOperators } from "./tour-operators.js";

const pageTokens = pageTokenCodec(isReviewPosition);

function toProtoReview(review: StoredReview) {
  return {
    reviewId: review.reviewId,
    tourId: review.tourId,
    rating: review.rating,
    comment: review.comment,
    author: review.author,
    createTime: timestampFromDate(review.createTime),
  };
}

/**
 * ReviewService over gRPC. CreateReview is for a signed-in traveller with a confirmed booking of the tour
 * (asked of booking, as the caller); the tour's operator, asked of catalog at the same time, goes into the
 * review's ReviewCreated, so that notification can tell them. ListReviews is public.
 */
export function reviewHandlers(
  store: ReviewStore,
  bookings: BookingCheck,
  operators: TourOperators,
): ServiceHandlers<typeof ReviewService> {
  return {
    async createReview(request, context) {
      const caller = signedInCaller(context);
      const review = checkCreateReview(request);
      const authorization = String(context.metadata.get("authorization")[0]);
      const [operatorId, booked] = await Promise.all([
        operators.operatorOf(review.tourId),
        bookings.hasConfirmedBooking(authorization, review.tourId),
      ]);
      if (!booked) {
        throw new FailedPreconditionError(
          `only a traveller with a confirmed booking of tour ${review.tourId} can review it, and you have none`,
        );
      }
      const created = await store.create(
        review,
        { userId: caller.userId, author: caller.username },
        operatorId,
      );
      return { review: toProtoReview(created) };
    },

    async listReviews(request) {
      const pageSize = checkListReviews(request);
      const filters = { tourId: request.tourId };
      const after = pageTokens.decode(request.pageToken, filters);
      const { reviews, more } = await store.list(request.tourId, after, pageSize);
      const last = reviews.at(-1);
      return {
        reviews: reviews.map(toProtoReview),
        nextPageToken: more && last ? pageTokens.encode({ seq: last.seq }, filters) : "",
      };
    },
  };
}
