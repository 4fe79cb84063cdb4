import type { Quote } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import { BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import type { Tour } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso/router";
import { booking, catalog, reviews, seatsLeft } from "../api.js";
import { attemptFinished, idempotencyKeyFor, type Order, unfinishedOrder } from "../booking-attempt.js";
import { Field, ProblemView, Stars, useLoad } from "../components.js";
import { dateTime, duration, money } from "../format.js";
import { type Problem, problemOf } from "../problems.js";
import { type Session, useSession } from "../session.js";

/** The countries offered first; the booking service takes any ISO 3166-1 alpha-2 code. */
const countries = [
  "FR",
  "DE",
  "GB",
  "IT",
  "ES",
  "NL",
  "BE",
  "AT",
  "CH",
  "IE",
  "PT",
  "SE",
  "DK",
  "FI",
  "PL",
  "GR",
  "LU",
  "US",
  "CA",
  "JP",
  "AU",
];
const countryName = new Intl.DisplayNames(["en"], { type: "region" });

export function TourPage({ tourId }: { tourId: string }) {
  const session = useSession();
  const tour = useLoad(() => catalog.getTour({ tourId }), [tourId]);
  if (tour.state === "loading") return <p class="muted">Loading the tour…</p>;
  if (tour.state === "failed") return <ProblemView problem={tour.problem} onRetry={tour.reload} />;
  const details = tour.data.tour;
  if (details === undefined) return <p>This tour does not exist.</p>;
  return (
    <article class="tour">
      <p>
        <a href="/">← All tours</a>
      </p>
      <h1>{details.title}</h1>
      <p class="muted">
        {details.destination} · {dateTime(details.startTime)} · {duration(details.durationMinutes)}
      </p>
      <p>{details.description}</p>
      <dl class="facts-list">
        <div>
          <dt>Price</dt>
          <dd>{money(details.price)} per traveller</dd>
        </div>
        <div>
          <dt>Seats left</dt>
          <dd>
            {seatsLeft(details) > 0 ? `${seatsLeft(details)} of ${details.seats?.capacity ?? 0}` : "Sold out"}
          </dd>
        </div>
        <div>
          <dt>Rating</dt>
          <dd>
            <Stars average={details.rating?.average ?? 0} count={details.rating?.count ?? 0} />
          </dd>
        </div>
      </dl>
      <BookingForm tour={details} session={session} />
      <Reviews tourId={tourId} session={session} />
    </article>
  );
}

function BookingForm({ tour, session }: { tour: Tour; session: Session | undefined }) {
  const { route } = useLocation();
  const unfinished = unfinishedOrder(tour.tourId);
  const [travelers, setTravelers] = useState(String(unfinished?.travelers ?? 2));
  const [countryCode, setCountryCode] = useState(unfinished?.countryCode ?? "FR");
  const [promoCode, setPromoCode] = useState(unfinished?.promoCode ?? "");
  const [quote, setQuote] = useState<Quote>();
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState<"quote" | "book">();

  const order = (): Order => ({
    tourId: tour.tourId,
    travelers: Number.parseInt(travelers, 10) || 0,
    countryCode,
    promoCode: promoCode.trim().toUpperCase(),
  });
  const signInFirst = () => route(`/sign-in?next=${encodeURIComponent(`/tours/${tour.tourId}`)}`);

  const getQuote = async () => {
    if (session === undefined) return signInFirst();
    setBusy("quote");
    setProblem(undefined);
    try {
      setQuote((await booking.quotePrice(order())).quote);
    } catch (error) {
      setQuote(undefined);
      setProblem(problemOf(error));
    } finally {
      setBusy(undefined);
    }
  };

  const book = async () => {
    if (session === undefined) return signInFirst();
    const wanted = order();
    // Taken before anything else, so that a second click made before this one's answer sends the same key.
    const idempotencyKey = idempotencyKeyFor(wanted);
    setBusy("book");
    setProblem(undefined);
    try {
      await booking.createBooking({ ...wanted, idempotencyKey });
      attemptFinished();
      route("/bookings");
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(undefined);
    }
  };

  return (
    <section class="panel" aria-labelledby="book-heading">
      <h2 id="book-heading">Book this tour</h2>
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void book();
        }}
      >
        <div class="row">
          <Field label="Travellers" field="travelers" problem={problem}>
            {(props) => (
              <input
                {...props}
                type="number"
                inputMode="numeric"
                min={1}
                value={travelers}
                onInput={(event) => setTravelers(event.currentTarget.value)}
              />
            )}
          </Field>
          <Field label="Country" field="country_code" problem={problem} hint="VAT is charged at its rate">
            {(props) => (
              <select
                {...props}
                value={countryCode}
                onChange={(event) => setCountryCode(event.currentTarget.value)}
              >
                {countries.map((code) => (
                  <option key={code} value={code}>
                    {countryName.of(code)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Promo code" field="promo_code" problem={problem}>
            {(props) => (
              <input
                {...props}
                type="text"
                autoComplete="off"
                value={promoCode}
                onInput={(event) => setPromoCode(event.currentTarget.value)}
              />
            )}
          </Field>
        </div>
        <div class="actions">
          <button
            type="button"
            class="secondary"
            onClick={() => void getQuote()}
            disabled={busy !== undefined}
          >
            Get quote
          </button>
          <button type="submit" disabled={busy !== undefined || seatsLeft(tour) === 0}>
            {busy === "book" ? "Booking…" : "Book"}
          </button>
        </div>
        {session === undefined && <p class="muted">You will be asked to sign in first.</p>}
      </form>
      {problem && (
        <ProblemView problem={problem} onRetry={busy === undefined ? () => void book() : undefined} />
      )}
      {quote && <QuoteView quote={quote} />}
    </section>
  );
}

function QuoteView({ quote }: { quote: Quote }) {
  return (
    <dl class="quote" aria-label="Quote">
      <div>
        <dt>
          Base ({quote.travelers} × {money(quote.unitPrice)})
        </dt>
        <dd>{money(quote.base)}</dd>
      </div>
      <div>
        <dt>Discount{quote.promoCode ? ` (${quote.promoCode})` : ""}</dt>
        <dd>−{money(quote.discount)}</dd>
      </div>
      <div>
        <dt>VAT ({quote.taxRateBasisPoints / 100}%)</dt>
        <dd>{money(quote.tax)}</dd>
      </div>
      <div class="total">
        <dt>Total</dt>
        <dd>{money(quote.total)}</dd>
      </div>
    </dl>
  );
}

function Reviews({ tourId, session }: { tourId: string; session: Session | undefined }) {
  const list = useLoad(() => reviews.listReviews({ tourId, pageSize: 20 }), [tourId]);
  return (
    <section aria-labelledby="reviews-heading">
      <h2 id="reviews-heading">Reviews</h2>
      {session && <ReviewForm tourId={tourId} onPosted={list.reload} />}
      {list.state === "loading" && <p class="muted">Loading reviews…</p>}
      {list.state === "failed" && <ProblemView problem={list.problem} onRetry={list.reload} />}
      {list.state === "done" &&
        (list.data.reviews.length === 0 ? (
          <p class="muted">No reviews yet.</p>
        ) : (
          <ul class="reviews">
            {list.data.reviews.map((review) => (
              <li key={review.reviewId}>
                <p>
                  <span class="rating">{"★".repeat(review.rating)}</span> <strong>{review.author}</strong>{" "}
                  <span class="muted">{dateTime(review.createTime)}</span>
                </p>
                {review.comment && <p>{review.comment}</p>}
              </li>
            ))}
          </ul>
        ))}
    </section>
  );
}

/** Shown to a traveller with a confirmed booking of the tour: the only ones the review service accepts. */
function ReviewForm({ tourId, onPosted }: { tourId: string; onPosted: () => void }) {
  const bookings = useLoad(() => booking.listBookings({ pageSize: 100 }), [tourId]);
  const [rating, setRating] = useState("5");
  const [comment, setComment] = useState("");
  const [problem, setProblem] = useState<Problem>();
  const [posted, setPosted] = useState(false);
  const [busy, setBusy] = useState(false);

  if (bookings.state !== "done") return null;
  const confirmed = bookings.data.bookings.some(
    (item) => item.tourId === tourId && item.status === BookingStatus.CONFIRMED,
  );
  if (!confirmed)
    return <p class="muted">You can review this tour once you have a confirmed booking of it.</p>;
  if (posted) return <p role="status">Thank you for your review.</p>;

  const post = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      await reviews.createReview({ tourId, rating: Number(rating), comment: comment.trim() });
      setPosted(true);
      onPosted();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="panel"
      aria-label="Write a review"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        void post();
      }}
    >
      <div class="row">
        <Field label="Rating" field="rating" problem={problem}>
          {(props) => (
            <select {...props} value={rating} onChange={(event) => setRating(event.currentTarget.value)}>
              {[5, 4, 3, 2, 1].map((stars) => (
                <option key={stars} value={String(stars)}>
                  {stars} {stars === 1 ? "star" : "stars"}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Field label="Comment" field="comment" problem={problem}>
        {(props) => (
          <textarea
            {...props}
            rows={3}
            value={comment}
            onInput={(event) => setComment(event.currentTarget.value)}
          />
        )}
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy}>
          Post review
        </button>
      </div>
      {problem && <ProblemView problem={problem} />}
    </form>
  );
}
