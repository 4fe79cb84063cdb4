import { Code, ConnectError } from "@connectrpc/connect";
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso/router";
import { identity } from "../api.js";
import { Field, ProblemView } from "../components.js";
import { type Problem, problemOf } from "../problems.js";
import { startSession } from "../session.js";

/** Only a path on this site is followed after signing in, never another origin. */
const safeNext = (next: string | undefined) => (next?.startsWith("/") && !next.startsWith("//") ? next : "/");

export function SignInPage() {
  const { query, route } = useLocation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<Problem>();
  const [wrong, setWrong] = useState(false);
  const [busy, setBusy] = useState(false);

  const signIn = async () => {
    setBusy(true);
    setProblem(undefined);
    setWrong(false);
    try {
      const answer = await identity.signIn({ username: username.trim(), password });
      startSession({
        username: username.trim(),
        accessToken: answer.accessToken,
        expiresAt: Date.now() + answer.expiresIn * 1000,
      });
      route(safeNext(query.next));
    } catch (error) {
      // The password is wrong or the user unknown: identity does not say which.
      if (ConnectError.from(error).code === Code.Unauthenticated) setWrong(true);
      else setProblem(problemOf(error));
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <h1>Sign in</h1>
      <form
        class="panel"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void signIn();
        }}
      >
        <Field label="Username" field="username" problem={problem}>
          {(props) => (
            <input
              {...props}
              autoComplete="username"
              value={username}
              onInput={(event) => setUsername(event.currentTarget.value)}
            />
          )}
        </Field>
        <Field label="Password" field="password" problem={problem}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="current-password"
              value={password}
              onInput={(event) => setPassword(event.currentTarget.value)}
            />
          )}
        </Field>
        {wrong && (
          <p class="problem" role="alert">
            That username and password do not match.
          </p>
        )}
        <div class="actions">
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </div>
      </form>
      {problem && <ProblemView problem={problem} onRetry={() => void signIn()} />}
    </section>
  );
}
