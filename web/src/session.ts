import { useEffect, useState } from "preact/hooks";

/** The signed-in traveller: who, the access token, and when it stops being accepted (ms since the epoch). */
export interface Session {
  username: string;
  accessToken: string;
  expiresAt: number;
}

/**
 * The session lives in sessionStorage, never localStorage: it survives a reload of the tab (so a reload
 * mid-booking does not sign the traveller out) but not the tab itself, and no other tab or later visit
 * finds the token.
 */
const STORAGE_KEY = "tourmesh.session";
const listeners = new Set<(session: Session | undefined) => void>();

function stored(): Session | undefined {
  const raw = sessionStorage.getItem(STORAGE_KEY);
  if (raw === null) return undefined;
  const session = JSON.parse(raw) as Session;
  return session.expiresAt > Date.now() ? session : undefined;
}

let current = stored();

export function currentSession(): Session | undefined {
  if (current !== undefined && current.expiresAt <= Date.now()) endSession();
  return current;
}

export function startSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  current = session;
  for (const listener of listeners) listener(current);
}

export function endSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  current = undefined;
  for (const listener of listeners) listener(current);
}

/** Calls `listener` whenever the traveller signs in or out; returns how to stop. */
export function onSessionChange(listener: (session: Session | undefined) => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function useSession(): Session | undefined {
  const [session, setSession] = useState(currentSession);
  useEffect(() => onSessionChange(setSession), []);
  return session;
}
