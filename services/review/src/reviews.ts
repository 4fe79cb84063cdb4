/**
 * The review domain: what a review is and what makes a request to write or list reviews valid. Plain types
 * and functions; no transport, no SQL.
 */
import { RequestCheck } from "@tourmesh/platform";

export interface Review {
  reviewId: string;
  tourId: string;
  userId: string;
  /** The reviewer's display name. */
  author: string;
  rating: number;
  comment: string;
  createTime: Date;
}

export interface NewReview {
  tourId: string;
  rating: number;
  comment: string;
}

export const MIN_RATING = 1;
export const MAX_RATING = 5;
/** In characters (Unicode code points), as the contract says. */
export const MAX_COMMENT_LENGTH = 2_000;
const MAX_ID_LENGTH = 128;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** A comment's length as people count it: code points, not UTF-16 units (an emoji is one character). */
export const commentLength = (comment: string) => [...comment].length;

export function checkCreateReview(request: { tourId: string; rating: number; comment: string }): NewReview {
  new RequestCheck()
    .text("tour_id", request.tourId, { max: MAX_ID_LENGTH })
    .intRange("rating", request.rating, MIN_RATING, MAX_RATING)
    .that(
      commentLength(request.comment) <= MAX_COMMENT_LENGTH,
      "comment",
      `must be at most ${MAX_COMMENT_LENGTH} characters`,
    )
    .done();
  return { tourId: request.tourId, rating: request.rating, comment: request.comment };
}

export function checkListReviews(request: { tourId: string; pageSize: number }): number {
  new RequestCheck()
    .text("tour_id", request.tourId, { max: MAX_ID_LENGTH })
    .pageSize("page_size", request.pageSize, MAX_PAGE_SIZE)
    .done();
  return request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize;
}

/** Reviews are listed newest first by their insertion sequence; a page ends after `seq`. */
export interface ReviewPosition {
  seq: number;
}

export function isReviewPosition(value: unknown): value is ReviewPosition {
  const seq = (value as { seq?: unknown } | null)?.seq;
  return typeof seq === "number" && Number.isSafeInteger(seq) && seq > 0;
}
