import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Booking, BookingStatus } from "@tourmesh/gen/tourmesh/booking/v1/booking_pb.js";
import type { Tour } from "@tourmesh/gen/tourmesh/catalog/v2/catalog_pb.js";
import { useEffect, useState } from "preact/hooks";
import { booking, catalog } from "../api.js";
import { Pager, ProblemView, useLoad } from "../components.js";
import { useBooleanFlag } from "../flags.js";
import { dateTime, longDate, money, statusWords, time } from "../format.js";
import { type Problem, problemOf } from "../problems.js";
import { useSession } from "../session.js";
import { type PlannedTour, planTrip } from "../trip-plan.js";

const PAGE_SIZE = 10;
/** How often a booking waiting for payment is asked about again. */
const PENDING_POLL_MS = 2_000;

/** Tours by id, fetched once per page load; undefined for one that could not be fetched. */
const tours = new Map<string, Promise<Tour | undefined>>();
function tourOf(tourId: string): Promise<Tour | undefined> {
  let tour = tours.get(tourId);
  if (tour === undefined) {
    tour = catalog.getTour({ tourId }).then(
      (answer) => answer.tour,
      () => undefined,
    );
    tours.set(tourId, tour);
  }
  return tour;
}

const cancellable = (status: BookingStatus) =>
  status === BookingStatus.PENDING_PAYMENT || status === BookingStatus.CONFIRMED;

export function BookingsPage() {
  const session = useSession();
  if (session === undefined) {
    return (
      <section>
        <h1>My bookings</h1>
        <p>
          <a href="/sign-in?next=%2Fbookings">Sign in</a> to see your bookings.
        </p>
      </section>
    );
  }
  return <BookingList />;
}

function BookingList() {
  const tripPlanner = useBooleanFlag("web-trip-planner", false);
  const [pages, setPages] = useState<string[]>([""]);
  const pageToken = pages[pages.length - 1] ?? "";
  const list = useLoad(() => booking.listBookings({ pageSize: PAGE_SIZE, pageToken }), [pageToken]);
  return (
    <section>
      <h1>My bookings</h1>
      {tripPlanner && <TripPlanner />}
      {list.state === "loading" && <p class="muted">Loading your bookings…</p>}
      {list.state === "failed" && <ProblemView problem={list.problem} onRetry={list.reload} />}
      {list.state === "done" && (
        <>
          {list.data.bookings.length === 0 ? (
            <p>
              No bookings yet. <a href="/">Find a tour</a>.
            </p>
          ) : (
            <ul class="cards bookings" aria-label="Bookings">
              {list.data.bookings.map((item) => (
                <BookingCard key={item.bookingId} initial={item} />
              ))}
            </ul>
          )}
          <Pager pages={pages} nextPageToken={list.data.nextPageToken} onChange={setPages} />
        </>
      )}
    </section>
  );
}

/** One booking, kept current: while it waits for payment it is asked about again until it settles. */
function BookingCard({ initial }: { initial: Booking }) {
  const [item, setItem] = useState(initial);
  const [title, setTitle] = useState(item.tourId);
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void tourOf(item.tourId).then((tour) => tour && setTitle(tour.title));
  }, [item.tourId]);

  useEffect(() => {
    if (item.status !== BookingStatus.PENDING_PAYMENT) return;
    const timer = setTimeout(() => {
      booking.getBooking({ bookingId: item.bookingId }).then(
        ({ booking: latest }) => latest && setItem(latest),
        // A failed look is simply made again at the next tick; the card keeps what it knew.
        () => setItem({ ...item }),
      );
    }, PENDING_POLL_MS);
    return () => clearTimeout(timer);
  }, [item]);

  const cancel = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      const { booking: cancelled } = await booking.cancelBooking({ bookingId: item.bookingId });
      if (cancelled) setItem(cancelled);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };

  const status = statusWords[item.status];
  return (
    <li class={`card booking status-${status.toLowerCase().replace(" ", "-")}`}>
      <div class="booking-head">
        <h2>
          <a href={`/tours/${encodeURIComponent(item.tourId)}`}>{title}</a>
        </h2>
        <span class="badge">{status}</span>
      </div>
      <p class="muted">
        {item.travelers} {item.travelers === 1 ? "traveller" : "travellers"} · {money(item.quote?.total)} ·
        booked {dateTime(item.createTime)} · <span class="id">{item.bookingId}</span>
      </p>
      {item.status === BookingStatus.PENDING_PAYMENT && (
        <p class="notice">
          Payment is temporarily unavailable. Your seats are held, and you will be charged as soon as payment
          is back; this page updates by itself.
        </p>
      )}
      {item.status === BookingStatus.PAYMENT_FAILED && (
        <p class="notice">
          We could not take the payment{item.failureReason ? ` (${item.failureReason})` : ""}. Your seats were
          released and you were not charged.
        </p>
      )}
      {cancellable(item.status) && (
        <div class="actions">
          <button type="button" class="secondary" onClick={() => void cancel()} disabled={busy}>
            Cancel
          </button>
        </div>
      )}
      {problem && <ProblemView problem={problem} onRetry={() => void cancel()} />}
    </li>
  );
}

/** Bookings the planner places: those that will take place. */
const planned = (status: BookingStatus) =>
  status === BookingStatus.CONFIRMED || status === BookingStatus.PENDING_PAYMENT;

/** The tours a traveller will take, as an itinerary by day (a dark launch: see flags/flags.json). */
function TripPlanner() {
  const plan = useLoad(async () => {
    const { bookings } = await booking.listBookings({ pageSize: 100 });
    const stops = await Promise.all(
      bookings
        .filter((item) => planned(item.status))
        .map(async (item): Promise<PlannedTour | undefined> => {
          const tour = await tourOf(item.tourId);
          return tour?.startTime
            ? {
                bookingId: item.bookingId,
                title: tour.title,
                start: timestampDate(tour.startTime),
                durationMinutes: tour.durationMinutes,
              }
            : undefined;
        }),
    );
    return planTrip(stops.filter((stop) => stop !== undefined));
  }, []);
  return (
    <section class="card trip-planner" aria-label="Trip planner">
      <h2>Trip planner</h2>
      {plan.state === "loading" && <p class="muted">Planning your trip…</p>}
      {plan.state === "failed" && <ProblemView problem={plan.problem} onRetry={plan.reload} />}
      {plan.state === "done" &&
        (plan.data.length === 0 ? (
          <p class="muted">Book a tour and it appears here, day by day.</p>
        ) : (
          <ol class="trip-days">
            {plan.data.map(({ day, stops }) => (
              <li key={day}>
                <h3>{longDate(stops[0]?.start)}</h3>
                <ul>
                  {stops.map((stop) => (
                    <li key={stop.bookingId}>
                      {time(stop.start)}–{time(stop.end)} {stop.title}
                      {stop.clashesWith.length > 0 && (
                        <span class="clash"> · overlaps {stop.clashesWith.join(", ")}</span>
                      )}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ol>
        ))}
    </section>
  );
}
