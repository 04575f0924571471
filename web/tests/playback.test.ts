import { describe, expect, it } from "vitest";

import {
  isMasterPlaylist,
  nativeQuality,
  nativeRecoveryFor,
  playbackPath,
  PlayReporter,
  qualityOf,
  recoveryFor,
  ReloadBudget,
  type PlayEvent,
} from "../src/lib/playback";

describe("playbackPath", () => {
  it("prefers hls.js wherever Media Source Extensions exist", () => {
    expect(playbackPath(true, "")).toBe("hls.js");
    expect(playbackPath(true, "probably")).toBe("hls.js");
  });
  it("lets the browser play HLS itself when it can and MSE is missing", () => {
    expect(playbackPath(false, "maybe")).toBe("native");
    expect(playbackPath(false, "probably")).toBe("native");
  });
  it("says so when neither works", () => {
    expect(playbackPath(false, "")).toBe("unsupported");
    expect(playbackPath(false, "no")).toBe("unsupported");
  });
});

describe("nativeQuality", () => {
  it("names the highest quality the listener may play", () => {
    expect(nativeQuality([96, 160, 320])).toBe(320);
    expect(nativeQuality([96, 160])).toBe(160);
    expect(nativeQuality([96])).toBe(96);
  });
  it("ignores what it does not know and has nothing for nothing", () => {
    expect(nativeQuality([96, 999])).toBe(96);
    expect(nativeQuality([])).toBeNull();
  });
});

describe("nativeRecoveryFor", () => {
  it("fetches a fresh link after a network or source error", () => {
    expect(nativeRecoveryFor(2)).toBe("reload-source");
    expect(nativeRecoveryFor(4)).toBe("reload-source");
  });
  it("gives up on decoding errors and unknown ones", () => {
    expect(nativeRecoveryFor(3)).toBe("give-up");
    expect(nativeRecoveryFor(1)).toBe("give-up");
    expect(nativeRecoveryFor(undefined)).toBe("give-up");
  });
});

describe("qualityOf", () => {
  it("reads the rendition from the variant URI", () => {
    expect(qualityOf("http://h/stream/t/160/index.m3u8?u=1&t=x", 999_999)).toBe(160);
    expect(qualityOf("96/index.m3u8?u=1", undefined)).toBe(96);
  });
  it("falls back to the nearest quality to the bandwidth", () => {
    expect(qualityOf("http://h/other.m3u8", 350_000)).toBe(320);
    expect(qualityOf(undefined, 110_000)).toBe(96);
    expect(qualityOf(undefined, 0)).toBeNull();
  });
});

describe("recoveryFor", () => {
  const segment = "http://h/stream/t/160/segment_00003.ts?u=1&t=k.1.m";
  const master = "http://h/stream/t/master.m3u8";

  it("reloads from master when links expired", () => {
    expect(recoveryFor({ url: segment, status: 403, code: "streaming/token-expired" })).toBe("reload-source");
    expect(recoveryFor({ url: segment, status: 403, code: null })).toBe("reload-source");
  });
  it("refreshes the JWT when master.m3u8 answers 401", () => {
    expect(recoveryFor({ url: master, status: 401, code: "auth/invalid-token" })).toBe("refresh-and-reload");
  });
  it("gives up on a real refusal or a missing track", () => {
    expect(recoveryFor({ url: master, status: 403, code: "streaming/track-unavailable" })).toBe("give-up");
    expect(recoveryFor({ url: segment, status: 403, code: "streaming/bad-token" })).toBe("give-up");
    expect(recoveryFor({ url: master, status: 404, code: null })).toBe("give-up");
  });
  it("leaves server errors to hls.js", () => {
    expect(recoveryFor({ url: segment, status: 503, code: null })).toBe("ignore");
  });
  it("knows a master playlist when it sees one", () => {
    expect(isMasterPlaylist("/stream/t/master.m3u8")).toBe(true);
    expect(isMasterPlaylist("/stream/t/160/index.m3u8?x=master.m3u8")).toBe(false);
  });
});

describe("ReloadBudget", () => {
  it("allows a few reloads per window", () => {
    const budget = new ReloadBudget(2, 1000);
    expect(budget.take(0)).toBe(true);
    expect(budget.take(10)).toBe(true);
    expect(budget.take(20)).toBe(false);
    expect(budget.take(1011)).toBe(true);
  });
});

describe("PlayReporter", () => {
  function reporter() {
    let now = 0;
    let ids = 0;
    const sent: Array<[string, PlayEvent]> = [];
    const instance = new PlayReporter(
      (track, event) => sent.push([track, event]),
      () => now,
      () => `session-${++ids}`,
    );
    return { instance, sent, advance: (ms: number) => (now += ms) };
  }

  it("sends started once, progress every ten seconds, ended once", () => {
    const { instance, sent, advance } = reporter();
    instance.begin("t1", 180_000, 0);
    instance.playing(0, null);
    expect(sent).toHaveLength(0);
    instance.playing(250, 160);
    instance.playing(500, 160);
    advance(9_999);
    instance.playing(10_000, 160);
    advance(1);
    instance.playing(10_300, 160);
    instance.finish(12_000);
    instance.finish(12_000);
    expect(sent.map(([track, e]) => [track, e.type, e.position_ms, e.session_id])).toEqual([
      ["t1", "started", 250, "session-1"],
      ["t1", "progress", 10_300, "session-1"],
      ["t1", "ended", 12_000, "session-1"],
    ]);
    expect(sent[0]?.[1]).toMatchObject({ quality_kbps: 160, duration_ms: 180_000 });
  });

  it("ends the previous session when the next track begins", () => {
    const { instance, sent } = reporter();
    instance.begin("t1", null, 0);
    instance.playing(0, 96);
    instance.begin("t2", null, 4_200);
    instance.playing(0, 96);
    expect(sent.map(([track, e]) => [track, e.type, e.session_id])).toEqual([
      ["t1", "started", "session-1"],
      ["t1", "ended", "session-1"],
      ["t2", "started", "session-2"],
    ]);
  });

  it("sends nothing for a track that never started", () => {
    const { instance, sent } = reporter();
    instance.begin("t1", null, 0);
    instance.begin("t2", null, 0);
    instance.finish(0);
    expect(sent).toHaveLength(0);
  });
});
