"""Sign-in with Google (OpenID Connect) and GitHub (OAuth 2.0): the provider side of the flow.

:meth:`OAuthFlows.start` builds the provider's authorization URL and remembers the attempt
in Valkey under its ``state``; :meth:`OAuthFlows.finish` takes the provider's callback,
consumes that record exactly once, exchanges the code and returns who the provider says
the user is. Linking that identity to an account is the caller's business; an identity
whose ``email_verified`` is false must never be linked to an account by its email.

Both flows send ``state`` and a PKCE S256 challenge; Google's also sends a ``nonce`` and its
ID token is checked in full (RS256 signature against the provider's JWKS, ``iss``, ``aud``,
``azp``, ``exp``, ``iat``, ``nonce``). Each attempt is tied to the browser that started it by
``binding``: a random value the API keeps in an HttpOnly cookie, of which only a hash is
stored.

Authlib builds the protocol messages and joserfc (Authlib's own JOSE library) checks the ID
token. The HTTP calls go through a plain ``httpx.AsyncClient`` with a timeout on each,
because Authlib's ready-made httpx client warns on import that its httpx support is
deprecated in favour of the httpx2 package, which this project does not use.

The package's modules: :mod:`.flows` (start and finish, the attempt in Valkey),
:mod:`.google` and :mod:`.github` (each provider's side of the callback),
:mod:`.provider_http` (the calls to the providers), :mod:`.identity`, :mod:`.errors` and
:mod:`.next_path` (where the browser may go afterwards).
"""

from spotilike.users.oauth.errors import OAuthError, OAuthErrorCode
from spotilike.users.oauth.flows import AuthorizationStart, OAuthFlows
from spotilike.users.oauth.identity import ExternalIdentity
from spotilike.users.oauth.next_path import safe_next_path

__all__ = [
    "AuthorizationStart",
    "ExternalIdentity",
    "OAuthError",
    "OAuthErrorCode",
    "OAuthFlows",
    "safe_next_path",
]
