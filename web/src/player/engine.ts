/**
 * The player: one <audio> element for the whole visit, hls.js feeding it, a Web Audio gain
 * stage for loudness normalization, the queue, and the play reports.
 *
 * The master playlist needs the listener's JWT; variant playlists and segments carry the
 * streaming service's own signed links (five minutes), so only master.m3u8 gets the
 * Authorization header. When a link expires mid-track, the player loads master.m3u8 again
 * and resumes at the same position.
 *
 * Where hls.js cannot run (no Media Source Extensions) but the browser plays HLS itself
 * (Safari on iOS before 17.1), the element gets a header-less signed master link instead,
 * and a media error fetches a fresh one the same way.
 */

// The light build leaves out subtitles, alternate audio tracks, DRM and CMCD, none of
// which this player uses, at about half the size.
import Hls, { ErrorTypes, Events, type ErrorData } from "hls.js/light";

import type { AuthClient } from "../lib/api";
import { masterUrl, type Endpoints, type MasterLink, type Track } from "../lib/endpoints";
import { elementVolume, nodeGain } from "../lib/gain";
import { parseWaveform, type Waveform } from "../lib/peaks";
import {
  isMasterPlaylist,
  nativeQuality,
  nativeRecoveryFor,
  playbackPath,
  PlayReporter,
  qualityOf,
  recoveryFor,
  ReloadBudget,
  type Quality,
} from "../lib/playback";
import { errorMessage, parseProblem } from "../lib/problem";
import * as q from "../lib/queue";

export type PlayerStatus = "idle" | "loading" | "playing" | "paused" | "error";

export interface LevelInfo {
  index: number;
  quality: Quality | null;
  bitrate: number;
}

export interface PlayerState {
  queue: q.Queue<Track>;
  repeat: q.Repeat;
  status: PlayerStatus;
  position: number;
  duration: number;
  buffered: number;
  volume: number;
  muted: boolean;
  normalize: boolean;
  levels: LevelInfo[];
  /** The level playing now, and whether hls.js picks levels itself. */
  quality: Quality | null;
  autoLevel: boolean;
  waveform: Waveform | null;
  error: string | null;
  /** "web-audio" applies boosts too; "element" can only cut (volume ≤ 1). */
  output: "web-audio" | "element";
}

export interface PlayerDeps {
  auth: AuthClient;
  api: Endpoints;
  /** Called when playing needs an account and there is none. */
  onSignInNeeded: () => void;
}

const PREFS_KEY = "spotilike.player";

interface Prefs {
  volume: number;
  muted: boolean;
  normalize: boolean;
}

function loadPrefs(): Prefs {
  try {
    const raw = JSON.parse(localStorage.getItem(PREFS_KEY) ?? "{}") as Partial<Prefs>;
    return {
      volume: typeof raw.volume === "number" ? Math.min(1, Math.max(0, raw.volume)) : 0.8,
      muted: raw.muted === true,
      normalize: raw.normalize !== false,
    };
  } catch {
    return { volume: 0.8, muted: false, normalize: true };
  }
}

function problemCodeOf(details: unknown): string | null {
  // hls.js hands over the XMLHttpRequest (or fetch Response) of the failed load.
  if (typeof XMLHttpRequest === "undefined" || !(details instanceof XMLHttpRequest)) return null;
  let raw = "";
  try {
    if (details.responseType === "" || details.responseType === "text") raw = details.responseText;
    else if (details.response instanceof ArrayBuffer) raw = new TextDecoder().decode(details.response);
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const problem = parseProblem(details.status, JSON.parse(raw));
    return problem.code || null;
  } catch {
    return null;
  }
}

function failedUrl(data: ErrorData): string {
  return data.url ?? data.context?.url ?? data.frag?.url ?? "";
}

declare global {
  interface Window {
    __spotilike?: { hls: Hls | null; player: Player };
  }
}

export class Player {
  private state: PlayerState;
  private readonly listeners = new Set<(state: PlayerState) => void>();
  private hls: Hls | null = null;
  /** The track the browser's own HLS player has, when it plays instead of hls.js. */
  private nativeTrack: string | null = null;
  private context: AudioContext | null = null;
  private gainNode: GainNode | null = null;
  private readonly reporter: PlayReporter;
  private readonly reloads = new ReloadBudget();
  private readonly waveforms = new Map<string, Waveform | null>();
  private loadToken = 0;

  constructor(
    readonly audio: HTMLAudioElement,
    private readonly deps: PlayerDeps,
  ) {
    const prefs = loadPrefs();
    this.state = {
      queue: q.emptyQueue(),
      repeat: "off",
      status: "idle",
      position: 0,
      duration: 0,
      buffered: 0,
      volume: prefs.volume,
      muted: prefs.muted,
      normalize: prefs.normalize,
      levels: [],
      quality: null,
      autoLevel: true,
      waveform: null,
      error: null,
      output: "element",
    };
    this.reporter = new PlayReporter(
      (trackId, event) => {
        void this.deps.api.playEvent(trackId, event).catch(() => undefined);
      },
      () => Date.now(),
      () => crypto.randomUUID(),
    );
    window.__spotilike = { hls: null, player: this };
    this.bindAudio();
    this.applyGain();
    window.addEventListener("pagehide", () => this.reporter.finish(this.audio.currentTime * 1000));
  }

  get snapshot(): PlayerState {
    return this.state;
  }

  get currentTrack(): Track | null {
    return q.current(this.state.queue);
  }

  subscribe(listener: (state: PlayerState) => void): () => void {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  /** Replaces the queue and starts `start`; call it from the click that asked for it. */
  playTracks(tracks: readonly Track[], start = 0): void {
    const playable = tracks.filter((track) => track.status === "READY");
    const wanted = tracks[start];
    const index = wanted ? Math.max(0, playable.indexOf(wanted)) : 0;
    this.setQueue(q.queueOf(playable, index), true);
  }

  enqueue(track: Track): void {
    const wasEmpty = this.state.queue.items.length === 0;
    this.update({ queue: q.enqueue(this.state.queue, track) });
    if (wasEmpty) this.loadCurrent(false);
  }

  playNext(track: Track): void {
    const wasEmpty = this.state.queue.items.length === 0;
    this.update({ queue: q.enqueueNext(this.state.queue, track) });
    if (wasEmpty) this.loadCurrent(false);
  }

  removeAt(index: number): void {
    const removingCurrent = index === this.state.queue.index;
    const queue = q.removeAt(this.state.queue, index);
    this.update({ queue });
    if (removingCurrent) {
      if (queue.items.length === 0) this.stop();
      else this.loadCurrent(!this.audio.paused);
    }
  }

  moveInQueue(from: number, to: number): void {
    this.update({ queue: q.move(this.state.queue, from, to) });
  }

  jumpTo(index: number): void {
    this.setQueue(q.jumpTo(this.state.queue, index), true);
  }

  toggle(): void {
    if (this.audio.paused) this.play();
    else this.pause();
  }

  play(): void {
    if (!this.currentTrack) return;
    this.ensureGraph();
    if (!this.attached && this.state.status !== "loading") {
      this.loadCurrent(true);
      return;
    }
    void this.context?.resume();
    void this.audio.play().catch((error: unknown) => this.fail(errorMessage(error)));
  }

  pause(): void {
    this.audio.pause();
  }

  seek(seconds: number): void {
    const duration = this.duration();
    if (!Number.isFinite(seconds) || duration <= 0) return;
    this.audio.currentTime = Math.min(Math.max(0, seconds), Math.max(0, duration - 0.25));
    this.update({ position: this.audio.currentTime });
  }

  seekBy(delta: number): void {
    this.seek(this.audio.currentTime + delta);
  }

  next(): void {
    const queue = q.next(this.state.queue, this.state.repeat === "one" ? "all" : this.state.repeat);
    if (queue) this.setQueue(queue, true);
  }

  previous(): void {
    const action = q.previous(this.state.queue, this.audio.currentTime);
    if (action.kind === "restart") this.seek(0);
    else this.setQueue(action.queue, true);
  }

  setRepeat(repeat: q.Repeat): void {
    this.update({ repeat });
  }

  setVolume(volume: number): void {
    this.update({ volume: Math.min(1, Math.max(0, volume)), muted: false });
    this.applyGain();
    this.savePrefs();
  }

  toggleMute(): void {
    this.update({ muted: !this.state.muted });
    this.applyGain();
    this.savePrefs();
  }

  setNormalize(normalize: boolean): void {
    this.update({ normalize });
    this.applyGain();
    this.savePrefs();
  }

  /** -1 hands the choice back to hls.js's bandwidth estimate. */
  setLevel(index: number): void {
    if (!this.hls) return;
    this.hls.nextLevel = index;
    this.update({ autoLevel: index < 0 });
  }

  private setQueue(queue: q.Queue<Track>, autoplay: boolean): void {
    const before = this.currentTrack;
    this.update({ queue });
    const after = q.current(queue);
    if (after && before && after.id === before.id && this.attached) {
      this.seek(0);
      if (autoplay) this.play();
      return;
    }
    this.loadCurrent(autoplay);
  }

  private stop(): void {
    this.reporter.finish(this.audio.currentTime * 1000);
    this.teardown();
    this.audio.removeAttribute("src");
    this.audio.load();
    this.update({ status: "idle", position: 0, duration: 0, buffered: 0, levels: [], quality: null, waveform: null });
  }

  private loadCurrent(autoplay: boolean): void {
    const track = this.currentTrack;
    if (!track) return;
    this.reporter.begin(track.id, track.duration_ms, this.audio.currentTime * 1000);
    if (!this.deps.auth.session) {
      this.teardown();
      this.update({ status: "error", error: "Log in to listen." });
      this.deps.onSignInNeeded();
      return;
    }
    if (autoplay) this.ensureGraph();
    this.applyGain();
    this.updateMediaSession(track);
    this.update({
      status: "loading",
      error: null,
      position: 0,
      duration: (track.duration_ms ?? 0) / 1000,
      buffered: 0,
      levels: [],
      quality: null,
      waveform: this.waveforms.get(track.id) ?? null,
    });
    this.attach(track, 0, autoplay);
    void this.loadWaveform(track);
  }

  private get attached(): boolean {
    return this.hls !== null || this.nativeTrack !== null;
  }

  private attach(track: Track, startAt: number, autoplay: boolean): void {
    this.teardown();
    const token = ++this.loadToken;
    const path = playbackPath(Hls.isSupported(), this.audio.canPlayType("application/vnd.apple.mpegurl"));
    if (path === "native") {
      void this.attachNative(track, startAt, autoplay, token);
      return;
    }
    if (path === "unsupported") {
      this.fail("This browser cannot play HLS: it has neither Media Source Extensions nor HLS of its own.");
      return;
    }
    const auth = this.deps.auth;
    const hls = new Hls({
      startPosition: startAt > 0 ? startAt : -1,
      // The JWT goes to master.m3u8 only; every other URI carries its own signed link.
      xhrSetup: async (xhr: XMLHttpRequest, url: string) => {
        if (!isMasterPlaylist(url)) return;
        const jwt = await auth.accessToken();
        xhr.open("GET", url, true);
        if (jwt) xhr.setRequestHeader("Authorization", `Bearer ${jwt}`);
      },
    });
    this.hls = hls;
    if (window.__spotilike) window.__spotilike.hls = hls;
    hls.on(Events.MANIFEST_PARSED, (_event, data) => {
      if (token !== this.loadToken) return;
      const levels = data.levels.map((level, index) => ({
        index,
        quality: qualityOf(level.url[0], level.bitrate),
        bitrate: level.bitrate,
      }));
      this.update({ levels });
      if (autoplay) this.startPlaying(token);
    });
    hls.on(Events.LEVEL_SWITCHED, (_event, data) => {
      if (token !== this.loadToken) return;
      this.update({ quality: this.state.levels[data.level]?.quality ?? null });
    });
    hls.on(Events.ERROR, (_event, data) => {
      if (token === this.loadToken) void this.onHlsError(track, data);
    });
    hls.attachMedia(this.audio);
    hls.loadSource(masterUrl(track.id));
  }

  /**
   * The browser's own HLS player fetches every playlist itself and cannot send the JWT, so
   * master.m3u8 comes from a signed link; the levels are the browser's to choose, and the
   * play reports name the highest the listener may play (nativeQuality).
   */
  private async attachNative(track: Track, startAt: number, autoplay: boolean, token: number): Promise<void> {
    let link: MasterLink;
    try {
      link = await this.deps.api.masterLink(track.id);
    } catch (error) {
      if (token === this.loadToken) this.fail(errorMessage(error));
      return;
    }
    if (token !== this.loadToken) return;
    this.nativeTrack = track.id;
    this.update({ levels: [], quality: nativeQuality(link.qualities_kbps), autoLevel: true });
    const audio = this.audio;
    if (startAt > 0) {
      const resume = () => {
        if (token === this.loadToken) audio.currentTime = startAt;
      };
      audio.addEventListener("loadedmetadata", resume, { once: true });
    }
    audio.src = link.url;
    if (autoplay) this.startPlaying(token);
  }

  private startPlaying(token: number): void {
    void this.context?.resume();
    void this.audio.play().catch((error: unknown) => {
      if (token === this.loadToken && !(error instanceof DOMException && error.name === "AbortError")) {
        this.update({ status: "paused", error: `Press Play to start (${errorMessage(error)}).` });
      }
    });
  }

  private onNativeError(): void {
    const track = this.currentTrack;
    if (this.nativeTrack === null || !track || track.id !== this.nativeTrack) return;
    const code = this.audio.error?.code;
    if (nativeRecoveryFor(code) === "reload-source" && this.reloads.take(Date.now())) {
      this.reloadSource(track);
      return;
    }
    this.fail(`Playback failed (media error ${code ?? "unknown"}).`);
  }

  private async onHlsError(track: Track, data: ErrorData): Promise<void> {
    const status = data.response?.code ?? 0;
    if (status >= 400) {
      const recovery = recoveryFor({ url: failedUrl(data), status, code: problemCodeOf(data.networkDetails) });
      if (recovery === "refresh-and-reload" || recovery === "reload-source") {
        if (!this.reloads.take(Date.now())) {
          this.fail("Playback links keep failing; try again in a minute.");
          return;
        }
        if (recovery === "refresh-and-reload" && !(await this.deps.auth.refresh())) {
          this.fail("Your session ended. Log in again to listen.");
          this.deps.onSignInNeeded();
          return;
        }
        this.reloadSource(track);
        return;
      }
      if (recovery === "give-up") {
        this.fail(status === 403 ? "This track is not available to you." : "This track could not be found.");
        return;
      }
    }
    if (!data.fatal || !this.hls) return;
    if (data.type === ErrorTypes.MEDIA_ERROR && this.reloads.take(Date.now())) {
      this.hls.recoverMediaError();
    } else if (data.type === ErrorTypes.NETWORK_ERROR && this.reloads.take(Date.now())) {
      this.reloadSource(track);
    } else {
      this.fail(`Playback failed (${data.details}).`);
    }
  }

  /** Fresh links from master.m3u8, resuming at the current position and play state. */
  private reloadSource(track: Track): void {
    const position = this.audio.currentTime;
    const wasPlaying = !this.audio.paused || this.state.status === "loading";
    this.attach(track, position, wasPlaying);
  }

  private teardown(): void {
    this.loadToken++;
    if (this.nativeTrack !== null) {
      this.nativeTrack = null;
      this.audio.removeAttribute("src");
      this.audio.load();
    }
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
      if (window.__spotilike) window.__spotilike.hls = null;
    }
  }

  private fail(message: string): void {
    this.teardown();
    this.update({ status: "error", error: message });
  }

  private duration(): number {
    const element = this.audio.duration;
    return Number.isFinite(element) && element > 0 ? element : this.state.duration;
  }

  private bindAudio(): void {
    const audio = this.audio;
    audio.addEventListener("playing", () => this.update({ status: "playing", error: null }));
    audio.addEventListener("pause", () => {
      if (this.state.status !== "error") this.update({ status: "paused" });
    });
    audio.addEventListener("waiting", () => {
      if (!audio.paused) this.update({ status: "loading" });
    });
    audio.addEventListener("timeupdate", () => {
      this.update({ position: audio.currentTime });
      if (!audio.paused) this.reporter.playing(audio.currentTime * 1000, this.state.quality);
    });
    audio.addEventListener("error", () => this.onNativeError());
    audio.addEventListener("durationchange", () => this.update({ duration: this.duration() }));
    audio.addEventListener("progress", () => {
      const ranges = audio.buffered;
      this.update({ buffered: ranges.length > 0 ? ranges.end(ranges.length - 1) : 0 });
    });
    audio.addEventListener("ended", () => {
      this.reporter.finish(this.duration() * 1000);
      const queue = q.next(this.state.queue, this.state.repeat);
      if (queue) this.setQueue(queue, true);
      else this.update({ status: "paused" });
    });
  }

  /**
   * MediaElementSource → GainNode → speakers. Made on the first play gesture, since browsers
   * start an AudioContext suspended otherwise; without Web Audio the element's volume does
   * what it can.
   */
  private ensureGraph(): void {
    if (this.context) return;
    const Context = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Context) return;
    try {
      const context = new Context();
      const source = context.createMediaElementSource(this.audio);
      const gain = context.createGain();
      source.connect(gain).connect(context.destination);
      this.context = context;
      this.gainNode = gain;
      this.update({ output: "web-audio" });
    } catch {
      this.context = null;
      this.gainNode = null;
    }
    this.applyGain();
  }

  private applyGain(): void {
    const settings = {
      volume: this.state.volume,
      muted: this.state.muted,
      normalize: this.state.normalize,
      gainDb: this.currentTrack?.gain_db ?? null,
    };
    if (this.gainNode && this.context) {
      this.audio.volume = 1;
      this.gainNode.gain.setTargetAtTime(nodeGain(settings), this.context.currentTime, 0.02);
    } else {
      this.audio.volume = elementVolume(settings);
    }
  }

  private async loadWaveform(track: Track): Promise<void> {
    if (this.waveforms.has(track.id)) return;
    let waveform: Waveform | null = null;
    try {
      waveform = parseWaveform(await this.deps.api.peaks(track.id));
    } catch {
      // No peaks yet: the seek bar still works, drawn without a waveform.
    }
    this.waveforms.set(track.id, waveform);
    if (this.currentTrack?.id === track.id) this.update({ waveform });
  }

  private updateMediaSession(track: Track): void {
    if (!("mediaSession" in navigator)) return;
    const session = navigator.mediaSession;
    session.metadata = new MediaMetadata({
      title: track.title,
      artist: track.artist.name,
      album: track.album_title,
      artwork: track.cover_url ? [{ src: track.cover_url }] : [],
    });
    session.setActionHandler("play", () => this.play());
    session.setActionHandler("pause", () => this.pause());
    session.setActionHandler("nexttrack", () => this.next());
    session.setActionHandler("previoustrack", () => this.previous());
  }

  private savePrefs(): void {
    const prefs: Prefs = { volume: this.state.volume, muted: this.state.muted, normalize: this.state.normalize };
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  }

  private update(changes: Partial<PlayerState>): void {
    this.state = { ...this.state, ...changes };
    for (const listener of this.listeners) listener(this.state);
  }
}
