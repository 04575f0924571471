/**
 * The player's pages and their paths. None starts with a gateway API prefix (/auth,
 * /users, /admin, /catalog, /audio, /stream, /search, ...): the gateway sends those to
 * the services, and only the other paths fall back to index.html. Hence /find for search
 * and /manage/users for administration.
 */

export type Route =
  | { name: "home" }
  | { name: "artists" }
  | { name: "albums" }
  | { name: "genres" }
  | { name: "genre"; id: string }
  | { name: "artist"; id: string }
  | { name: "album"; id: string }
  | { name: "search"; q: string }
  | { name: "login"; next: string | null; error: string | null }
  | { name: "signup" }
  | { name: "forgot-password" }
  | { name: "reset-password"; token: string }
  | { name: "verify-email"; token: string }
  | { name: "oauth-complete"; code: string; next: string | null }
  | { name: "studio" }
  | { name: "studio-album"; id: string }
  | { name: "admin" }
  | { name: "account" }
  | { name: "not-found"; path: string };

const ID = "([0-9a-fA-F-]{36})";

const PATTERNS: Array<[RegExp, (match: string[], query: URLSearchParams) => Route]> = [
  [/^\/$/, () => ({ name: "home" })],
  [/^\/browse\/artists$/, () => ({ name: "artists" })],
  [/^\/browse\/albums$/, () => ({ name: "albums" })],
  [/^\/browse\/genres$/, () => ({ name: "genres" })],
  [new RegExp(`^/genre/${ID}$`), (m) => ({ name: "genre", id: m[1] as string })],
  [new RegExp(`^/artist/${ID}$`), (m) => ({ name: "artist", id: m[1] as string })],
  [new RegExp(`^/album/${ID}$`), (m) => ({ name: "album", id: m[1] as string })],
  [/^\/find$/, (_, q) => ({ name: "search", q: q.get("q") ?? "" })],
  [/^\/login$/, (_, q) => ({ name: "login", next: safeNext(q.get("next")), error: q.get("error") })],
  [/^\/signup$/, () => ({ name: "signup" })],
  [/^\/forgot-password$/, () => ({ name: "forgot-password" })],
  [/^\/reset-password$/, (_, q) => ({ name: "reset-password", token: q.get("token") ?? "" })],
  [/^\/verify-email$/, (_, q) => ({ name: "verify-email", token: q.get("token") ?? "" })],
  [
    /^\/(auth|login)\/complete$/,
    (_, q) => ({ name: "oauth-complete", code: q.get("code") ?? "", next: safeNext(q.get("next")) }),
  ],
  [/^\/studio$/, () => ({ name: "studio" })],
  [new RegExp(`^/studio/album/${ID}$`), (m) => ({ name: "studio-album", id: m[1] as string })],
  [/^\/manage\/users$/, () => ({ name: "admin" })],
  [/^\/account$/, () => ({ name: "account" })],
];

/** Only a path on this site: never `//evil.example` or `https://…`, an open redirect. */
export function safeNext(next: string | null): string | null {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return null;
  return next;
}

export function matchRoute(pathname: string, search = ""): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  const query = new URLSearchParams(search);
  for (const [pattern, build] of PATTERNS) {
    const match = pattern.exec(path);
    if (match) return build(match as unknown as string[], query);
  }
  return { name: "not-found", path: pathname };
}

export const paths = {
  home: () => "/",
  artists: () => "/browse/artists",
  albums: () => "/browse/albums",
  genres: () => "/browse/genres",
  genre: (id: string) => `/genre/${id}`,
  artist: (id: string) => `/artist/${id}`,
  album: (id: string) => `/album/${id}`,
  search: (q: string) => `/find?${new URLSearchParams({ q })}`,
  login: (next?: string) => (next ? `/login?${new URLSearchParams({ next })}` : "/login"),
  signup: () => "/signup",
  forgotPassword: () => "/forgot-password",
  studio: () => "/studio",
  studioAlbum: (id: string) => `/studio/album/${id}`,
  admin: () => "/manage/users",
  account: () => "/account",
};

/** Pages that only make sense signed in; the others are open to anyone. */
export function needsSignIn(route: Route): boolean {
  return route.name === "studio" || route.name === "studio-album" || route.name === "admin" || route.name === "account";
}
