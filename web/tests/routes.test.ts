import { describe, expect, it } from "vitest";

import { matchRoute, needsSignIn, paths, safeNext } from "../src/lib/routes";

const ID = "0b8f7a6e-5d4c-4b3a-9f8e-7d6c5b4a3f2e";
const GATEWAY_PREFIXES = ["/auth", "/.well-known", "/users", "/admin", "/catalog", "/audio", "/stream", "/notifications", "/playlists", "/search", "/social", "/ws"];

describe("routes", () => {
  it("matches pages and their parameters", () => {
    expect(matchRoute("/")).toEqual({ name: "home" });
    expect(matchRoute(`/album/${ID}`)).toEqual({ name: "album", id: ID });
    expect(matchRoute(`/artist/${ID}/`)).toEqual({ name: "artist", id: ID });
    expect(matchRoute("/find", "?q=Blue%20Train")).toEqual({ name: "search", q: "Blue Train" });
    expect(matchRoute("/reset-password", "?token=abc")).toEqual({ name: "reset-password", token: "abc" });
    expect(matchRoute("/auth/complete", "?code=c1&next=%2Fstudio")).toEqual({ name: "oauth-complete", code: "c1", next: "/studio" });
    expect(matchRoute("/album/not-an-id")).toEqual({ name: "not-found", path: "/album/not-an-id" });
  });

  it("round-trips the path builders", () => {
    expect(matchRoute(paths.album(ID))).toEqual({ name: "album", id: ID });
    const search = new URL(paths.search("a&b"), "http://x");
    expect(matchRoute(search.pathname, search.search)).toEqual({ name: "search", q: "a&b" });
    expect(matchRoute(paths.admin())).toEqual({ name: "admin" });
  });

  it("never uses a path the gateway sends to a service (except the OAuth landing)", () => {
    const all = [paths.home(), paths.artists(), paths.albums(), paths.genres(), paths.genre(ID), paths.artist(ID), paths.album(ID), paths.search("x"), paths.login(), paths.signup(), paths.forgotPassword(), paths.studio(), paths.studioAlbum(ID), paths.admin(), paths.account(), "/reset-password", "/verify-email", "/login/complete"];
    for (const path of all) {
      const pathname = new URL(path, "http://x").pathname;
      for (const prefix of GATEWAY_PREFIXES) {
        expect(pathname === prefix || pathname.startsWith(prefix + "/"), `${pathname} under ${prefix}`).toBe(false);
      }
    }
  });

  it("only follows local next paths", () => {
    expect(safeNext("/album/x")).toBe("/album/x");
    expect(safeNext("//evil.example")).toBeNull();
    expect(safeNext("https://evil.example")).toBeNull();
    expect(safeNext("/\\evil.example")).toBeNull();
    expect(matchRoute("/login", "?next=https://evil.example")).toEqual({ name: "login", next: null, error: null });
  });

  it("knows which pages need an account", () => {
    expect(needsSignIn({ name: "studio" })).toBe(true);
    expect(needsSignIn({ name: "home" })).toBe(false);
  });
});
