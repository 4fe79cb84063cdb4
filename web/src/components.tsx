import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useId, useRef, useState } from "preact/hooks";
import { type Problem, problemOf, violationOf } from "./problems.js";

export type Loaded<T> =
  | { state: "loading" }
  | { state: "done"; data: T }
  | { state: "failed"; problem: Problem };

/**
 * Runs `load` when `keys` change and on `reload()`; an answer that arrives after a newer load started is
 * dropped, so a slow first page never overwrites a faster second one.
 */
export function useLoad<T>(load: () => Promise<T>, keys: unknown[]): Loaded<T> & { reload(): void } {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  const [attempt, setAttempt] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const run = ++latest.current;
    setLoaded({ state: "loading" });
    load().then(
      (data) => run === latest.current && setLoaded({ state: "done", data }),
      (error: unknown) => run === latest.current && setLoaded({ state: "failed", problem: problemOf(error) }),
    );
  }, [...keys, attempt]);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  return { ...loaded, reload };
}

/** Seconds left until `seconds` from when it was first shown; 0 when the wait is over. */
function useCountdown(seconds: number): number {
  const [left, setLeft] = useState(seconds);
  useEffect(() => {
    setLeft(seconds);
    const timer = setInterval(() => setLeft((n) => Math.max(0, n - 1)), 1000);
    return () => clearInterval(timer);
  }, [seconds]);
  return left;
}

function RateLimited({ seconds, onRetry }: { seconds: number; onRetry?: () => void }) {
  const left = useCountdown(seconds);
  return (
    <div class="problem" role="alert">
      <p>
        Too many requests.{" "}
        {left > 0 ? `Try again in ${left} ${left === 1 ? "second" : "seconds"}.` : "You can try again now."}
      </p>
      {onRetry && (
        <button type="button" onClick={onRetry} disabled={left > 0}>
          Retry
        </button>
      )}
    </div>
  );
}

/** A failed call, said plainly, with what the traveller can do about it. */
export function ProblemView({ problem, onRetry }: { problem: Problem; onRetry?: () => void }) {
  switch (problem.kind) {
    case "network":
      return (
        <div class="problem" role="alert">
          <p>We can't reach tourmesh right now. Check your connection, then try again.</p>
          {onRetry && (
            <button type="button" onClick={onRetry}>
              Retry
            </button>
          )}
        </div>
      );
    case "rate-limited":
      return <RateLimited seconds={problem.retryAfterSeconds} onRetry={onRetry} />;
    case "signed-out":
      return (
        <div class="problem" role="alert">
          <p>
            Your session has ended.{" "}
            <a href={`/sign-in?next=${encodeURIComponent(window.location.pathname)}`}>Sign in</a> to go on.
          </p>
        </div>
      );
    case "fields":
      return (
        <div class="problem" role="alert">
          <p>Please check the highlighted fields.</p>
        </div>
      );
    case "refused":
      return (
        <div class="problem" role="alert">
          <p>{problem.message}</p>
        </div>
      );
  }
}

/** A labelled form control with the server's word on it, if any, right beneath it. */
export function Field({
  label,
  field,
  problem,
  hint,
  children,
}: {
  label: string;
  /** The request field this control fills, as the server names it in a violation (e.g. `promo_code`). */
  field: string;
  problem: Problem | undefined;
  hint?: string;
  children: (props: {
    id: string;
    name: string;
    "aria-invalid": boolean;
    "aria-describedby"?: string;
  }) => ComponentChildren;
}) {
  const id = useId();
  const violation = violationOf(problem, field);
  const described = [hint ? `${id}-hint` : "", violation ? `${id}-violation` : ""].filter(Boolean).join(" ");
  return (
    <div class={violation ? "field invalid" : "field"}>
      <label for={id}>{label}</label>
      {children({
        id,
        name: field,
        "aria-invalid": violation !== undefined,
        ...(described ? { "aria-describedby": described } : {}),
      })}
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
      {violation && (
        <small id={`${id}-violation`} class="violation">
          {violation}
        </small>
      )}
    </div>
  );
}

export function Stars({ average, count }: { average: number; count: number }) {
  if (count === 0) return <span class="rating">No reviews yet</span>;
  return (
    <span class="rating" title={`${average.toFixed(1)} out of 5`}>
      ★ {average.toFixed(1)} <span class="muted">({count})</span>
    </span>
  );
}

/**
 * Page tokens as a stack: the current page's token last ("" for the first page). Hidden while everything fits
 * on one page.
 */
export function Pager({
  pages,
  nextPageToken,
  onChange,
}: {
  pages: string[];
  nextPageToken: string;
  onChange: (pages: string[]) => void;
}) {
  if (pages.length === 1 && nextPageToken === "") return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={pages.length === 1} onClick={() => onChange(pages.slice(0, -1))}>
        Previous page
      </button>
      <span class="muted">Page {pages.length}</span>
      <button
        type="button"
        disabled={nextPageToken === ""}
        onClick={() => onChange([...pages, nextPageToken])}
      >
        Next page
      </button>
    </nav>
  );
}
