import { describe, expect, it } from "vitest";

import { parseConfig, providersFrom } from "../src/lib/config";
import { formatBytes, formatDuration, formatTime } from "../src/lib/format";
import { sameOrigin, uploadContentType } from "../src/lib/upload";

describe("config", () => {
  it("keeps only known providers, in a fixed order", () => {
    expect(providersFrom(["GitHub", "google", "myspace"])).toEqual(["google", "github"]);
    expect(providersFrom("github, ")).toEqual(["github"]);
    expect(providersFrom(42)).toEqual([]);
  });
  it("prefers the runtime file over the build default", () => {
    expect(parseConfig({ oauth_providers: [] }, "google")).toEqual({ oauthProviders: [] });
    expect(parseConfig(null, "google")).toEqual({ oauthProviders: ["google"] });
    expect(parseConfig("<!doctype html>", undefined)).toEqual({ oauthProviders: [] });
  });
});

describe("format", () => {
  it("formats times and sizes", () => {
    expect(formatTime(0)).toBe("0:00");
    expect(formatTime(65.9)).toBe("1:05");
    expect(formatTime(3725)).toBe("1:02:05");
    expect(formatTime(Number.NaN)).toBe("0:00");
    expect(formatDuration(null)).toBe("–");
    expect(formatDuration(181_000)).toBe("3:01");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
  });
});

describe("upload", () => {
  it("sends the bearer token only to this site", () => {
    expect(sameOrigin("/audio/uploads/1/content", "http://localhost:8080/studio")).toBe(true);
    expect(sameOrigin("http://localhost:8080/audio/uploads/1/content", "http://localhost:8080/")).toBe(true);
    expect(sameOrigin("https://bucket.s3.example/key?X-Amz-Signature=1", "http://localhost:8080/")).toBe(false);
  });
  it("declares Ogg for files browsers give no or a video type", () => {
    expect(uploadContentType({ type: "" })).toBe("audio/ogg");
    expect(uploadContentType({ type: "video/ogg" })).toBe("audio/ogg");
    expect(uploadContentType({ type: "audio/opus" })).toBe("audio/opus");
    expect(uploadContentType({ type: "audio/mpeg" })).toBe("audio/mpeg");
  });
});
