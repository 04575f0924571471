/**
 * The one way the player talks to the gateway: relative URLs, JSON in and out, problems
 * turned into `ApiError`, and the bearer token handled here so no page thinks about expiry.
 */

import { ApiError, parseProblem, type Problem } from "./problem";
import {
  accessTokenUsable,
  parseStoredSession,
  refreshDelayMs,
  refreshTokenUsable,
  sessionFromPair,
  type Session,
  type TokenPair,
} from "./tokens";

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;
type Timer = ReturnType<typeof setTimeout>;

export interface AuthDeps {
  fetch: Fetch;
  storage: KeyValueStore;
  now: () => number;
  /**
   * Runs `task` while holding a lock shared by every tab (Web Locks). Refresh tokens rotate
   * and a reused one ends the session, so two tabs must never refresh with the same one.
   */
  withLock?: <T>(name: string, task: () => Promise<T>) => Promise<T>;
  setTimer?: (task: () => void, ms: number) => Timer;
  clearTimer?: (timer: Timer) => void;
}

export const SESSION_KEY = "spotilike.session";
export const DEVICE_KEY = "spotilike.device";

async function readBody(response: Response): Promise<unknown> {
  const type = response.headers.get("content-type") ?? "";
  const raw = await response.text();
  if (!raw) return null;
  if (type.includes("json")) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

export async function problemOf(response: Response): Promise<Problem> {
  return parseProblem(response.status, await readBody(response), response.headers.get("retry-after"));
}

function networkProblem(error: unknown): Problem {
  return parseProblem(0, { title: "Network error", detail: error instanceof Error ? error.message : "" });
}

export type SessionListener = (session: Session | null) => void;

export class AuthClient {
  private current: Session | null;
  private refreshing: Promise<boolean> | null = null;
  private timer: Timer | null = null;
  private readonly listeners = new Set<SessionListener>();

  constructor(private readonly deps: AuthDeps) {
    this.current = parseStoredSession(deps.storage.getItem(SESSION_KEY));
    if (this.current && !refreshTokenUsable(this.current, deps.now())) this.clear();
    this.schedule();
  }

  get session(): Session | null {
    return this.current;
  }

  subscribe(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  signIn(pair: TokenPair): void {
    this.adopt(sessionFromPair(pair, this.deps.now()));
  }

  /** Another tab changed the stored session: follow it instead of refreshing on our own. */
  syncFromStorage(): void {
    const stored = parseStoredSession(this.deps.storage.getItem(SESSION_KEY));
    if (stored?.refreshToken === this.current?.refreshToken) return;
    this.current = stored;
    this.schedule();
    this.notify();
  }

  clear(): void {
    const had = this.current !== null;
    this.current = null;
    this.deps.storage.removeItem(SESSION_KEY);
    this.schedule();
    if (had) this.notify();
  }

  /** A usable access token, refreshing first when it has expired; null when signed out. */
  async accessToken(): Promise<string | null> {
    const session = this.current;
    if (!session) return null;
    if (accessTokenUsable(session, this.deps.now())) return session.accessToken;
    return (await this.refresh()) ? (this.current?.accessToken ?? null) : null;
  }

  /** One refresh at a time in this tab; callers arriving meanwhile share its outcome. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      const run = () => this.refreshOnce();
      const locked = this.deps.withLock ? this.deps.withLock("spotilike-refresh", run) : run();
      this.refreshing = locked.finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async logout(): Promise<void> {
    const token = this.current?.accessToken;
    this.clear();
    if (!token) return;
    try {
      await this.deps.fetch("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
    } catch {
      // Signed out here either way; the access token expires on its own within minutes.
    }
  }

  private async refreshOnce(): Promise<boolean> {
    const used = this.current;
    if (!used) return false;
    const stored = parseStoredSession(this.deps.storage.getItem(SESSION_KEY));
    if (stored && stored.refreshToken !== used.refreshToken && accessTokenUsable(stored, this.deps.now())) {
      this.adopt(stored);
      return true;
    }
    let response: Response;
    try {
      response = await this.deps.fetch("/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: used.refreshToken }),
      });
    } catch {
      // Offline is not signed out: keep the session and let the next request try again.
      return false;
    }
    if (response.ok) {
      this.signIn((await response.json()) as TokenPair);
      return true;
    }
    if (response.status >= 500 || response.status === 429) return false;
    this.clear();
    return false;
  }

  private adopt(session: Session): void {
    this.current = session;
    this.deps.storage.setItem(SESSION_KEY, JSON.stringify(session));
    this.schedule();
    this.notify();
  }

  private schedule(): void {
    const clearTimer = this.deps.clearTimer ?? clearTimeout;
    const setTimer = this.deps.setTimer ?? setTimeout;
    if (this.timer !== null) clearTimer(this.timer);
    this.timer = null;
    if (!this.current) return;
    this.timer = setTimer(() => {
      void this.refresh();
    }, refreshDelayMs(this.current, this.deps.now()));
  }

  private notify(): void {
    for (const listener of this.listeners) listener(this.current);
  }
}

export type AuthMode = "none" | "optional" | "required";

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | null | undefined>;
  auth?: AuthMode;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function withQuery(path: string, query: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const encoded = params.toString();
  return encoded ? `${path}${path.includes("?") ? "&" : "?"}${encoded}` : path;
}

export class ApiClient {
  constructor(
    readonly auth: AuthClient,
    private readonly fetcher: Fetch,
    private readonly extraHeaders: () => Record<string, string> = () => ({}),
  ) {}

  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const mode = options.auth ?? "optional";
    const url = withQuery(path, options.query);
    let token = mode === "none" ? null : await this.auth.accessToken();
    if (mode === "required" && token === null) {
      throw new ApiError(parseProblem(401, { type: "https://spotilike.dev/problems/auth/signed-out", detail: "Log in first." }));
    }
    let response = await this.send(url, options, token);
    if (response.status === 401 && token !== null) {
      // Revoked or expired early (a clock far off): one refresh, one retry, then give up.
      token = (await this.auth.refresh()) ? this.auth.session?.accessToken ?? null : null;
      if (token === null) {
        if (mode === "required") throw new ApiError(await problemOf(response));
        response = await this.send(url, options, null);
      } else {
        response = await this.send(url, options, token);
      }
    }
    if (!response.ok) throw new ApiError(await problemOf(response));
    if (response.status === 204) return undefined as T;
    return (await readBody(response)) as T;
  }

  get<T>(path: string, options: Omit<RequestOptions, "method" | "body"> = {}): Promise<T> {
    return this.request<T>(path, { ...options, method: "GET" });
  }

  post<T>(path: string, body?: unknown, options: Omit<RequestOptions, "method" | "body"> = {}): Promise<T> {
    return this.request<T>(path, { ...options, method: "POST", body });
  }

  patch<T>(path: string, body: unknown, options: Omit<RequestOptions, "method" | "body"> = {}): Promise<T> {
    return this.request<T>(path, { ...options, method: "PATCH", body });
  }

  delete<T>(path: string, options: Omit<RequestOptions, "method" | "body"> = {}): Promise<T> {
    return this.request<T>(path, { ...options, method: "DELETE" });
  }

  private async send(url: string, options: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json", ...this.extraHeaders(), ...options.headers };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init: RequestInit = { method: options.method ?? "GET", headers, credentials: "same-origin" };
    if (options.signal) init.signal = options.signal;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    try {
      return await this.fetcher(url, init);
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new ApiError(networkProblem(error));
    }
  }
}
