/** The backend's resources as the player uses them; paths are the gateway's. */

import type { ApiClient } from "./api";
import type { TokenPair } from "./tokens";

export interface ArtistRef {
  id: string;
  name: string;
}

export interface Artist {
  id: string;
  name: string;
  bio: string | null;
  image_url: string | null;
  country: string | null;
  created_at: string;
}

export interface Album {
  id: string;
  artist: ArtistRef;
  title: string;
  album_type: string;
  release_date: string | null;
  upc: string | null;
  cover_url: string | null;
  label: string | null;
  genres: string[];
  published: boolean;
  created_at: string;
}

export interface Track {
  id: string;
  album_id: string;
  album_title: string;
  artist: ArtistRef;
  featured_artists: ArtistRef[];
  title: string;
  track_number: number;
  disc_number: number;
  isrc: string | null;
  explicit: boolean;
  genres: string[];
  status: string;
  published: boolean;
  duration_ms: number | null;
  renditions_kbps: number[];
  loudness_lufs: number | null;
  gain_db: number | null;
  failure_reason: string | null;
  created_at: string;
  /** Not in the catalog's track view: the player copies it from the album it came from. */
  cover_url?: string | null;
}

export interface Genre {
  id: string;
  slug: string;
  name: string;
  parent_id: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface AlbumPage {
  album: Album;
  tracks: Track[];
}

export interface ArtistPage {
  artist: Artist;
  albums: Album[];
  top_tracks: Track[];
}

export interface SearchResults {
  query: string;
  artists: Artist[];
  albums: Album[];
  tracks: Track[];
}

export interface User {
  id: string;
  email: string;
  email_verified: boolean;
  display_name: string;
  avatar_url: string | null;
  country: string | null;
  language: string;
  roles: string[];
  artist_id: string | null;
  has_password: boolean;
  created_at: string;
}

export interface AdminUser extends User {
  disabled: boolean;
  stripe_customer_id: string | null;
  revision: number;
}

export interface UserSettings {
  language: string;
  explicit_content_allowed: boolean;
  streaming_quality_kbps: number;
  private_session: boolean;
}

export interface UploadTicket {
  upload_id: string;
  upload_url: string;
  method: "PUT";
  headers: Record<string, string>;
  expires_at: string;
  max_bytes: number;
}

export interface UploadView {
  upload_id: string;
  track_id: string;
  status: string;
  size_bytes: number;
  received_bytes: number;
  progress: number;
  rejection: string | null;
}

export interface JobView {
  track_id: string;
  upload_id: string;
  status: string;
  stage: string | null;
  progress: number;
  stage_seconds: Record<string, number>;
  error: string | null;
  error_stage: string | null;
  attempts: number;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export const ROLES = ["USER", "ARTIST", "ADMIN"] as const;

const id = encodeURIComponent;

export function endpoints(api: ApiClient) {
  return {
    formToken: () => api.get<{ form_token: string }>("/auth/form-token", { auth: "none" }),
    login: (body: { email: string; password: string; form_token?: string; website?: string }) =>
      api.post<TokenPair>("/auth/login", body, { auth: "none" }),
    register: (body: {
      email: string;
      password: string;
      display_name: string;
      form_token?: string;
      website?: string;
    }) => api.post<{ user: User; tokens: TokenPair }>("/auth/register", body, { auth: "none" }),
    forgotPassword: (email: string) => api.post<unknown>("/auth/password/forgot", { email }, { auth: "none" }),
    resetPassword: (token: string, password: string) =>
      api.post<void>("/auth/password/reset", { token, password }, { auth: "none" }),
    verifyEmail: (token: string) => api.post<void>("/auth/email/verify", { token }, { auth: "none" }),
    resendVerification: () => api.post<unknown>("/users/me/email/verification", undefined, { auth: "required" }),
    oauthExchange: (code: string) => api.post<TokenPair>("/auth/oauth/exchange", { code }, { auth: "none" }),
    oauthStartUrl: (provider: string, next?: string) =>
      `/auth/oauth/${id(provider)}/start${next ? `?${new URLSearchParams({ next })}` : ""}`,

    me: () => api.get<User>("/users/me", { auth: "required" }),
    settings: () => api.get<UserSettings>("/users/me/settings", { auth: "required" }),
    updateSettings: (changes: Partial<UserSettings>) =>
      api.patch<UserSettings>("/users/me/settings", changes, { auth: "required" }),

    artists: (query: { cursor?: string | null; sort?: string; limit?: number } = {}) =>
      api.get<Page<Artist>>("/catalog/artists", { query }),
    artist: (artistId: string) => api.get<ArtistPage>(`/catalog/artists/${id(artistId)}`),
    albums: (
      query: {
        artist_id?: string;
        genre_id?: string;
        cursor?: string | null;
        sort?: string;
        limit?: number;
        include_unpublished?: boolean;
      } = {},
    ) => api.get<Page<Album>>("/catalog/albums", { query }),
    album: (albumId: string) => api.get<AlbumPage>(`/catalog/albums/${id(albumId)}`),
    tracks: (query: { album_id?: string; artist_id?: string; genre_id?: string; cursor?: string | null; limit?: number }) =>
      api.get<Page<Track>>("/catalog/tracks", { query }),
    track: (trackId: string) => api.get<Track>(`/catalog/tracks/${id(trackId)}`),
    genres: () => api.get<Genre[]>("/catalog/genres"),
    search: (q: string) => api.get<SearchResults>("/catalog/search", { query: { q } }),

    createArtist: (body: { name: string; bio?: string; country?: string }) =>
      api.post<Artist>("/catalog/artists", body, { auth: "required" }),
    createAlbum: (body: { artist_id: string; title: string; album_type?: string; release_date?: string; genre_ids?: string[] }) =>
      api.post<Album>("/catalog/albums", body, { auth: "required" }),
    publishAlbum: (albumId: string) => api.post<Album>(`/catalog/albums/${id(albumId)}/publish`, undefined, { auth: "required" }),
    unpublishAlbum: (albumId: string) =>
      api.post<Album>(`/catalog/albums/${id(albumId)}/unpublish`, undefined, { auth: "required" }),
    createTrack: (body: { album_id: string; title: string; track_number: number; explicit?: boolean }) =>
      api.post<Track>("/catalog/tracks", body, { auth: "required" }),
    requestUpload: (trackId: string) =>
      api.post<Track>(`/catalog/tracks/${id(trackId)}/request-upload`, undefined, { auth: "required" }),
    publishTrack: (trackId: string) => api.post<Track>(`/catalog/tracks/${id(trackId)}/publish`, undefined, { auth: "required" }),
    unpublishTrack: (trackId: string) =>
      api.post<Track>(`/catalog/tracks/${id(trackId)}/unpublish`, undefined, { auth: "required" }),

    createUpload: (body: { track_id: string; size_bytes: number; content_type: string }) =>
      api.post<UploadTicket>("/audio/uploads", body, { auth: "required" }),
    completeUpload: (uploadId: string) =>
      api.post<UploadView>(`/audio/uploads/${id(uploadId)}/complete`, undefined, { auth: "required" }),
    processingStatus: (trackId: string) => api.get<JobView>(`/audio/processing/status/${id(trackId)}`, { auth: "required" }),

    adminUsers: (query: { query?: string; after?: string | null; limit?: number }) =>
      api.get<{ items: AdminUser[]; next_cursor: string | null }>("/admin/users", { query, auth: "required" }),
    grantRole: (userId: string, role: string, artistId?: string) =>
      api.post<AdminUser>(
        `/admin/users/${id(userId)}/roles`,
        role === "ARTIST" ? { role, artist_id: artistId } : { role },
        { auth: "required" },
      ),
    revokeRole: (userId: string, role: string) =>
      api.delete<AdminUser>(`/admin/users/${id(userId)}/roles/${id(role)}`, { auth: "required" }),
    disableUser: (userId: string) => api.post<AdminUser>(`/admin/users/${id(userId)}/disable`, undefined, { auth: "required" }),
    enableUser: (userId: string) => api.post<AdminUser>(`/admin/users/${id(userId)}/enable`, undefined, { auth: "required" }),

    playEvent: (trackId: string, event: unknown) =>
      api.post<unknown>(`/stream/${id(trackId)}/events`, event, { auth: "required" }),
    peaks: (trackId: string) => api.get<unknown>(peaksUrl(trackId), { auth: "required" }),
    masterLink: (trackId: string) => api.get<MasterLink>(`/stream/${id(trackId)}/master-link`, { auth: "required" }),
  };
}

export type Endpoints = ReturnType<typeof endpoints>;

/** A header-less signed master.m3u8 URL, for a browser that plays HLS itself. */
export interface MasterLink {
  url: string;
  expires_in_seconds: number;
  qualities_kbps: number[];
}

export function masterUrl(trackId: string): string {
  return `/stream/${id(trackId)}/master.m3u8`;
}

/**
 * Nothing serves peaks to browsers yet; the player assumes the streaming service will, next
 * to the playlists, with the same JWT rights check (see README).
 */
export function peaksUrl(trackId: string): string {
  return `/stream/${id(trackId)}/peaks.json`;
}
