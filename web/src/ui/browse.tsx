import { useState } from "preact/hooks";

import type { Page } from "../lib/endpoints";
import { paths } from "../lib/routes";
import { useServices } from "./app-context";
import { AlbumGrid, ArtistGrid, Cover, ErrorNote, Loaded, LoadMore, PageHeading, TrackList } from "./common";
import { useResource } from "./resource";
import { Link } from "./router";

/** A keyset-paginated list: the first page, then "Load more" appends the next. */
function usePaged<T>(load: (cursor: string | null) => Promise<Page<T>>, deps: unknown[]) {
  const first = useResource(() => load(null), deps);
  const [extra, setExtra] = useState<{ key: unknown; items: T[]; cursor: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fresh = extra && extra.key === first.data ? extra : null;
  const items = [...(first.data?.items ?? []), ...(fresh?.items ?? [])];
  const cursor = fresh ? fresh.cursor : (first.data?.next_cursor ?? null);
  const more = async () => {
    setBusy(true);
    setError(null);
    try {
      const page = await load(cursor);
      setExtra({ key: first.data, items: [...(fresh?.items ?? []), ...page.items], cursor: page.next_cursor });
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };
  return { first, items, cursor, more, busy, error };
}

export function HomePage() {
  const { api } = useServices();
  const albums = useResource(() => api.albums({ limit: 12 }), []);
  const artists = useResource(() => api.artists({ limit: 12 }), []);
  const genres = useResource(() => api.genres(), []);
  return (
    <section>
      <PageHeading title="Browse">Browse</PageHeading>
      <h2>
        <Link href={paths.albums()}>New albums</Link>
      </h2>
      <Loaded resource={albums}>{(page) => <AlbumGrid albums={page.items} />}</Loaded>
      <h2>
        <Link href={paths.artists()}>Artists</Link>
      </h2>
      <Loaded resource={artists}>{(page) => <ArtistGrid artists={page.items} />}</Loaded>
      <h2>
        <Link href={paths.genres()}>Genres</Link>
      </h2>
      <Loaded resource={genres}>
        {(list) => (
          <ul class="chips" role="list">
            {list.map((genre) => (
              <li key={genre.id}>
                <Link class="chip" href={paths.genre(genre.id)}>
                  {genre.name}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </Loaded>
    </section>
  );
}

export function ArtistsPage() {
  const { api } = useServices();
  const paged = usePaged((cursor) => api.artists({ cursor, limit: 48 }), []);
  return (
    <section>
      <PageHeading title="Artists">Artists</PageHeading>
      <Loaded resource={paged.first}>{() => <ArtistGrid artists={paged.items} />}</Loaded>
      <ErrorNote error={paged.error} />
      <LoadMore cursor={paged.cursor} onMore={paged.more} busy={paged.busy} />
    </section>
  );
}

export function AlbumsPage({ genreId }: { genreId?: string }) {
  const { api } = useServices();
  const genres = useResource(() => (genreId ? api.genres() : Promise.resolve([])), [genreId]);
  const paged = usePaged((cursor) => api.albums({ cursor, limit: 48, genre_id: genreId }), [genreId]);
  const genre = genres.data?.find((g) => g.id === genreId);
  const title = genreId ? (genre?.name ?? "Genre") : "Albums";
  return (
    <section>
      <PageHeading title={title}>{title}</PageHeading>
      <Loaded resource={paged.first}>{() => <AlbumGrid albums={paged.items} />}</Loaded>
      <ErrorNote error={paged.error} />
      <LoadMore cursor={paged.cursor} onMore={paged.more} busy={paged.busy} />
    </section>
  );
}

export function GenresPage() {
  const { api } = useServices();
  const genres = useResource(() => api.genres(), []);
  return (
    <section>
      <PageHeading title="Genres">Genres</PageHeading>
      <Loaded resource={genres}>
        {(list) =>
          list.length === 0 ? (
            <p class="muted">No genres yet.</p>
          ) : (
            <ul class="chips" role="list">
              {list.map((genre) => (
                <li key={genre.id}>
                  <Link class="chip" href={paths.genre(genre.id)}>
                    {genre.name}
                  </Link>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </section>
  );
}

export function AlbumPage({ id }: { id: string }) {
  const { api, player } = useServices();
  const page = useResource(() => api.album(id), [id]);
  return (
    <Loaded resource={page}>
      {({ album, tracks }) => {
        const playable = tracks.filter((t) => t.status === "READY").map((t) => ({ ...t, cover_url: album.cover_url }));
        return (
          <section>
            <header class="hero">
              <Cover url={album.cover_url} label={album.title} size="large" />
              <div>
                <p class="eyebrow">{album.album_type}</p>
                <PageHeading title={album.title}>{album.title}</PageHeading>
                <p>
                  <Link href={paths.artist(album.artist.id)}>{album.artist.name}</Link>
                  {album.release_date && <> · {album.release_date.slice(0, 4)}</>}
                  {album.label && <> · {album.label}</>}
                  {!album.published && <> · draft</>}
                </p>
                {album.genres.length > 0 && <p class="muted">{album.genres.join(", ")}</p>}
                <button type="button" class="button button-primary" disabled={playable.length === 0} onClick={() => player.playTracks(playable, 0)}>
                  Play album
                </button>
              </div>
            </header>
            <TrackList tracks={tracks} coverUrl={album.cover_url} label={`Tracks of ${album.title}`} />
          </section>
        );
      }}
    </Loaded>
  );
}

export function ArtistPage({ id }: { id: string }) {
  const { api } = useServices();
  const page = useResource(() => api.artist(id), [id]);
  return (
    <Loaded resource={page}>
      {({ artist, albums, top_tracks }) => (
        <section>
          <header class="hero">
            <Cover url={artist.image_url} label={artist.name} size="large" />
            <div>
              <p class="eyebrow">Artist</p>
              <PageHeading title={artist.name}>{artist.name}</PageHeading>
              {artist.country && <p class="muted">{artist.country}</p>}
              {artist.bio && <p class="bio">{artist.bio}</p>}
            </div>
          </header>
          <h2>Popular</h2>
          <TrackList tracks={top_tracks} showAlbum label={`Popular tracks of ${artist.name}`} />
          <h2>Albums</h2>
          <AlbumGrid albums={albums} />
        </section>
      )}
    </Loaded>
  );
}

export function SearchPage({ q }: { q: string }) {
  const { api } = useServices();
  const query = q.trim();
  const results = useResource(() => (query ? api.search(query) : Promise.resolve(null)), [query]);
  const title = query ? `Results for “${query}”` : "Search";
  return (
    <section>
      <PageHeading title={title}>{title}</PageHeading>
      {!query && <p class="muted">Type the exact name of an artist, album or track in the search box.</p>}
      {query && (
        <Loaded resource={results}>
          {(found) =>
            found && (
              <div aria-live="polite">
                {found.artists.length + found.albums.length + found.tracks.length === 0 && (
                  <p>Nothing is named exactly “{query}”. Search matches whole names, ignoring case and accents.</p>
                )}
                {found.tracks.length > 0 && (
                  <>
                    <h2>Tracks</h2>
                    <TrackList tracks={found.tracks} showAlbum label="Tracks found" />
                  </>
                )}
                {found.artists.length > 0 && (
                  <>
                    <h2>Artists</h2>
                    <ArtistGrid artists={found.artists} />
                  </>
                )}
                {found.albums.length > 0 && (
                  <>
                    <h2>Albums</h2>
                    <AlbumGrid albums={found.albums} />
                  </>
                )}
              </div>
            )
          }
        </Loaded>
      )}
    </section>
  );
}
