"""Bot and abuse scoring for registration and login.

Each request is reduced to :class:`ClientSignals`; :class:`RiskAssessor` turns them into a
score (the sum of the weights of the signals that fired) and a :class:`Decision`. With the
default thresholds (``risk_challenge_score`` 40, ``risk_block_score`` 80) the weights are
chosen so that no signal a real person can trip blocks on its own, the signals a script
trips without trying challenge on their own, and two independent strong signals block.

The signals, with their weights:

``honeypot-filled`` (100, and always BLOCK)
    The form has a field hidden from people. Only software that fills in every field it
    finds writes anything there, so this is the one signal that is decisive by itself,
    whatever the thresholds are configured to.
``automation-user-agent`` (60)
    The client names itself as an HTTP library, a headless or driven browser, or a
    crawler. A real browser never does; a developer trying the API with curl can still
    pass the challenge, so this challenges rather than blocks.
``fingerprint-velocity`` (60, registration)
    More than ``risk_fingerprint_registrations_per_hour`` registrations from one browser
    fingerprint in the last hour. A fingerprint is one device, so a person has no reason
    to cross this; it is not BLOCK alone because fingerprints collide on identical
    managed machines (school labs, kiosks).
``ip-velocity`` (50)
    More than ``risk_ip_registrations_per_hour`` registrations in the last hour, or more
    than ``risk_ip_logins_per_minute`` logins in the last minute, from one address (an
    IPv6 address counts as its /64, the block one subscriber gets). Weighted below the
    fingerprint because offices, campuses and carrier-grade NAT put many people behind one
    address.
``form-filled-too-fast`` (50, registration)
    The form token is younger than ``risk_min_form_fill_seconds``: nobody types an email
    and a password that quickly. Logins are exempt, since password managers fill and
    submit a login form at once.
``disposable-email`` (40)
    The address is at a throwaway-mail domain (the ``disposable-email-domains`` list, or a
    subdomain of one of its entries). Some people use those for privacy, hence a
    challenge and not a block; together with any other strong signal it blocks.
``missing-user-agent`` (40)
    No ``User-Agent`` at all. Every browser sends one; bare scripts often do not.
``form-token-invalid`` (40)
    A form token that does not verify: tampered, signed with another secret, malformed, or
    older than its maximum age. A person with a form left open for hours lands here too,
    which is why this challenges and does not block.
``domain-velocity`` (30, registration)
    More than ``risk_domain_registrations_per_hour`` registrations at one email domain in
    the last hour, which is how a catch-all domain of a bot farm shows. Below the
    challenge score on its own, because big mail providers cross any fixed limit on a busy
    day; it only tips a request that is already suspicious.
``form-token-missing`` (30)
    No form token: the request was not made from a form the web player rendered. A
    client of our own that skips the form is possible, so this is weak alone.
``missing-fingerprint`` (20)
    No fingerprint: the page's script did not run, as with most scripted clients, but
    also with some privacy extensions.
``no-accept-language`` (15)
    No ``Accept-Language``. Browsers always send it, privacy tools sometimes strip it, so
    it only adds to other evidence.
``velocity-unavailable`` (0)
    Valkey could not be reached, so no velocity signal was computed. It carries no weight
    because an outage of ours says nothing about the client; it is reported so that logs
    and callers can see the assessment was partial.

Velocity is counted with a sliding-window log in Valkey: one sorted set per counter,
scored by time. Every assessment records an attempt (attempts, not successful sign-ups,
are what a bot produces in bulk), drops entries older than the window, and trims the set
to its newest ``limit + 1`` entries: the count of the window exceeds the limit exactly when
those newest ``limit + 1`` all lie inside it, so the trimmed set gives the same answer while
its memory stays bounded however hard one address hammers.

The package's modules: :mod:`.signals` (the request's signals and the reason codes with
their weights), :mod:`.form_tokens`, :mod:`.user_agents`, :mod:`.email_domains`,
:mod:`.velocity` (the Valkey windows) and :mod:`.assessor` (score and decision).
"""

from spotilike.users.risk.assessor import Decision, RiskAssessment, RiskAssessor
from spotilike.users.risk.email_domains import is_disposable_domain
from spotilike.users.risk.form_tokens import FORM_TOKEN_MAX_AGE_SECONDS, FormTokens
from spotilike.users.risk.signals import REASON_WEIGHTS, ClientSignals, Reason
from spotilike.users.risk.user_agents import is_automation_user_agent
from spotilike.users.risk.velocity import DEFAULT_KEY_PREFIX

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "FORM_TOKEN_MAX_AGE_SECONDS",
    "REASON_WEIGHTS",
    "ClientSignals",
    "Decision",
    "FormTokens",
    "Reason",
    "RiskAssessment",
    "RiskAssessor",
    "is_automation_user_agent",
    "is_disposable_domain",
]
