"""The domain of an email address, and whether it belongs to a throwaway-mail service."""

from __future__ import annotations

from disposable_email_domains import blocklist as _disposable_domains

__all__ = ["email_domain", "is_disposable_domain"]


def is_disposable_domain(domain: str) -> bool:
    """True for a listed throwaway-mail domain and for any subdomain of one."""
    labels = domain.strip().lower().rstrip(".").split(".")
    # Each parent domain is looked up in turn (a.b.example.com, b.example.com, example.com);
    # the bare top-level label is never a listed entry.
    return any(".".join(labels[i:]) in _disposable_domains for i in range(len(labels) - 1))


def email_domain(email: str) -> str:
    _, at, domain = email.strip().rpartition("@")
    return domain.lower().rstrip(".") if at else ""
