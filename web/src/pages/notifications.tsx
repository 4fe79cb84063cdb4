import { useEffect, useState } from "preact/hooks";
import { notifications } from "../api.js";
import { Pager, ProblemView, useLoad } from "../components.js";
import { dateTime, notificationWords } from "../format.js";
import { useSession } from "../session.js";

const PAGE_SIZE = 20;
/** Notifications come from booking events after the fact: the page looks again this often while open. */
const REFRESH_MS = 5_000;

export function NotificationsPage() {
  const session = useSession();
  if (session === undefined) {
    return (
      <section>
        <h1>Notifications</h1>
        <p>
          <a href="/sign-in?next=%2Fnotifications">Sign in</a> to read your notifications.
        </p>
      </section>
    );
  }
  return <NotificationList />;
}

function NotificationList() {
  const [pages, setPages] = useState<string[]>([""]);
  const pageToken = pages[pages.length - 1] ?? "";
  const list = useLoad(
    () => notifications.listNotifications({ pageSize: PAGE_SIZE, pageToken }),
    [pageToken],
  );
  const { reload } = list;
  useEffect(() => {
    if (list.state !== "done" || pageToken !== "") return;
    const timer = setTimeout(reload, REFRESH_MS);
    return () => clearTimeout(timer);
  }, [list.state, pageToken, reload]);

  // While it refreshes, the page keeps showing what it had.
  const [shown, setShown] = useState(list.state === "done" ? list.data : undefined);
  useEffect(() => {
    if (list.state === "done") setShown(list.data);
  }, [list]);

  return (
    <section>
      <h1>Notifications</h1>
      {list.state === "failed" && <ProblemView problem={list.problem} onRetry={list.reload} />}
      {shown === undefined && list.state === "loading" && <p class="muted">Loading notifications…</p>}
      {shown && (
        <>
          {shown.notifications.length === 0 ? (
            <p>Nothing yet. You will be told here when a booking is confirmed, cancelled or fails.</p>
          ) : (
            <ul class="cards notifications" aria-label="Notifications">
              {shown.notifications.map((item) => (
                <li key={item.notificationId} class="card">
                  <p>
                    <strong>{notificationWords[item.kind]}</strong>{" "}
                    <span class="muted">{dateTime(item.createTime)}</span>
                  </p>
                  <p>{item.message}</p>
                </li>
              ))}
            </ul>
          )}
          <Pager pages={pages} nextPageToken={shown.nextPageToken} onChange={setPages} />
        </>
      )}
    </section>
  );
}
