/**
 * The signed-in session: tokens, their expiry and when to refresh.
 *
 * Access tokens live 15 minutes. The player refreshes ahead of expiry (a minute early, or a
 * fifth of the lifetime for shorter ones) so a request rarely meets a 401; a 401 still
 * triggers one refresh and one retry. Refresh tokens rotate: each is good for one use.
 */

export interface TokenPair {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds. */
  issuedAt: number;
  accessExpiresAt: number;
  refreshExpiresAt: number;
}

export interface Claims {
  sub: string;
  roles: string[];
  artistId: string | null;
  exp: number | null;
}

export const REFRESH_LEAD_MS = 60_000;
/** Lets the clock of this machine run a little ahead of the server's. */
export const EXPIRY_SKEW_MS = 5_000;

export function sessionFromPair(pair: TokenPair, now: number): Session {
  return {
    accessToken: pair.access_token,
    refreshToken: pair.refresh_token,
    issuedAt: now,
    accessExpiresAt: now + pair.expires_in * 1000,
    refreshExpiresAt: now + pair.refresh_expires_in * 1000,
  };
}

/** How long to wait before refreshing: never negative, so an overdue refresh runs at once. */
export function refreshDelayMs(session: Session, now: number, leadMs = REFRESH_LEAD_MS): number {
  const lifetime = session.accessExpiresAt - session.issuedAt;
  const lead = Math.min(leadMs, lifetime / 5);
  return Math.max(0, session.accessExpiresAt - lead - now);
}

export function accessTokenUsable(session: Session, now: number): boolean {
  return session.accessExpiresAt - EXPIRY_SKEW_MS > now;
}

export function refreshTokenUsable(session: Session, now: number): boolean {
  return session.refreshExpiresAt - EXPIRY_SKEW_MS > now;
}

function base64UrlDecode(segment: string): string {
  const padded = segment.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(segment.length / 4) * 4, "=");
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * The claims of an access token, read without verifying it: the services verify; the
 * player only needs the roles to decide which pages to offer.
 */
export function readClaims(token: string): Claims | null {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const payload = JSON.parse(base64UrlDecode(parts[1])) as Record<string, unknown>;
    if (typeof payload.sub !== "string") return null;
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === "string") : [];
    return {
      sub: payload.sub,
      roles,
      artistId: typeof payload.artist_id === "string" ? payload.artist_id : null,
      exp: typeof payload.exp === "number" ? payload.exp : null,
    };
  } catch {
    return null;
  }
}

export function parseStoredSession(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<Session>;
    const numbers = [value.issuedAt, value.accessExpiresAt, value.refreshExpiresAt];
    if (typeof value.accessToken !== "string" || typeof value.refreshToken !== "string") return null;
    if (!numbers.every((n) => typeof n === "number" && Number.isFinite(n))) return null;
    return value as Session;
  } catch {
    return null;
  }
}
