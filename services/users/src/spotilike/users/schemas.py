"""The users service's API models, separate from its tables.

Request models forbid unknown fields: a client that sends ``roles`` or ``email_verified``
to a profile update gets a 422 naming the field, never a silent privilege change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    TypeAdapter,
)

from spotilike.users.models import Role

__all__ = [
    "AccountDeletion",
    "AdminUser",
    "EmailVerification",
    "FormToken",
    "Login",
    "OAuthExchange",
    "PasswordForgotten",
    "PasswordReset",
    "ProfileUpdate",
    "PublicProfile",
    "Refresh",
    "Registered",
    "Registration",
    "RiskSignal",
    "RoleGrant",
    "SessionView",
    "Settings",
    "SettingsUpdate",
    "TokenPair",
    "UserPage",
    "UserView",
]

# PostgreSQL text cannot hold U+0000, so no text field takes it (a 422, not a 500); a
# display name needs one character that str.strip() keeps, as the schema says.
_NOT_SPACE = (
    r"[^\x00\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
DisplayName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=100,
        pattern=rf"^[^\x00]*{_NOT_SPACE}[^\x00]*$",
    ),
]


def _encodable(value: str) -> str:
    # JSON can spell lone UTF-16 surrogates ("\\ud800") that no UTF-8 hash input can hold.
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("contains an unpaired surrogate; send valid Unicode") from None
    return value


Password = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_encodable)]
"""Only a bound here: the policy (8 to 128, not common) is checked with a clear message."""
NewPassword = Annotated[
    str,
    Field(min_length=1, max_length=1024, json_schema_extra={"minLength": 8, "maxLength": 128}),
    AfterValidator(_encodable),
]
"""The same bound; the schema also states the policy's lengths, which the policy enforces."""
OpaqueToken = Annotated[str, Field(min_length=1, max_length=128)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Language = Annotated[
    str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=16, description="BCP 47")
]
StreamingQuality = Literal[96, 160, 320]
Email = Annotated[EmailStr, Field(max_length=320)]
LooseEmail = Annotated[str, Field(min_length=1, max_length=320, pattern=r"^[^\x00]*$")]
"""Login and reset take any string: telling a malformed address apart would be an oracle."""
IpAddress = Annotated[str, BeforeValidator(str)]
"""asyncpg gives INET columns as ipaddress objects."""
ClientField = Annotated[str | None, Field(default=None, max_length=512)]


_HTTP_URL = TypeAdapter(AnyHttpUrl)


def _http_url(value: str) -> str:
    _HTTP_URL.validate_python(value)
    return value


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Registration(_Request):
    email: Email
    password: NewPassword
    display_name: DisplayName
    language: Language = "en"
    country: Country | None = None
    form_token: ClientField = None
    """From GET /auth/form-token when the form was shown; it dates the form fill."""
    website: ClientField = None
    """A honeypot: the web form hides this field, so only a bot fills it in."""


class Login(_Request):
    email: LooseEmail
    password: Password
    form_token: ClientField = None
    website: ClientField = None


class Refresh(_Request):
    refresh_token: OpaqueToken


class PasswordForgotten(_Request):
    email: LooseEmail


class PasswordReset(_Request):
    token: OpaqueToken
    password: NewPassword


class EmailVerification(_Request):
    token: OpaqueToken


class OAuthExchange(_Request):
    code: OpaqueToken


class AccountDeletion(_Request):
    password: Password | None = None
    """Required for accounts that have a password."""


class ProfileUpdate(_Request):
    display_name: DisplayName | None = None
    avatar_url: (
        Annotated[
            str,
            Field(min_length=1, max_length=2048, json_schema_extra={"format": "uri"}),
            AfterValidator(_http_url),
        ]
        | None
    ) = None
    country: Country | None = None
    language: Language | None = None


class SettingsUpdate(_Request):
    language: Language | None = None
    explicit_content_allowed: StrictBool | None = None
    streaming_quality_kbps: StreamingQuality | None = None
    private_session: StrictBool | None = None


class ArtistGrant(_Request):
    role: Literal[Role.ARTIST]
    artist_id: UUID
    """The catalog artist this user manages."""


class PlainGrant(_Request):
    role: Literal[Role.USER, Role.ADMIN]
    artist_id: None = None


RoleGrant = Annotated[ArtistGrant | PlainGrant, Field(discriminator="role")]


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the RFC 6750 scheme name
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class FormToken(BaseModel):
    form_token: str


class Settings(BaseModel):
    language: str
    explicit_content_allowed: bool
    streaming_quality_kbps: int
    private_session: bool


class UserView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    email_verified: bool
    display_name: str
    avatar_url: str | None
    country: str | None
    language: str
    roles: list[str]
    artist_id: UUID | None
    has_password: bool
    created_at: datetime


class PublicProfile(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    display_name: str
    avatar_url: str | None


class AdminUser(UserView):
    disabled: bool
    stripe_customer_id: str | None
    revision: int


class Registered(BaseModel):
    user: UserView
    tokens: TokenPair


class UserPage(BaseModel):
    items: list[AdminUser]
    next_cursor: UUID | None


class SessionView(BaseModel):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: IpAddress | None
    method: str
    current: bool


class RiskSignal(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    action: str
    ip: IpAddress
    user_agent: str | None
    accept_language: str | None
    fingerprint_hash: str | None
    decision: str
    score: int
    reasons: list[str]
    created_at: datetime
