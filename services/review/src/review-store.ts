import { randomUUID } from "node:crypto";
import { ReviewCreatedSchema } from "@tourmesh/gen/tourmesh/events/v1/events_pb.js";
import { AlreadyExistsError, inTransaction, type Pool, recordEvent } from "@tourmesh/platform";
import type { NewReview, Review, ReviewPosition } from "./reviews.js";

interface ReviewRow {
  review_id: string;
  seq: string;
  tour_id: string;
  user_id: string;
  author: string;
  rating: number;
  comment: string;
  created_at: Date;
}

export interface StoredReview extends Review {
  seq: number;
}

const reviewColumns = "review_id, seq, tour_id, user_id, author, rating, comment, created_at";
const UNIQUE_VIOLATION = "23505";

function toReview(row: ReviewRow): StoredReview {
  return {
    reviewId: row.review_id,
    seq: Number(row.seq),
    tourId: row.tour_id,
    userId: row.user_id,
    author: row.author,
    rating: row.rating,
    comment: row.comment,
    createTime: row.created_at,
  };
}

/** The reviews table, and the review's outbox: a new review records ReviewCreated in its transaction. */
export class ReviewStore {
  constructor(private readonly db: Pool) {}

  /**
   * Writes the user's review of a tour, and its ReviewCreated naming the tour's operator (`tourOperatorId`, ""
   * for none); ALREADY_EXISTS when they reviewed it before.
   */
  async create(
    review: NewReview,
    reviewer: { userId: string; author: string },
    tourOperatorId: string,
  ): Promise<StoredReview> {
    return inTransaction(this.db, async (tx) => {
      const { rows } = await tx
        .query<ReviewRow>(
          `INSERT INTO reviews (review_id, tour_id, user_id, author, rating, comment)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING ${reviewColumns}`,
          [
            `rev_${randomUUID().replaceAll("-", "")}`,
            review.tourId,
            reviewer.userId,
            reviewer.author,
            review.rating,
            review.comment,
          ],
        )
        .catch((error: { code?: string }) => {
          if (error.code !== UNIQUE_VIOLATION) throw error;
          throw new AlreadyExistsError(`you have already reviewed tour ${review.tourId}`);
        });
      const created = toReview(rows[0] as ReviewRow);
      await recordEvent(tx, {
        subject: "review.created",
        schema: ReviewCreatedSchema,
        message: {
          reviewId: created.reviewId,
          tourId: created.tourId,
          userId: created.userId,
          rating: created.rating,
          tourOperatorId,
        },
        aggregateId: created.reviewId,
      });
      return created;
    });
  }

  /** A page of a tour's reviews, newest first, after `after`; plus whether another page follows. */
  async list(
    tourId: string,
    after: ReviewPosition | undefined,
    pageSize: number,
  ): Promise<{ reviews: StoredReview[]; more: boolean }> {
    const { rows } = await this.db.query<ReviewRow>(
      `SELECT ${reviewColumns} FROM reviews
        WHERE tour_id = $1 AND ($2::bigint IS NULL OR seq < $2)
        ORDER BY seq DESC
        LIMIT $3`,
      [tourId, after?.seq ?? null, pageSize + 1],
    );
    return { reviews: rows.slice(0, pageSize).map(toReview), more: rows.length > pageSize };
  }
}
