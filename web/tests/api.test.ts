import { describe, expect, it } from "vitest";

import { ApiClient, AuthClient, SESSION_KEY, withQuery, type Fetch, type KeyValueStore } from "../src/lib/api";
import { isApiError } from "../src/lib/problem";
import { sessionFromPair } from "../src/lib/tokens";

class MemoryStore implements KeyValueStore {
  readonly values = new Map<string, string>();
  getItem(key: string) {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.values.set(key, value);
  }
  removeItem(key: string) {
    this.values.delete(key);
  }
}

interface Call {
  url: string;
  method: string;
  auth: string | null;
  body: unknown;
}

function json(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}

function fakeServer(handle: (call: Call, calls: Call[]) => Response) {
  const calls: Call[] = [];
  const fetch: Fetch = async (url, init) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call = {
      url,
      method: init?.method ?? "GET",
      auth: headers.Authorization ?? null,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : null,
    };
    calls.push(call);
    return handle(call, calls);
  };
  return { calls, fetch };
}

const tokens = (n: number) => ({
  access_token: `access-${n}`,
  token_type: "Bearer",
  expires_in: 900,
  refresh_token: `refresh-${n}`,
  refresh_expires_in: 86_400,
});

function setup(handle: (call: Call, calls: Call[]) => Response, now = 0) {
  const store = new MemoryStore();
  store.setItem(SESSION_KEY, JSON.stringify(sessionFromPair(tokens(1), now)));
  const server = fakeServer(handle);
  const timers: number[] = [];
  const auth = new AuthClient({
    fetch: server.fetch,
    storage: store,
    now: () => now,
    setTimer: (_task, ms) => {
      timers.push(ms);
      return 0 as unknown as ReturnType<typeof setTimeout>;
    },
    clearTimer: () => undefined,
  });
  return { auth, api: new ApiClient(auth, server.fetch), calls: server.calls, store, timers };
}

describe("ApiClient with AuthClient", () => {
  it("sends the bearer token and parses JSON", async () => {
    const { api, calls } = setup(() => json(200, { ok: true }));
    await expect(api.get("/users/me")).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.auth).toBe("Bearer access-1");
  });

  it("on a 401 refreshes once, stores the rotated pair and retries", async () => {
    const { api, calls, store, auth } = setup((call) => {
      if (call.url === "/auth/refresh") return json(200, tokens(2));
      return call.auth === "Bearer access-2" ? json(200, { id: "me" }) : json(401, { type: "https://spotilike.dev/problems/auth/invalid-token" });
    });
    await expect(api.get("/users/me")).resolves.toEqual({ id: "me" });
    expect(calls.map((c) => c.url)).toEqual(["/users/me", "/auth/refresh", "/users/me"]);
    expect(calls[1]?.body).toEqual({ refresh_token: "refresh-1" });
    expect(auth.session?.refreshToken).toBe("refresh-2");
    expect(JSON.parse(store.getItem(SESSION_KEY) ?? "{}").accessToken).toBe("access-2");
  });

  it("signs out when the refresh token is refused, and does not loop", async () => {
    const { api, calls, auth, store } = setup((call) =>
      call.url === "/auth/refresh" ? json(401, { type: "https://spotilike.dev/problems/auth/invalid-refresh-token" }) : json(401, {}),
    );
    const seen: Array<unknown> = [];
    auth.subscribe((session) => seen.push(session));
    const failure = await api.get("/users/me", { auth: "required" }).catch((e: unknown) => e);
    expect(isApiError(failure)).toBe(true);
    expect(calls.map((c) => c.url)).toEqual(["/users/me", "/auth/refresh"]);
    expect(auth.session).toBeNull();
    expect(store.getItem(SESSION_KEY)).toBeNull();
    expect(seen).toEqual([null]);
  });

  it("keeps the session when the refresh fails for a server reason", async () => {
    const { auth } = setup(() => json(503, {}));
    await expect(auth.refresh()).resolves.toBe(false);
    expect(auth.session?.refreshToken).toBe("refresh-1");
  });

  it("shares one refresh among concurrent callers", async () => {
    const { auth, calls } = setup(() => json(200, tokens(2)));
    const results = await Promise.all([auth.refresh(), auth.refresh(), auth.refresh()]);
    expect(results).toEqual([true, true, true]);
    expect(calls.filter((c) => c.url === "/auth/refresh")).toHaveLength(1);
  });

  it("adopts a pair another tab already refreshed instead of reusing the old token", async () => {
    const { auth, calls, store } = setup(() => json(200, tokens(9)));
    store.setItem(SESSION_KEY, JSON.stringify(sessionFromPair(tokens(2), 0)));
    await expect(auth.refresh()).resolves.toBe(true);
    expect(calls).toHaveLength(0);
    expect(auth.session?.accessToken).toBe("access-2");
  });

  it("refreshes first when the access token has expired", async () => {
    const store = new MemoryStore();
    store.setItem(SESSION_KEY, JSON.stringify(sessionFromPair(tokens(1), 0)));
    const server = fakeServer((call) => (call.url === "/auth/refresh" ? json(200, tokens(2)) : json(200, {})));
    const auth = new AuthClient({ fetch: server.fetch, storage: store, now: () => 1_000_000, setTimer: () => 0 as never, clearTimer: () => undefined });
    const api = new ApiClient(auth, server.fetch);
    await api.get("/catalog/albums");
    expect(server.calls.map((c) => [c.url, c.auth])).toEqual([
      ["/auth/refresh", null],
      ["/catalog/albums", "Bearer access-2"],
    ]);
  });

  it("schedules the next refresh ahead of expiry after signing in", () => {
    const { auth, timers } = setup(() => json(200, {}));
    auth.signIn(tokens(3));
    expect(timers.at(-1)).toBe(840_000);
  });

  it("refuses a required call without a session and never sends it", async () => {
    const store = new MemoryStore();
    const server = fakeServer(() => json(200, {}));
    const auth = new AuthClient({ fetch: server.fetch, storage: store, now: () => 0 });
    const api = new ApiClient(auth, server.fetch);
    const failure = await api.post("/audio/uploads", {}, { auth: "required" }).catch((e: unknown) => e);
    expect(isApiError(failure, "auth/signed-out")).toBe(true);
    expect(server.calls).toHaveLength(0);
  });

  it("turns a problem answer into an ApiError with its code", async () => {
    const { api } = setup(() => json(409, { type: "https://spotilike.dev/problems/catalog/illegal-transition", detail: "not READY" }));
    const failure = await api.post("/catalog/tracks/x/publish").catch((e: unknown) => e);
    expect(isApiError(failure, "catalog/illegal-transition")).toBe(true);
    expect((failure as Error).message).toBe("not READY");
  });
});

describe("withQuery", () => {
  it("drops empty values and encodes the rest", () => {
    expect(withQuery("/catalog/search", { q: "Beyoncé & co", limit: 5, cursor: null, x: "" })).toBe(
      "/catalog/search?q=Beyonc%C3%A9+%26+co&limit=5",
    );
    expect(withQuery("/a?b=1", { c: true })).toBe("/a?b=1&c=true");
    expect(withQuery("/a", {})).toBe("/a");
  });
});
