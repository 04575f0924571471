import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

import type { Album, Artist, Track } from "../lib/endpoints";
import { formatDuration } from "../lib/format";
import { errorMessage } from "../lib/problem";
import { paths } from "../lib/routes";
import { usePlayerState, useServices } from "./app-context";
import { Icon } from "./icons";
import type { Resource } from "./resource";
import { Link } from "./router";

/** Sets the document title and moves focus to the page heading, so a screen reader hears the new page. */
export function PageHeading({ children, title }: { children: ComponentChildren; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Spotilike`;
    ref.current?.focus({ preventScroll: true });
  }, [title]);
  return (
    <h1 ref={ref} tabIndex={-1} class="page-title">
      {children}
    </h1>
  );
}

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div class="note note-error" role="alert">
      <span>{errorMessage(error)}</span>
      {onRetry && (
        <button type="button" class="button-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      {label}
    </p>
  );
}

/** What most pages do with a resource: a spinner, an error with a retry, or the content. */
export function Loaded<T>({ resource, children }: { resource: Resource<T>; children: (data: T) => ComponentChildren }) {
  if (resource.error) return <ErrorNote error={resource.error} onRetry={resource.reload} />;
  if (resource.data === undefined) return <Loading />;
  return <>{children(resource.data)}</>;
}

export function Cover({ url, label, size = "medium" }: { url: string | null | undefined; label: string; size?: "small" | "medium" | "large" }) {
  const initials = label
    .split(/\s+/)
    .slice(0, 2)
    .map((word) => word[0] ?? "")
    .join("")
    .toUpperCase();
  return url ? (
    <img class={`cover cover-${size}`} src={url} alt="" loading="lazy" />
  ) : (
    <div class={`cover cover-${size} cover-placeholder`} aria-hidden="true">
      {initials}
    </div>
  );
}

export function AlbumGrid({ albums }: { albums: Album[] }) {
  if (albums.length === 0) return <p class="muted">No albums yet.</p>;
  return (
    <ul class="grid" role="list">
      {albums.map((album) => (
        <li key={album.id} class="card">
          <Link href={paths.album(album.id)} class="card-link">
            <Cover url={album.cover_url} label={album.title} />
            <span class="card-title">{album.title}</span>
          </Link>
          <Link href={paths.artist(album.artist.id)} class="card-sub">
            {album.artist.name}
          </Link>
          <span class="card-sub">
            {[album.album_type, album.release_date?.slice(0, 4)].filter(Boolean).join(" · ")}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function ArtistGrid({ artists }: { artists: Artist[] }) {
  if (artists.length === 0) return <p class="muted">No artists yet.</p>;
  return (
    <ul class="grid" role="list">
      {artists.map((artist) => (
        <li key={artist.id} class="card">
          <Link href={paths.artist(artist.id)} class="card-link">
            <Cover url={artist.image_url} label={artist.name} />
            <span class="card-title">{artist.name}</span>
          </Link>
          {artist.country && <span class="card-sub">{artist.country}</span>}
        </li>
      ))}
    </ul>
  );
}

/**
 * Tracks with a play button each. Playing one queues the whole list from it, as a listener
 * expects from an album page. Button names are "Play <title>" so that the player bar's own
 * "Play" stays unique.
 */
export function TrackList({ tracks, showAlbum = false, coverUrl, label }: { tracks: Track[]; showAlbum?: boolean; coverUrl?: string | null; label: string }) {
  const { player } = useServices();
  const state = usePlayerState();
  const currentId = state.queue.items[state.queue.index]?.id;
  if (tracks.length === 0) return <p class="muted">No tracks.</p>;
  const withCover = tracks.map((track) => (coverUrl === undefined || track.cover_url ? track : { ...track, cover_url: coverUrl }));
  return (
    <ol class="tracks" aria-label={label}>
      {withCover.map((track, index) => {
        const playing = track.id === currentId && state.status === "playing";
        const ready = track.status === "READY";
        return (
          <li key={track.id} class={`track${track.id === currentId ? " track-current" : ""}`}>
            <span class="track-number" aria-hidden="true">
              {showAlbum ? index + 1 : track.track_number}
            </span>
            <button
              type="button"
              class="icon-button"
              aria-label={playing ? `Pause ${track.title}` : `Play ${track.title}`}
              disabled={!ready}
              onClick={() => (track.id === currentId ? player.toggle() : player.playTracks(withCover, index))}
            >
              <Icon name={playing ? "pause" : "play"} />
            </button>
            <span class="track-main">
              <span class="track-title">
                {track.title}
                {track.explicit && (
                  <span class="badge" title="Explicit">
                    E
                  </span>
                )}
              </span>
              <span class="track-sub">
                <Link href={paths.artist(track.artist.id)}>{track.artist.name}</Link>
                {track.featured_artists.length > 0 && <> feat. {track.featured_artists.map((a) => a.name).join(", ")}</>}
                {showAlbum && (
                  <>
                    {" · "}
                    <Link href={paths.album(track.album_id)}>{track.album_title}</Link>
                  </>
                )}
                {!ready && <> · {track.status.toLowerCase().replace("_", " ")}</>}
              </span>
            </span>
            <button type="button" class="icon-button track-queue" aria-label={`Add ${track.title} to queue`} disabled={!ready} onClick={() => player.enqueue(track)}>
              <Icon name="plus" />
            </button>
            <span class="track-duration">{formatDuration(track.duration_ms)}</span>
          </li>
        );
      })}
    </ol>
  );
}

export function LoadMore({ cursor, onMore, busy }: { cursor: string | null; onMore: () => void; busy: boolean }) {
  if (!cursor) return null;
  return (
    <button type="button" class="button" onClick={onMore} disabled={busy}>
      {busy ? "Loading…" : "Load more"}
    </button>
  );
}
