/**
 * Runtime options of a deployment. No endpoint tells the browser which sign-in providers
 * have real client ids, so the deployment says it: an optional `/config.json` beside
 * index.html (`{"oauth_providers": ["google", "github"]}`), else the build-time
 * `VITE_OAUTH_PROVIDERS` ("google,github"), else none.
 */

export const KNOWN_PROVIDERS = ["google", "github"] as const;
export type Provider = (typeof KNOWN_PROVIDERS)[number];

export interface PlayerConfig {
  oauthProviders: Provider[];
}

export function providersFrom(value: unknown): Provider[] {
  const list = typeof value === "string" ? value.split(",") : Array.isArray(value) ? value : [];
  const wanted = new Set(list.map((item) => String(item).trim().toLowerCase()));
  return KNOWN_PROVIDERS.filter((provider) => wanted.has(provider));
}

export function parseConfig(json: unknown, buildDefault: string | undefined): PlayerConfig {
  if (typeof json === "object" && json !== null && "oauth_providers" in json) {
    return { oauthProviders: providersFrom((json as { oauth_providers: unknown }).oauth_providers) };
  }
  return { oauthProviders: providersFrom(buildDefault ?? "") };
}

export async function loadConfig(fetcher: typeof fetch = fetch): Promise<PlayerConfig> {
  const buildDefault = import.meta.env.VITE_OAUTH_PROVIDERS as string | undefined;
  try {
    const response = await fetcher("/config.json", { headers: { Accept: "application/json" } });
    // Without the file the gateway's single-page fallback answers with index.html.
    const isJson = (response.headers.get("content-type") ?? "").includes("json");
    return parseConfig(response.ok && isJson ? await response.json() : null, buildDefault);
  } catch {
    return parseConfig(null, buildDefault);
  }
}
