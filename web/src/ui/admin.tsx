import { useState } from "preact/hooks";

import { ROLES, type AdminUser, type Artist } from "../lib/endpoints";
import { useAccount, useServices } from "./app-context";
import { ErrorNote, Loaded, LoadMore, PageHeading } from "./common";
import { Icon } from "./icons";
import { useResource } from "./resource";

export function AdminPage() {
  const { api } = useServices();
  const { user } = useAccount();
  const [query, setQuery] = useState("");
  const [submitted, setSubmitted] = useState("");
  const first = useResource(() => api.adminUsers({ query: submitted || undefined, limit: 50 }), [submitted]);
  const artists = useResource(() => api.artists({ limit: 100 }), []);
  const [more, setMore] = useState<{ key: unknown; items: AdminUser[]; cursor: string | null } | null>(null);
  const [replaced, setReplaced] = useState<Record<string, AdminUser>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  if (user && !user.roles.includes("ADMIN")) {
    return (
      <section>
        <PageHeading title="Users">Users</PageHeading>
        <p>Only administrators manage users.</p>
      </section>
    );
  }

  const extra = more && more.key === first.data ? more : null;
  const items = [...(first.data?.items ?? []), ...(extra?.items ?? [])].map((u) => replaced[u.id] ?? u);
  const cursor = extra ? extra.cursor : (first.data?.next_cursor ?? null);

  const loadMore = async () => {
    setBusy(true);
    try {
      const page = await api.adminUsers({ query: submitted || undefined, after: cursor, limit: 50 });
      setMore({ key: first.data, items: [...(extra?.items ?? []), ...page.items], cursor: page.next_cursor });
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };

  const changed = (updated: AdminUser) => setReplaced((all) => ({ ...all, [updated.id]: updated }));

  return (
    <section>
      <PageHeading title="Users">Users and roles</PageHeading>
      <form
        role="search"
        class="row"
        onSubmit={(event) => {
          event.preventDefault();
          setSubmitted(query.trim());
        }}
      >
        <label class="inline-field">
          <span>Find users</span>
          <input type="search" value={query} placeholder="email or name" onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="button">
          Find
        </button>
      </form>
      <ErrorNote error={error} />
      <Loaded resource={first}>
        {() => (
          <div class="table-wrap">
            <table class="users">
              <caption class="visually-hidden">Users</caption>
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Grant</th>
                  <th scope="col">Account</th>
                </tr>
              </thead>
              <tbody>
                {items.map((row) => (
                  <UserRow key={row.id} row={row} artists={artists.data?.items ?? []} onChanged={changed} onArtistCreated={artists.reload} />
                ))}
              </tbody>
            </table>
            {items.length === 0 && <p class="muted">No users match.</p>}
          </div>
        )}
      </Loaded>
      <LoadMore cursor={cursor} onMore={loadMore} busy={busy} />
    </section>
  );
}

function UserRow({ row, artists, onChanged, onArtistCreated }: { row: AdminUser; artists: Artist[]; onChanged: (u: AdminUser) => void; onArtistCreated: () => void }) {
  const { api } = useServices();
  const [role, setRole] = useState<string>("ARTIST");
  const [artistId, setArtistId] = useState<string>("");
  const [newArtist, setNewArtist] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<AdminUser>) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await action());
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };

  const grantable: string[] = ROLES.filter((r) => !row.roles.includes(r));
  const selected = grantable.includes(role) ? role : (grantable[0] ?? "");

  const grant = () =>
    run(async () => {
      let target = artistId;
      if (selected === "ARTIST" && !target) {
        if (!newArtist.trim()) throw new Error("Choose an artist, or name a new one.");
        target = (await api.createArtist({ name: newArtist.trim() })).id;
        onArtistCreated();
      }
      return api.grantRole(row.id, selected, selected === "ARTIST" ? target : undefined);
    });

  const label = row.display_name || row.email;
  return (
    <tr>
      <td>
        <strong>{row.display_name}</strong>
        <br />
        <span class="muted">{row.email}</span>
        {!row.email_verified && <span class="badge">unverified</span>}
      </td>
      <td>
        <ul class="chips" role="list">
          {row.roles.map((r) => (
            <li key={r} class="chip">
              {r}
              {r !== "USER" && (
                <button type="button" class="chip-remove" aria-label={`Revoke ${r} from ${label}`} disabled={busy} onClick={() => run(() => api.revokeRole(row.id, r))}>
                  <Icon name="close" />
                </button>
              )}
            </li>
          ))}
        </ul>
      </td>
      <td>
        {grantable.length > 0 ? (
          <div class="grant">
            <select aria-label={`Role to grant ${label}`} value={selected} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value)}>
              {grantable.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            {selected === "ARTIST" && (
              <>
                <select aria-label={`Artist for ${label}`} value={artistId} onChange={(e) => setArtistId((e.currentTarget as HTMLSelectElement).value)}>
                  <option value="">New artist…</option>
                  {artists.map((a) => (
                    <option key={a.id} value={a.id}>
                      {a.name}
                    </option>
                  ))}
                </select>
                {!artistId && (
                  <input aria-label={`New artist name for ${label}`} placeholder="artist name" value={newArtist} onInput={(e) => setNewArtist((e.currentTarget as HTMLInputElement).value)} />
                )}
              </>
            )}
            <button
              type="button"
              class="button button-small"
              disabled={busy}
              onClick={() => void grant()}
            >
              Grant
            </button>
          </div>
        ) : (
          <span class="muted">All roles</span>
        )}
        {error !== null && <ErrorNote error={error} />}
      </td>
      <td>
        {row.disabled ? <span class="badge">disabled</span> : <span class="badge badge-ok">active</span>}{" "}
        <button type="button" class="button button-small" disabled={busy} onClick={() => run(() => (row.disabled ? api.enableUser(row.id) : api.disableUser(row.id)))}>
          {row.disabled ? `Enable` : `Disable`}
          <span class="visually-hidden"> {label}</span>
        </button>
      </td>
    </tr>
  );
}
