import { describe, expect, it } from "vitest";

import { accessTokenUsable, parseStoredSession, readClaims, refreshDelayMs, refreshTokenUsable, sessionFromPair } from "../src/lib/tokens";

const pair = { access_token: "a", token_type: "Bearer", expires_in: 900, refresh_token: "r", refresh_expires_in: 86_400 };

function jwt(payload: object): string {
  const encode = (value: object) => {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  return `${encode({ alg: "RS256" })}.${encode(payload)}.signature`;
}

describe("refresh scheduling", () => {
  it("refreshes a minute before a 15-minute token expires", () => {
    const session = sessionFromPair(pair, 1_000_000);
    expect(session.accessExpiresAt).toBe(1_000_000 + 900_000);
    expect(refreshDelayMs(session, 1_000_000)).toBe(840_000);
    expect(refreshDelayMs(session, 1_000_000 + 600_000)).toBe(240_000);
  });

  it("uses a fifth of the lifetime as lead for short tokens", () => {
    const session = sessionFromPair({ ...pair, expires_in: 30 }, 0);
    expect(refreshDelayMs(session, 0)).toBe(24_000);
  });

  it("never schedules in the past", () => {
    const session = sessionFromPair(pair, 0);
    expect(refreshDelayMs(session, 2_000_000)).toBe(0);
  });

  it("treats a token about to expire as unusable", () => {
    const session = sessionFromPair(pair, 0);
    expect(accessTokenUsable(session, 800_000)).toBe(true);
    expect(accessTokenUsable(session, 897_000)).toBe(false);
    expect(refreshTokenUsable(session, 86_000_000)).toBe(true);
    expect(refreshTokenUsable(session, 86_400_000)).toBe(false);
  });
});

describe("readClaims", () => {
  it("reads roles and the artist id", () => {
    const claims = readClaims(jwt({ sub: "u1", roles: ["USER", "ARTIST", 3], artist_id: "a1", exp: 99 }));
    expect(claims).toEqual({ sub: "u1", roles: ["USER", "ARTIST"], artistId: "a1", exp: 99 });
  });

  it("reads UTF-8 in the payload", () => {
    expect(readClaims(jwt({ sub: "ü-ß", roles: [] }))?.sub).toBe("ü-ß");
  });

  it("refuses what is not a JWT", () => {
    expect(readClaims("nope")).toBeNull();
    expect(readClaims("a.!!!.c")).toBeNull();
    expect(readClaims(jwt({ roles: [] }))).toBeNull();
  });
});

describe("parseStoredSession", () => {
  it("round-trips and rejects damaged values", () => {
    const session = sessionFromPair(pair, 5);
    expect(parseStoredSession(JSON.stringify(session))).toEqual(session);
    expect(parseStoredSession("{")).toBeNull();
    expect(parseStoredSession(JSON.stringify({ ...session, accessExpiresAt: "x" }))).toBeNull();
    expect(parseStoredSession(null)).toBeNull();
  });
});
