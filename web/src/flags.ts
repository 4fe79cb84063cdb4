import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
import { useEffect, useState } from "preact/hooks";
import { currentSession, onSessionChange } from "./session.js";

/**
 * How often the provider asks the gateway for its flags again. Between polls it evaluates from what it has,
 * synchronously; an unchanged answer costs the gateway an ETag comparison (304). Sign-in, sign-out and the
 * tab coming back into view ask at once.
 */
const POLL_MS = 30_000;

/**
 * The app's flags, evaluated by the gateway over OFREP from the same flag file the services read. Who the
 * user is reaches the gateway only as the bearer token, which it verifies; the context the app sends says
 * nothing the token could contradict. Nothing is persisted in the browser (`cacheMode: "disabled"`).
 */
export function startFlags(): void {
  OpenFeature.setContext(contextOf(currentSession()?.username));
  OpenFeature.setProvider(
    new OFREPWebProvider({
      baseUrl: window.location.origin,
      headersFactory: async () => {
        const session = currentSession();
        return session ? [["Authorization", `Bearer ${session.accessToken}`]] : [];
      },
      pollInterval: POLL_MS,
      cacheMode: "disabled",
    }),
  );
  // A new context makes the provider evaluate again, now with the new token.
  onSessionChange((session) => void OpenFeature.setContext(contextOf(session?.username)));
}

/** `targetingKey` only tells the provider's evaluations apart; the gateway replaces it with the token's user. */
const contextOf = (username: string | undefined) => ({ targetingKey: username ?? "visitor" });

const events = [ProviderEvents.Ready, ProviderEvents.ConfigurationChanged, ProviderEvents.ContextChanged];

/** A boolean flag's value, `fallback` until the flags arrive or when the gateway cannot say; kept current. */
export function useBooleanFlag(key: string, fallback: boolean): boolean {
  const client = OpenFeature.getClient();
  const [value, setValue] = useState(() => client.getBooleanValue(key, fallback));
  useEffect(() => {
    const update = () => setValue(client.getBooleanValue(key, fallback));
    update();
    for (const event of events) client.addHandler(event, update);
    return () => {
      for (const event of events) client.removeHandler(event, update);
    };
  }, [key, fallback]);
  return value;
}
