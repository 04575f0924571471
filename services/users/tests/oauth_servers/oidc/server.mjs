// A real OpenID provider (oidc-provider) for the users service's tests.
//
// Usage: node server.mjs [port]   (or OIDC_PORT; listens on 127.0.0.1 only)
// Client: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (space separated).
// Accounts: OIDC_ACCOUNTS, JSON {"<login_hint>": {"sub", "email", "email_verified", "name"}}.
//
// Tests cannot drive a browser, so the interaction step finishes by itself: it signs in
// the test account named by the authorization request's login_hint and grants the
// requested scopes. Everything else (the authorization endpoint, PKCE, codes, tokens,
// ID-token signing, JWKS, discovery) is oidc-provider's own.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";

import Provider from "oidc-provider";

const port = Number(process.argv[2] ?? process.env.OIDC_PORT);
const clientId = process.env.OIDC_CLIENT_ID;
const clientSecret = process.env.OIDC_CLIENT_SECRET;
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? "").split(" ").filter(Boolean);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? "{}");
if (
  !Number.isInteger(port) || port <= 0 || !clientId || !clientSecret || !redirectUris.length
  || !Object.keys(accounts).length
) {
  console.error("need a port and OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS, OIDC_ACCOUNTS");
  process.exit(2);
}
const accountsBySub = Object.fromEntries(Object.values(accounts).map((a) => [a.sub, a]));

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "test-rs256", alg: "RS256", use: "sig" };

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  pkce: { required: () => true },
  responseTypes: ["code"],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  // Google puts the email claims in the ID token; so does this provider.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const account = accountsBySub[sub];
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ ...account }) };
  },
});

async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const hint = details.params.login_hint;
  const account = Object.hasOwn(accounts, hint) ? accounts[hint] : undefined;
  if (!account) {
    await provider.interactionFinished(req, res, {
      error: "access_denied",
      error_description: "no such test account",
    });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: account.sub, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: account.sub }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const handle = provider.callback();
const server = createServer((req, res) => {
  if (req.url.startsWith("/interaction/")) {
    finishInteraction(req, res).catch((error) => {
      console.error(error);
      res.statusCode = 500;
      res.end("interaction failed");
    });
    return;
  }
  handle(req, res);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider ready at ${issuer}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
