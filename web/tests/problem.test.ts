import { describe, expect, it } from "vitest";

import { ApiError, fieldMessage, hasCode, isApiError, parseProblem, parseRetryAfter, problemCode, problemMessage } from "../src/lib/problem";

describe("problemCode", () => {
  it("takes the path after /problems/", () => {
    expect(problemCode("https://spotilike.dev/problems/streaming/token-expired")).toBe("streaming/token-expired");
  });
  it("gives nothing for about:blank and the type itself otherwise", () => {
    expect(problemCode("about:blank")).toBe("");
    expect(problemCode("urn:thing")).toBe("urn:thing");
  });
});

describe("parseProblem", () => {
  it("reads a problem document with field errors and extensions", () => {
    const problem = parseProblem(
      422,
      {
        type: "https://spotilike.dev/problems/validation-failed",
        title: "Unprocessable",
        status: 422,
        detail: "The request has 1 invalid value(s); see 'errors'.",
        errors: [{ in: "body", pointer: "/email", detail: "not an email" }, "junk"],
        existing: { id: "x" },
      },
      "7",
    );
    expect(problem.code).toBe("validation-failed");
    expect(problem.errors).toEqual([{ in: "body", pointer: "/email", detail: "not an email" }]);
    expect(problem.extensions).toEqual({ existing: { id: "x" } });
    expect(problem.retryAfter).toBe(7);
    expect(fieldMessage(problem, "email")).toBe("not an email");
    expect(fieldMessage(problem, "password")).toBeNull();
  });

  it("survives a body that is not a problem", () => {
    const fromText = parseProblem(502, "Bad Gateway");
    expect(fromText).toMatchObject({ status: 502, code: "", detail: "Bad Gateway", errors: [] });
    const fromNothing = parseProblem(500, null);
    expect(problemMessage(fromNothing)).toBe("The request failed (HTTP 500).");
  });

  it("prefers its own sentence for known codes and explains rate limits", () => {
    const credentials = parseProblem(401, { type: "https://spotilike.dev/problems/auth/invalid-credentials", detail: "x" });
    expect(problemMessage(credentials)).toMatch(/do not match/);
    const limited = parseProblem(429, { detail: "" }, "30");
    expect(problemMessage(limited)).toBe("Too many attempts. Try again in 30 s.");
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("120")).toBe(120);
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:01:00 GMT", now)).toBe(60);
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});

describe("ApiError", () => {
  it("matches by code", () => {
    const error = new ApiError(parseProblem(403, { type: "https://spotilike.dev/problems/streaming/token-expired" }));
    expect(isApiError(error)).toBe(true);
    expect(isApiError(error, "streaming/token-expired")).toBe(true);
    expect(isApiError(error, "streaming/track-unavailable")).toBe(false);
    expect(hasCode(error.problem, "token-expired")).toBe(true);
    expect(isApiError(new Error("x"))).toBe(false);
  });
});
