import { LocationProvider, Route, Router, useLocation } from "preact-iso/router";
import { BookingsPage } from "./pages/bookings.js";
import { NotificationsPage } from "./pages/notifications.js";
import { SignInPage } from "./pages/sign-in.js";
import { TourPage } from "./pages/tour.js";
import { ToursPage } from "./pages/tours.js";
import { endSession, useSession } from "./session.js";

function Header() {
  const session = useSession();
  const { route } = useLocation();
  return (
    <header class="site">
      <a class="brand" href="/">
        tourmesh
      </a>
      <nav aria-label="Main">
        <a href="/">Tours</a>
        <a href="/bookings">My bookings</a>
        <a href="/notifications">Notifications</a>
        {session ? (
          <span class="who">
            {session.username}
            <button
              type="button"
              class="link"
              onClick={() => {
                endSession();
                route("/");
              }}
            >
              Sign out
            </button>
          </span>
        ) : (
          <a href="/sign-in">Sign in</a>
        )}
      </nav>
    </header>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <a href="/">See all tours</a>
      </p>
    </section>
  );
}

export function App() {
  return (
    <LocationProvider>
      <Header />
      <main>
        <Router>
          <Route path="/" component={ToursPage} />
          <Route path="/tours/:tourId" component={TourPage} />
          <Route path="/sign-in" component={SignInPage} />
          <Route path="/bookings" component={BookingsPage} />
          <Route path="/notifications" component={NotificationsPage} />
          <Route default component={NotFound} />
        </Router>
      </main>
    </LocationProvider>
  );
}
