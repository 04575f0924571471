import { useEffect, useRef, useState } from "preact/hooks";

import type { Album, JobView, Track } from "../lib/endpoints";
import { formatBytes, formatDuration } from "../lib/format";
import { errorMessage, isApiError } from "../lib/problem";
import { paths } from "../lib/routes";
import { putFile, sleep, uploadContentType } from "../lib/upload";
import { useAccount, useClaims, useServices } from "./app-context";
import { ErrorNote, Loaded, Loading, PageHeading } from "./common";
import { Field } from "./forms";
import { useResource } from "./resource";
import { Link } from "./router";

const ALBUM_TYPES = ["ALBUM", "SINGLE", "EP", "COMPILATION"];
const POLL_MS = 2000;

/**
 * The catalog trusts the token's artist_id claim. Right after an admin links the account
 * the token still lacks it, so refresh once when the profile has it and the token not.
 */
function useArtistToken(artistId: string | null): void {
  const { auth } = useServices();
  const claims = useClaims();
  const tried = useRef(false);
  useEffect(() => {
    if (artistId && claims && claims.artistId !== artistId && !tried.current) {
      tried.current = true;
      void auth.refresh();
    }
  }, [artistId, claims, auth]);
}

function useStudioArtist(): { artistId: string | null; isAdmin: boolean; canUse: boolean } {
  const { user } = useAccount();
  const roles = user?.roles ?? [];
  const isAdmin = roles.includes("ADMIN");
  const artistId = user?.artist_id ?? null;
  useArtistToken(artistId);
  return { artistId, isAdmin, canUse: isAdmin || (roles.includes("ARTIST") && artistId !== null) };
}

export function StudioPage() {
  const { api } = useServices();
  const { user } = useAccount();
  const studio = useStudioArtist();
  const [chosen, setChosen] = useState<string>("");
  const artists = useResource(() => (studio.isAdmin && !studio.artistId ? api.artists({ limit: 100 }) : Promise.resolve(null)), [studio.isAdmin, studio.artistId]);
  const artistId = studio.artistId ?? (chosen || null);
  const albums = useResource(
    () => (artistId ? api.albums({ artist_id: artistId, include_unpublished: true, sort: "-created", limit: 100 }) : Promise.resolve(null)),
    [artistId],
  );

  if (!user) return <Loading />;
  if (!studio.canUse) {
    return (
      <section>
        <PageHeading title="Studio">Studio</PageHeading>
        <p>The studio is for artists. An administrator links your account to an artist profile.</p>
      </section>
    );
  }
  return (
    <section>
      <PageHeading title="Studio">Studio</PageHeading>
      {studio.isAdmin && !studio.artistId && (
        <Loaded resource={artists}>
          {(page) => (
            <label class="field">
              <span>Artist</span>
              <select value={chosen} onChange={(e) => setChosen((e.currentTarget as HTMLSelectElement).value)}>
                <option value="">Choose an artist…</option>
                {page?.items.map((artist) => (
                  <option key={artist.id} value={artist.id}>
                    {artist.name}
                  </option>
                ))}
              </select>
            </label>
          )}
        </Loaded>
      )}
      {artistId && (
        <>
          <h2>Your albums</h2>
          <Loaded resource={albums}>
            {(page) =>
              page && page.items.length > 0 ? (
                <ul class="studio-list">
                  {page.items.map((album) => (
                    <li key={album.id}>
                      <Link href={paths.studioAlbum(album.id)}>{album.title}</Link>{" "}
                      <span class={`badge ${album.published ? "badge-ok" : ""}`}>{album.published ? "published" : "draft"}</span>
                    </li>
                  ))}
                </ul>
              ) : (
                <p class="muted">No albums yet.</p>
              )
            }
          </Loaded>
          <NewAlbumForm artistId={artistId} onCreated={albums.reload} />
        </>
      )}
    </section>
  );
}

function NewAlbumForm({ artistId, onCreated }: { artistId: string; onCreated: () => void }) {
  const { api } = useServices();
  const genres = useResource(() => api.genres(), []);
  const [title, setTitle] = useState("");
  const [type, setType] = useState("ALBUM");
  const [date, setDate] = useState("");
  const [genre, setGenre] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<Album | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const album = await api.createAlbum({
        artist_id: artistId,
        title,
        album_type: type,
        ...(date ? { release_date: date } : {}),
        genre_ids: genre ? [genre] : [],
      });
      setCreated(album);
      setTitle("");
      onCreated();
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel" onSubmit={submit}>
      <h2>New album</h2>
      <Field label="Album title" required value={title} onValue={setTitle} />
      <label class="field">
        <span>Type</span>
        <select value={type} onChange={(e) => setType((e.currentTarget as HTMLSelectElement).value)}>
          {ALBUM_TYPES.map((t) => (
            <option key={t} value={t}>
              {t.toLowerCase()}
            </option>
          ))}
        </select>
      </label>
      <Field label="Release date" type="date" value={date} onValue={setDate} />
      <label class="field">
        <span>Genre</span>
        <select value={genre} onChange={(e) => setGenre((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">None</option>
          {(genres.data ?? []).map((g) => (
            <option key={g.id} value={g.id}>
              {g.name}
            </option>
          ))}
        </select>
      </label>
      <ErrorNote error={error} />
      {created && (
        <p role="status">
          Created <Link href={paths.studioAlbum(created.id)}>{created.title}</Link>. Add its tracks there.
        </p>
      )}
      <button type="submit" class="button button-primary" disabled={busy || !title.trim()}>
        Create album
      </button>
    </form>
  );
}

export function StudioAlbumPage({ id }: { id: string }) {
  const { api } = useServices();
  useStudioArtist();
  const page = useResource(() => api.album(id), [id]);
  const [error, setError] = useState<unknown>(null);

  const toggleAlbum = async (album: Album) => {
    setError(null);
    try {
      await (album.published ? api.unpublishAlbum(album.id) : api.publishAlbum(album.id));
      page.reload();
    } catch (reason) {
      setError(reason);
    }
  };

  return (
    <Loaded resource={page}>
      {({ album, tracks }) => (
        <section>
          <p>
            <Link href={paths.studio()}>← Studio</Link>
          </p>
          <PageHeading title={`Studio: ${album.title}`}>{album.title}</PageHeading>
          <p>
            {album.published ? "Published" : "Draft"} ·{" "}
            <button type="button" class="button button-small" onClick={() => toggleAlbum(album)}>
              {album.published ? "Unpublish album" : "Publish album"}
            </button>{" "}
            <Link href={paths.album(album.id)}>View as a listener</Link>
          </p>
          <ErrorNote error={error} />
          <h2>Tracks</h2>
          {tracks.length === 0 && <p class="muted">No tracks yet.</p>}
          <ul class="studio-tracks">
            {tracks.map((track) => (
              <StudioTrack key={track.id} initial={track} />
            ))}
          </ul>
          <NewTrackForm albumId={album.id} nextNumber={Math.max(0, ...tracks.map((t) => t.track_number)) + 1} onCreated={page.reload} />
        </section>
      )}
    </Loaded>
  );
}

function NewTrackForm({ albumId, nextNumber, onCreated }: { albumId: string; nextNumber: number; onCreated: () => void }) {
  const { api } = useServices();
  const [title, setTitle] = useState("");
  const [number, setNumber] = useState(String(nextNumber));
  const [explicit, setExplicit] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => setNumber(String(nextNumber)), [nextNumber]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.createTrack({ album_id: albumId, title, track_number: Number(number), explicit });
      setTitle("");
      onCreated();
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel" onSubmit={submit}>
      <h2>New track</h2>
      <Field label="Track title" required value={title} onValue={setTitle} />
      <Field label="Track number" type="number" min={1} max={999} required value={number} onValue={setNumber} />
      <label class="inline-field">
        <input type="checkbox" checked={explicit} onChange={(e) => setExplicit((e.currentTarget as HTMLInputElement).checked)} />
        Explicit
      </label>
      <ErrorNote error={error} />
      <button type="submit" class="button button-primary" disabled={busy || !title.trim()}>
        Add track
      </button>
    </form>
  );
}

type Phase =
  | { kind: "idle" }
  | { kind: "preparing" }
  | { kind: "uploading"; sent: number; total: number }
  | { kind: "checking" }
  | { kind: "processing"; job: JobView | null }
  | { kind: "done" }
  | { kind: "failed"; message: string };

const FINISHED_TRACK = new Set(["READY", "FAILED"]);
/** The catalog moves only these to AWAITING_UPLOAD; a READY track keeps its audio. */
const UPLOADABLE = new Set(["DRAFT", "AWAITING_UPLOAD", "FAILED"]);

function StudioTrack({ initial }: { initial: Track }) {
  const { api, auth } = useServices();
  const [track, setTrack] = useState(initial);
  const [phase, setPhase] = useState<Phase>(initial.status === "PROCESSING" ? { kind: "processing", job: null } : { kind: "idle" });
  const [error, setError] = useState<unknown>(null);
  const abort = useRef<AbortController | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => () => abort.current?.abort(), []);

  /** Polls the job and the track until the catalog says READY or FAILED. */
  const watch = async (signal: AbortSignal) => {
    for (;;) {
      const [job, latest] = await Promise.all([api.processingStatus(track.id).catch(() => null), api.track(track.id)]);
      setTrack(latest);
      if (FINISHED_TRACK.has(latest.status)) {
        setPhase(latest.status === "READY" ? { kind: "done" } : { kind: "failed", message: latest.failure_reason ?? job?.error ?? "Processing failed." });
        return;
      }
      if (job?.status === "FAILED") {
        setPhase({ kind: "failed", message: job.error ?? "Processing failed." });
        return;
      }
      setPhase({ kind: "processing", job });
      await sleep(POLL_MS, signal);
    }
  };

  useEffect(() => {
    if (initial.status !== "PROCESSING") return;
    const controller = new AbortController();
    abort.current = controller;
    watch(controller.signal).catch((reason: unknown) => {
      if (!(reason instanceof DOMException)) setError(reason);
    });
    return () => controller.abort();
    // Only on mount: a track already processing when the page opened.
  }, []);

  /**
   * The audio service learns tracks from catalog events, a moment after request-upload:
   * until then it answers 422 (unknown track) or 409 (not awaiting upload yet), so retry.
   */
  const createTicket = async (file: File, signal: AbortSignal) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await api.createUpload({ track_id: track.id, size_bytes: file.size, content_type: uploadContentType(file) });
      } catch (reason) {
        const early = isApiError(reason) && (reason.problem.status === 422 || isApiError(reason, "audio/track-not-awaiting-upload"));
        if (!early || attempt >= 15) throw reason;
        await sleep(1000, signal);
      }
    }
  };

  const upload = async (file: File) => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setError(null);
    setPhase({ kind: "preparing" });
    try {
      if (track.status !== "AWAITING_UPLOAD") setTrack(await api.requestUpload(track.id));
      const ticket = await createTicket(file, controller.signal);
      setPhase({ kind: "uploading", sent: 0, total: file.size });
      await putFile({
        url: ticket.upload_url,
        file,
        headers: ticket.headers,
        bearer: await auth.accessToken(),
        onProgress: (sent, total) => setPhase({ kind: "uploading", sent, total }),
        signal: controller.signal,
      });
      setPhase({ kind: "checking" });
      const view = await api.completeUpload(ticket.upload_id);
      if (view.rejection) {
        setPhase({ kind: "failed", message: view.rejection });
        return;
      }
      setPhase({ kind: "processing", job: null });
      await watch(controller.signal);
    } catch (reason) {
      if (reason instanceof DOMException && reason.name === "AbortError") {
        setPhase({ kind: "idle" });
        return;
      }
      setPhase({ kind: "failed", message: errorMessage(reason) });
    }
  };

  const togglePublished = async () => {
    setError(null);
    try {
      setTrack(await (track.published ? api.unpublishTrack(track.id) : api.publishTrack(track.id)));
    } catch (reason) {
      setError(reason);
    }
  };

  const busy = phase.kind === "preparing" || phase.kind === "uploading" || phase.kind === "checking" || phase.kind === "processing";
  const inputId = `upload-${track.id}`;
  return (
    <li class="panel studio-track">
      <div class="studio-track-head">
        <strong>
          {track.track_number}. {track.title}
        </strong>
        <span class="badge">{track.status.toLowerCase().replace("_", " ")}</span>
        {track.published && <span class="badge badge-ok">published</span>}
        <span class="muted">{formatDuration(track.duration_ms)}</span>
        {track.loudness_lufs !== null && <span class="muted">{track.loudness_lufs.toFixed(1)} LUFS</span>}
      </div>
      {track.failure_reason && <p class="field-error">{track.failure_reason}</p>}
      <div class="studio-track-actions">
        {UPLOADABLE.has(track.status) && (
          <>
            <label for={inputId} class="button button-small">
              {track.status === "FAILED" ? "Upload again" : "Upload audio"}
            </label>
            <input
              ref={fileInput}
              id={inputId}
              class="visually-hidden-file"
              type="file"
              accept=".ogg,.oga,.opus,audio/ogg,application/ogg"
              aria-label={`Upload an Ogg file for ${track.title}`}
              disabled={busy}
              onChange={(event) => {
                const file = (event.currentTarget as HTMLInputElement).files?.[0];
                if (file) void upload(file);
                if (fileInput.current) fileInput.current.value = "";
              }}
            />
          </>
        )}
        {busy && (
          <button type="button" class="button button-small" onClick={() => abort.current?.abort()}>
            {phase.kind === "processing" ? "Stop watching" : "Cancel"}
          </button>
        )}
        {track.status === "READY" && (
          <button type="button" class="button button-small" onClick={togglePublished}>
            {track.published ? "Unpublish track" : "Publish track"}
          </button>
        )}
      </div>
      <UploadProgress phase={phase} />
      <ErrorNote error={error} />
    </li>
  );
}

function UploadProgress({ phase }: { phase: Phase }) {
  switch (phase.kind) {
    case "idle":
      return null;
    case "preparing":
      return <p role="status">Preparing the upload…</p>;
    case "uploading": {
      const percent = phase.total > 0 ? Math.round((phase.sent / phase.total) * 100) : 0;
      return (
        <div role="status">
          <label>
            Uploading {formatBytes(phase.sent)} of {formatBytes(phase.total)}
            <progress max={100} value={percent} aria-label="Upload progress">
              {percent}%
            </progress>
          </label>
        </div>
      );
    }
    case "checking":
      return <p role="status">Checking the file…</p>;
    case "processing": {
      const job = phase.job;
      const stage = job?.stage ? ` (${job.stage.replace(/_/g, " ")})` : "";
      return (
        <div role="status">
          <label>
            {job ? `Processing: ${job.status.toLowerCase()}${stage}` : "Waiting for processing to start…"}
            <progress max={100} value={job?.progress ?? undefined} aria-label="Processing progress" />
          </label>
        </div>
      );
    }
    case "done":
      return <p role="status">Ready to play. Publish the track (and its album) so listeners see it.</p>;
    case "failed":
      return (
        <p role="alert" class="field-error">
          {phase.message}
        </p>
      );
  }
}
