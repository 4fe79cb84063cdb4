import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso/router";
import { catalog, seatsLeft } from "../api.js";
import { Pager, ProblemView, Stars, useLoad } from "../components.js";
import { dateTime, money } from "../format.js";

const PAGE_SIZE = 6;
/** How long the Destination filter waits for typing to pause before it asks again. */
const TYPING_PAUSE_MS = 300;
/** The performance mark the page sets once the first tours are on screen (measured by the browser spec). */
export const TOURS_LISTED_MARK = "tours-listed";

/** The tours, filtered by destination and availability (kept in the address, so a link or reload keeps them), a page at a time. */
export function ToursPage() {
  const { query, route } = useLocation();
  const destination = query.destination ?? "";
  const availableOnly = query.available === "yes";
  const [typed, setTyped] = useState(destination);
  // The tokens of the pages before the current one, and the current one's ("" for the first page).
  const [pages, setPages] = useState<string[]>([""]);
  const pageToken = pages[pages.length - 1] ?? "";

  const filter = (next: { destination: string; availableOnly: boolean }) => {
    const params = new URLSearchParams();
    if (next.destination) params.set("destination", next.destination);
    if (next.availableOnly) params.set("available", "yes");
    const search = params.toString();
    route(search ? `/?${search}` : "/", true);
    setPages([""]);
  };

  useEffect(() => {
    if (typed.trim() === destination) return;
    const timer = setTimeout(() => filter({ destination: typed.trim(), availableOnly }), TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [typed]);

  const tours = useLoad(
    () => catalog.listTours({ filter: { destination, availableOnly }, pageSize: PAGE_SIZE, pageToken }),
    [destination, availableOnly, pageToken],
  );

  useEffect(() => {
    if (tours.state === "done" && performance.getEntriesByName(TOURS_LISTED_MARK).length === 0)
      performance.mark(TOURS_LISTED_MARK);
  }, [tours.state]);

  return (
    <section>
      <h1>Tours</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="destination">Destination</label>
          <input
            id="destination"
            type="search"
            placeholder="Any city, e.g. Paris"
            value={typed}
            onInput={(event) => setTyped(event.currentTarget.value)}
          />
        </div>
        <label class="check">
          <input
            type="checkbox"
            checked={availableOnly}
            onChange={(event) => filter({ destination, availableOnly: event.currentTarget.checked })}
          />
          Available only
        </label>
      </form>
      {tours.state === "loading" && <p class="muted">Loading tours…</p>}
      {tours.state === "failed" && <ProblemView problem={tours.problem} onRetry={tours.reload} />}
      {tours.state === "done" && (
        <>
          {tours.data.tours.length === 0 ? (
            <p>No tours match. Try another destination.</p>
          ) : (
            <ul class="cards" aria-label="Tours">
              {tours.data.tours.map((tour) => (
                <li key={tour.tourId} class="card">
                  <h2>
                    <a href={`/tours/${encodeURIComponent(tour.tourId)}`}>{tour.title}</a>
                  </h2>
                  <p class="muted">
                    {tour.destination} · {dateTime(tour.startTime)}
                  </p>
                  <p class="facts">
                    <strong>{money(tour.price)}</strong>
                    <span>{seatsLeft(tour) > 0 ? `${seatsLeft(tour)} seats left` : "Sold out"}</span>
                    <Stars average={tour.rating?.average ?? 0} count={tour.rating?.count ?? 0} />
                  </p>
                </li>
              ))}
            </ul>
          )}
          <Pager pages={pages} nextPageToken={tours.data.nextPageToken} onChange={setPages} />
        </>
      )}
    </section>
  );
}
