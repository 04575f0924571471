import { useState } from "preact/hooks";

import type { UserSettings } from "../lib/endpoints";
import { useAccount, useServices } from "./app-context";
import { ErrorNote, Loaded, PageHeading } from "./common";
import { useResource } from "./resource";

export function AccountPage() {
  const { api } = useServices();
  const { user } = useAccount();
  const settings = useResource(() => api.settings(), []);
  const [saved, setSaved] = useState<UserSettings | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const change = async (changes: Partial<UserSettings>) => {
    setError(null);
    try {
      setSaved(await api.updateSettings(changes));
      setNotice("Saved.");
    } catch (reason) {
      setError(reason);
    }
  };

  const resend = async () => {
    setError(null);
    try {
      await api.resendVerification();
      setNotice("A new confirmation link is on its way.");
    } catch (reason) {
      setError(reason);
    }
  };

  return (
    <section class="narrow">
      <PageHeading title="Account">Account</PageHeading>
      {user && (
        <dl class="facts">
          <dt>Name</dt>
          <dd>{user.display_name}</dd>
          <dt>Email</dt>
          <dd>
            {user.email} {user.email_verified ? <span class="badge badge-ok">confirmed</span> : <span class="badge">not confirmed</span>}
            {!user.email_verified && (
              <button type="button" class="button button-small" onClick={resend}>
                Resend confirmation
              </button>
            )}
          </dd>
          <dt>Roles</dt>
          <dd>{user.roles.join(", ")}</dd>
        </dl>
      )}
      <h2>Playback</h2>
      <Loaded resource={settings}>
        {(loaded) => {
          const current = saved ?? loaded;
          return (
            <form onSubmit={(e) => e.preventDefault()}>
              <label class="field">
                <span>Streaming quality</span>
                <select value={String(current.streaming_quality_kbps)} onChange={(e) => change({ streaming_quality_kbps: Number((e.currentTarget as HTMLSelectElement).value) })}>
                  <option value="96">Low (96 kb/s)</option>
                  <option value="160">Normal (160 kb/s)</option>
                  <option value="320">High (320 kb/s)</option>
                </select>
              </label>
              <label class="inline-field">
                <input type="checkbox" checked={current.explicit_content_allowed} onChange={(e) => change({ explicit_content_allowed: (e.currentTarget as HTMLInputElement).checked })} />
                Allow explicit content
              </label>
              <label class="inline-field">
                <input type="checkbox" checked={current.private_session} onChange={(e) => change({ private_session: (e.currentTarget as HTMLInputElement).checked })} />
                Private session
              </label>
            </form>
          );
        }}
      </Loaded>
      {notice && <p role="status">{notice}</p>}
      <ErrorNote error={error} />
    </section>
  );
}
