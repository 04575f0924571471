"""Templates, locales, unsubscribe tokens and backoff: pure logic, no servers."""

# Russian text is what these tests check; its letters only look like Latin ones.
# ruff: noqa: RUF001

from __future__ import annotations

import uuid

import pytest

from spotilike.notifications.providers import OutgoingEmail
from spotilike.notifications.service.delivery import backoff
from spotilike.notifications.service.rendering import LOCALES, TEMPLATES, Renderer, locale_for
from spotilike.notifications.service.tokens import UnsubscribeTokens

pytestmark = pytest.mark.unit

PUBLIC = "https://music.example.org"

DATA = {
    "welcome": {"display_name": "Ada"},
    "email_verification": {
        "verification_url": f"{PUBLIC}/verify-email?token=v",
        "expires_at": "2030-01-02T03:04:00+00:00",
    },
    "password_reset": {
        "reset_url": f"{PUBLIC}/reset-password?token=r",
        "expires_at": "2030-01-02T03:04:00+00:00",
    },
    "payment_reminder": {
        "amount": 1299,
        "currency": "usd",
        "retry_at": None,
        "billing_url": f"{PUBLIC}/account/billing",
    },
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_in_every_locale_with_links_from_the_public_url(
    template: str, locale: str
) -> None:
    rendered = Renderer(public_url=PUBLIC + "/").render(
        template, locale=locale, data=DATA[template], unsubscribe_url=f"{PUBLIC}/u?token=t"
    )
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert f'<html lang="{locale}">' in rendered.html
    assert f"{PUBLIC}/" in rendered.text
    for link in (value for value in DATA[template].values() if str(value).startswith("http")):
        assert link in rendered.text
        assert f'href="{link}"' in rendered.html
    hrefs = [chunk.split('"', 1)[0] for chunk in rendered.html.split('href="')[1:]]
    assert hrefs
    assert all(href.startswith(PUBLIC + "/") for href in hrefs)


def test_english_and_russian_differ() -> None:
    renderer = Renderer(public_url=PUBLIC)
    english = renderer.render("password_reset", locale="en", data=DATA["password_reset"])
    russian = renderer.render("password_reset", locale="ru", data=DATA["password_reset"])
    assert english.subject == "Reset your Spotilike password"
    assert russian.subject == "Сброс пароля Spotilike"
    assert "02.01.2030 03:04 UTC" in russian.text
    assert "2030-01-02 03:04 UTC" in english.text


def test_names_are_escaped_in_html_and_kept_in_text() -> None:
    name = "<img src=x onerror=alert(1)>"
    rendered = Renderer(public_url=PUBLIC).render(
        "welcome", locale="en", data={"display_name": name}
    )
    assert "<img" not in rendered.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered.html
    assert name in rendered.text


def test_the_unsubscribe_link_appears_only_when_given() -> None:
    renderer = Renderer(public_url=PUBLIC)
    without = renderer.render("welcome", locale="en", data={"display_name": "A"})
    with_link = renderer.render(
        "welcome", locale="en", data={"display_name": "A"}, unsubscribe_url=f"{PUBLIC}/u?t=1"
    )
    assert "Unsubscribe" not in without.text
    assert f"{PUBLIC}/u?t=1" in with_link.text


def test_a_missing_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(Exception, match="reset_url"):
        Renderer(public_url=PUBLIC).render("password_reset", locale="en", data={})


@pytest.mark.parametrize(
    ("language", "locale"),
    [
        ("ru", "ru"),
        ("RU", "ru"),
        ("ru-RU", "ru"),
        ("ru_RU", "ru"),
        ("en-US", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_locale_for_picks_the_closest_supported_locale(language: str | None, locale: str) -> None:
    assert locale_for(language) == locale


def test_unsubscribe_tokens_round_trip_and_refuse_tampering() -> None:
    tokens = UnsubscribeTokens("secret-one")
    user = uuid.uuid4()
    token = tokens.issue(user)
    assert tokens.verify(token) == user
    other_user = tokens.issue(uuid.uuid4()).split(".")[0]
    assert tokens.verify(other_user + "." + token.split(".")[1]) is None
    assert UnsubscribeTokens("secret-two").verify(token) is None
    for garbage in ("", ".", "a.b", token + "x", token.replace(".", ""), "é.é", "a" * 500):
        assert tokens.verify(garbage) is None


def test_backoff_grows_is_capped_and_jittered() -> None:
    for attempt in range(1, 12):
        bound = min(100.0, 2.0 * 2 ** (attempt - 1))
        delays = {backoff(attempt, base=2.0, maximum=100.0) for _ in range(50)}
        assert all(bound / 2 <= delay <= bound for delay in delays)
        assert len(delays) > 1


def test_the_mime_message_is_text_then_html_with_our_headers() -> None:
    message = OutgoingEmail(
        sender="Spotilike <no-reply@spotilike.dev>",
        recipient="ada@example.com",
        subject="Привет",
        text="plain",
        html="<p>html</p>",
        message_id="<1@spotilike.dev>",
        language="ru",
        headers={"List-Unsubscribe": "<https://x/u>"},
    ).mime()
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Content-Language"] == "ru"
    assert message["Subject"] == "Привет"
    assert message["List-Unsubscribe"] == "<https://x/u>"
