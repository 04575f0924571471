"""The email templates: Jinja2 with autoescape, an HTML and a plain-text part per locale.

Templates live in ``spotilike/notifications/templates/<locale>/<name>.{subject.txt,txt,html}``.
HTML is autoescaped (a display name of ``<script>`` arrives as text); the plain-text
part and the subject are not HTML, so they are not escaped, and the subject is folded
onto one line. Undefined variables are errors, so a template never silently sends a
blank where a link should be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "TEMPLATES",
    "RenderedEmail",
    "Renderer",
    "TemplateKind",
    "locale_for",
]

LOCALES = ("en", "ru")
DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class TemplateKind:
    name: str
    transactional: bool
    """Transactional mail is owed whatever the user's mail preferences (a reset link, a
    failed payment on their account); the rest carries an unsubscribe link and is not
    sent to someone who unsubscribed."""


TEMPLATES: dict[str, TemplateKind] = {
    kind.name: kind
    for kind in (
        TemplateKind("welcome", transactional=False),
        TemplateKind("email_verification", transactional=True),
        TemplateKind("password_reset", transactional=True),
        TemplateKind("payment_reminder", transactional=True),
    )
}


def locale_for(language: str | None) -> str:
    """The supported locale closest to a user's language tag (``ru-RU`` → ``ru``)."""
    primary = (language or "").strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LOCALES else DEFAULT_LOCALE


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


_WHITESPACE = re.compile(r"\s+")


@pass_context
def _when(context: Context, value: str | datetime | None) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if context.get("locale") == "ru":
        return moment.strftime("%d.%m.%Y %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@pass_context
def _money(context: Context, amount_cents: int, currency: str) -> str:
    amount = f"{Decimal(amount_cents) / 100:.2f}"
    if context.get("locale") == "ru":
        return f"{amount.replace('.', ',')} {currency.upper()}"
    return f"{amount} {currency.upper()}"


class Renderer:
    def __init__(self, *, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        self._environment = Environment(
            loader=PackageLoader("spotilike.notifications", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
        )
        self._environment.filters["when"] = _when
        self._environment.filters["money"] = _money

    def link(self, path: str) -> str:
        """An absolute link on the platform: every link in an email is built here."""
        return self.public_url + "/" + path.lstrip("/")

    def page(self, name: str, *, locale: str) -> str:
        """A small HTML page this service answers a browser with (unsubscribe)."""
        context = {"locale": locale, "app_url": self.link("/")}
        return self._environment.get_template(f"{locale}/{name}.page.html").render(context)

    def render(
        self,
        template: str,
        *,
        locale: str,
        data: dict[str, Any],
        unsubscribe_url: str | None = None,
    ) -> RenderedEmail:
        if template not in TEMPLATES:
            raise KeyError(f"no email template {template!r}")
        if locale not in LOCALES:
            raise KeyError(f"no locale {locale!r}; supported: {', '.join(LOCALES)}")
        context = {
            **data,
            "locale": locale,
            "app_url": self.link("/"),
            "unsubscribe_url": unsubscribe_url,
        }
        subject = self._environment.get_template(f"{locale}/{template}.subject.txt").render(context)
        subject = _WHITESPACE.sub(" ", subject).strip()
        context["subject"] = subject
        text = self._environment.get_template(f"{locale}/{template}.txt").render(context)
        html = self._environment.get_template(f"{locale}/{template}.html").render(context)
        return RenderedEmail(subject=subject, text=text.strip() + "\n", html=html)
