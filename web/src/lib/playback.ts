/**
 * Pure decisions of the player: how this browser plays HLS, which quality a level is, what
 * a failed HLS load means, and when to send a play report.
 */

export const QUALITIES = [96, 160, 320] as const;
export type Quality = (typeof QUALITIES)[number];

/**
 * The rendition of a variant: from its URI (`160/index.m3u8?...`, how the streaming
 * service names them), else the nearest quality to its bandwidth.
 */
export function qualityOf(url: string | undefined, bitrate: number | undefined): Quality | null {
  const fromPath = url ? /(?:^|\/)(96|160|320)\/index\.m3u8/.exec(url) : null;
  if (fromPath) return Number(fromPath[1]) as Quality;
  if (!bitrate || !Number.isFinite(bitrate) || bitrate <= 0) return null;
  const kbps = bitrate / 1000;
  let best: Quality = QUALITIES[0];
  for (const quality of QUALITIES) {
    if (Math.abs(quality - kbps) < Math.abs(best - kbps)) best = quality;
  }
  return best;
}

/**
 * How this browser plays HLS: through hls.js where Media Source Extensions exist (our own
 * level choice, errors and reloads), else by the browser itself where it says it can
 * (Safari on iOS before 17.1), from a header-less master link.
 */
export type PlaybackPath = "hls.js" | "native" | "unsupported";

export function playbackPath(mseSupported: boolean, nativeHls: string): PlaybackPath {
  if (mseSupported) return "hls.js";
  return nativeHls === "probably" || nativeHls === "maybe" ? "native" : "unsupported";
}

/**
 * What the play reports name as the quality when the browser plays HLS itself and does not
 * say which variant it picked: the highest it may climb to, which a steady connection
 * reaches within seconds.
 */
export function nativeQuality(qualities: readonly number[]): Quality | null {
  let best: Quality | null = null;
  for (const quality of QUALITIES) {
    if (qualities.includes(quality)) best = quality;
  }
  return best;
}

/**
 * What a media element error means for the native path: a network or source error is most
 * likely an expired link (the browser does not tell us its status), so fetch a fresh one;
 * a decoding error will not get better with a new link.
 */
export function nativeRecoveryFor(mediaErrorCode: number | undefined): "reload-source" | "give-up" {
  // MediaError: 2 MEDIA_ERR_NETWORK, 4 MEDIA_ERR_SRC_NOT_SUPPORTED (also a refused playlist).
  return mediaErrorCode === 2 || mediaErrorCode === 4 ? "reload-source" : "give-up";
}

export function isMasterPlaylist(url: string): boolean {
  try {
    return new URL(url, "http://x").pathname.endsWith("/master.m3u8");
  } catch {
    return false;
  }
}

export interface LoadFailure {
  url: string;
  status: number;
  /** The problem code of the answer, when its body could be read. */
  code: string | null;
}

export type Recovery =
  /** Links expired: load master.m3u8 again with the JWT and resume where we were. */
  | "reload-source"
  /** The JWT was refused: refresh it, then reload. */
  | "refresh-and-reload"
  /** Nothing the player can fix: show the error. */
  | "give-up"
  /** Leave it to hls.js's own retries. */
  | "ignore";

export function recoveryFor(failure: LoadFailure): Recovery {
  const master = isMasterPlaylist(failure.url);
  if (failure.status === 401) return master ? "refresh-and-reload" : "reload-source";
  if (failure.status === 403) {
    if (failure.code?.endsWith("streaming/token-expired")) return "reload-source";
    // A media playlist or segment refused without a readable body is most likely an old
    // link too; the master playlist decides rights again and says so clearly if not.
    if (!master && failure.code === null) return "reload-source";
    return "give-up";
  }
  if (failure.status === 404 || failure.status === 410) return "give-up";
  return "ignore";
}

/** Reloads allowed in `windowMs` before the player stops trying, so a broken link cannot loop. */
export class ReloadBudget {
  private readonly times: number[] = [];

  constructor(
    private readonly limit = 3,
    private readonly windowMs = 60_000,
  ) {}

  take(now: number): boolean {
    while (this.times.length > 0 && now - (this.times[0] as number) > this.windowMs) this.times.shift();
    if (this.times.length >= this.limit) return false;
    this.times.push(now);
    return true;
  }
}

export type PlayEventType = "started" | "progress" | "ended";

export interface PlayEvent {
  type: PlayEventType;
  session_id: string;
  position_ms: number;
  duration_ms: number | null;
  quality_kbps: Quality | null;
}

export const PROGRESS_EVERY_MS = 10_000;

/**
 * One play session per track played: `started` once, `progress` about every ten seconds
 * of wall clock while playing, `ended` once at the end or when the listener moves on.
 */
export class PlayReporter {
  private sessionId: string | null = null;
  private trackId: string | null = null;
  private durationMs: number | null = null;
  private started = false;
  private lastProgressAt = 0;

  constructor(
    private readonly send: (trackId: string, event: PlayEvent) => void,
    private readonly now: () => number,
    private readonly newId: () => string,
  ) {}

  get session(): string | null {
    return this.sessionId;
  }

  /** A new track was loaded; closes the previous session first. */
  begin(trackId: string, durationMs: number | null, positionMs: number): void {
    this.finish(positionMs);
    this.trackId = trackId;
    this.durationMs = durationMs;
    this.sessionId = this.newId();
    this.started = false;
  }

  /** Playback is running: sends `started` the first time, then `progress` on schedule. */
  playing(positionMs: number, quality: Quality | null): void {
    if (!this.trackId || !this.sessionId) return;
    const now = this.now();
    if (!this.started) {
      if (quality === null) return;
      this.started = true;
      this.lastProgressAt = now;
      this.emit("started", positionMs, quality);
      return;
    }
    if (now - this.lastProgressAt >= PROGRESS_EVERY_MS) {
      this.lastProgressAt = now;
      this.emit("progress", positionMs, quality);
    }
  }

  /** The track ended or another one replaces it: `ended` once, if it ever started. */
  finish(positionMs: number): void {
    if (this.trackId && this.sessionId && this.started) this.emit("ended", positionMs, null);
    this.trackId = null;
    this.sessionId = null;
    this.started = false;
  }

  private emit(type: PlayEventType, positionMs: number, quality: Quality | null): void {
    const event: PlayEvent = {
      type,
      session_id: this.sessionId as string,
      position_ms: Math.max(0, Math.round(positionMs)),
      duration_ms: this.durationMs,
      quality_kbps: quality,
    };
    this.send(this.trackId as string, event);
  }
}
