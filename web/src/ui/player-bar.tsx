import { useEffect, useState } from "preact/hooks";

import { formatTime } from "../lib/format";
import { clampGainDb } from "../lib/gain";
import { paths } from "../lib/routes";
import { usePlayerState, useServices } from "./app-context";
import { Cover } from "./common";
import { Icon } from "./icons";
import { Link } from "./router";
import { WaveformCanvas } from "./waveform";

const SEEK_STEP_SECONDS = 5;

function typingInto(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  return ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

/**
 * Space plays and pauses, ← and → seek, Shift+← / Shift+→ or N / P change track, M mutes.
 * Ignored while typing, and space is left to a focused button or link so it is not pressed twice.
 */
function useShortcuts(): void {
  const { player } = useServices();
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typingInto(event.target)) return;
      const onControl = event.target instanceof HTMLElement && ["BUTTON", "A", "SUMMARY"].includes(event.target.tagName);
      switch (event.key) {
        case " ":
          if (onControl) return;
          player.toggle();
          break;
        case "ArrowLeft":
          if (event.shiftKey) player.previous();
          else player.seekBy(-SEEK_STEP_SECONDS);
          break;
        case "ArrowRight":
          if (event.shiftKey) player.next();
          else player.seekBy(SEEK_STEP_SECONDS);
          break;
        case "n":
        case "N":
          player.next();
          break;
        case "p":
        case "P":
          player.previous();
          break;
        case "m":
        case "M":
          player.toggleMute();
          break;
        default:
          return;
      }
      event.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [player]);
}

function QueuePanel({ onClose }: { onClose: () => void }) {
  const { player } = useServices();
  const state = usePlayerState();
  const { items, index } = state.queue;
  return (
    <section class="queue-panel" aria-label="Queue">
      <header class="queue-header">
        <h2>Queue</h2>
        <button type="button" class="icon-button" aria-label="Close queue" onClick={onClose}>
          <Icon name="close" />
        </button>
      </header>
      {items.length === 0 ? (
        <p class="muted">Nothing queued. Use “Add to queue” on a track.</p>
      ) : (
        <ol class="queue-list">
          {items.map((track, i) => (
            <li key={`${track.id}-${i}`} class={i === index ? "queue-current" : ""} aria-current={i === index ? "true" : undefined}>
              <button type="button" class="link-button" onClick={() => player.jumpTo(i)} aria-label={`Play ${track.title} from the queue`}>
                {track.title} <span class="muted">· {track.artist.name}</span>
              </button>
              <span class="queue-actions">
                <button type="button" class="icon-button" aria-label={`Move ${track.title} up`} disabled={i === 0} onClick={() => player.moveInQueue(i, i - 1)}>
                  <Icon name="up" />
                </button>
                <button type="button" class="icon-button" aria-label={`Move ${track.title} down`} disabled={i === items.length - 1} onClick={() => player.moveInQueue(i, i + 1)}>
                  <Icon name="down" />
                </button>
                <button type="button" class="icon-button" aria-label={`Remove ${track.title} from queue`} onClick={() => player.removeAt(i)}>
                  <Icon name="close" />
                </button>
              </span>
            </li>
          ))}
        </ol>
      )}
      <label class="inline-field">
        Repeat
        <select value={state.repeat} onChange={(e) => player.setRepeat((e.currentTarget as HTMLSelectElement).value as "off" | "all" | "one")}>
          <option value="off">Off</option>
          <option value="all">All</option>
          <option value="one">One</option>
        </select>
      </label>
    </section>
  );
}

export function PlayerBar() {
  const { player } = useServices();
  const state = usePlayerState();
  const [queueOpen, setQueueOpen] = useState(false);
  useShortcuts();

  const track = state.queue.items[state.queue.index] ?? null;
  const duration = state.duration || (track?.duration_ms ?? 0) / 1000;
  const playing = state.status === "playing" || (state.status === "loading" && !player.audio.paused);
  const progress = duration > 0 ? state.position / duration : 0;
  const buffered = duration > 0 ? state.buffered / duration : 0;
  const gain = track ? clampGainDb(track.gain_db) : 0;

  return (
    <div class="player-bar" role="region" aria-label="Player">
      {queueOpen && <QueuePanel onClose={() => setQueueOpen(false)} />}
      <div class="now-playing">
        {track ? (
          <>
            <Cover url={track.cover_url} label={track.title} size="small" />
            <div class="now-text">
              <Link href={paths.album(track.album_id)} class="now-title">
                {track.title}
              </Link>
              <Link href={paths.artist(track.artist.id)} class="now-artist">
                {track.artist.name}
              </Link>
            </div>
          </>
        ) : (
          <span class="muted">Pick a track to play</span>
        )}
      </div>

      <div class="transport">
        <div class="transport-buttons">
          <button type="button" class="icon-button" aria-label="Previous" disabled={!track} onClick={() => player.previous()}>
            <Icon name="previous" />
          </button>
          <button type="button" class="icon-button play-button" aria-label={playing ? "Pause" : "Play"} disabled={!track} onClick={() => player.toggle()}>
            <Icon name={playing ? "pause" : "play"} />
          </button>
          <button
            type="button"
            class="icon-button"
            aria-label="Next"
            disabled={!track || (state.queue.index >= state.queue.items.length - 1 && state.repeat === "off")}
            onClick={() => player.next()}
          >
            <Icon name="next" />
          </button>
        </div>
        <div class="seek">
          <span class="time" aria-hidden="true">
            {formatTime(state.position)}
          </span>
          <div class="seek-track">
            <WaveformCanvas waveform={state.waveform} progress={progress} buffered={buffered} />
            <input
              type="range"
              class="seek-input"
              aria-label="Seek"
              min={0}
              max={Math.max(1, Math.floor(duration))}
              step={1}
              value={Math.floor(state.position)}
              aria-valuetext={`${formatTime(state.position)} of ${formatTime(duration)}`}
              disabled={!track || duration <= 0}
              onInput={(e) => player.seek(Number((e.currentTarget as HTMLInputElement).value))}
            />
          </div>
          <span class="time" aria-hidden="true">
            {formatTime(duration)}
          </span>
        </div>
        <p class="status-line" role="status" aria-live="polite">
          {state.error ? <span class="field-error">{state.error}</span> : state.status === "loading" ? "Loading…" : ""}
        </p>
      </div>

      <div class="extras">
        <label class="inline-field quality">
          <span>Quality</span>
          <select
            aria-label="Quality"
            value={state.autoLevel ? "-1" : String(state.levels.findIndex((l) => l.quality === state.quality))}
            disabled={state.levels.length === 0}
            onChange={(e) => player.setLevel(Number((e.currentTarget as HTMLSelectElement).value))}
          >
            <option value="-1">Auto{state.autoLevel && state.quality ? ` (${state.quality})` : ""}</option>
            {state.levels.map((level) => (
              <option key={level.index} value={String(level.index)}>
                {level.quality ?? Math.round(level.bitrate / 1000)} kb/s
              </option>
            ))}
          </select>
        </label>
        <output class="quality-now" aria-label="Current quality">
          {state.quality ? `${state.quality} kb/s` : "–"}
        </output>
        <button type="button" class="icon-button" aria-label={state.muted ? "Unmute" : "Mute"} aria-pressed={state.muted} onClick={() => player.toggleMute()}>
          <Icon name={state.muted || state.volume === 0 ? "muted" : "volume"} />
        </button>
        <input
          type="range"
          class="volume"
          aria-label="Volume"
          min={0}
          max={100}
          step={1}
          value={Math.round((state.muted ? 0 : state.volume) * 100)}
          onInput={(e) => player.setVolume(Number((e.currentTarget as HTMLInputElement).value) / 100)}
        />
        <label class="inline-field normalize" title={track?.gain_db != null ? `Track gain ${gain.toFixed(1)} dB` : "No loudness measured"}>
          <input type="checkbox" checked={state.normalize} onChange={(e) => player.setNormalize((e.currentTarget as HTMLInputElement).checked)} />
          <span>Normalize{state.normalize && track?.gain_db != null ? ` (${gain > 0 ? "+" : ""}${gain.toFixed(1)} dB)` : ""}</span>
        </label>
        <button type="button" class="icon-button" aria-label="Queue" aria-expanded={queueOpen} onClick={() => setQueueOpen(!queueOpen)}>
          <Icon name="queue" />
          <span class="queue-count">{state.queue.items.length}</span>
        </button>
      </div>
    </div>
  );
}
