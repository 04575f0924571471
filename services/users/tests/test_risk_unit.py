"""Form tokens, user-agent and domain checks, and how request signals turn into a decision.

Velocity needs Valkey and is covered by test_risk_integration.py; here the assessor talks
to a closed port, so velocity is always reported unavailable and weighs nothing.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from spotilike.users.risk import (
    FORM_TOKEN_MAX_AGE_SECONDS,
    REASON_WEIGHTS,
    ClientSignals,
    Decision,
    FormTokens,
    Reason,
    RiskAssessor,
    is_automation_user_agent,
    is_disposable_domain,
)
from spotilike.users.settings import UsersSettings

pytestmark = pytest.mark.unit

SECRET = "unit-test-form-secret"
BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def form_tokens(clock: FakeClock) -> FormTokens:
    return FormTokens(SECRET, clock=clock)


@pytest.fixture
async def unreachable_valkey() -> AsyncIterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=_closed_port(), retry=Retry(NoBackoff(), 0))
    yield client
    await client.aclose()


@pytest.fixture
def make_assessor(unreachable_valkey: redis.Redis, form_tokens: FormTokens) -> Any:
    def make(**settings: Any) -> RiskAssessor:
        return RiskAssessor(unreachable_valkey, UsersSettings(**settings), form_tokens=form_tokens)

    return make


@pytest.fixture
def human(form_tokens: FormTokens, clock: FakeClock) -> ClientSignals:
    """What a person's browser sends after half a minute on the sign-up form."""
    token = form_tokens.issue()
    clock.advance(30)
    return ClientSignals(
        action="register",
        ip="203.0.113.7",
        email="someone@example.org",
        user_agent=BROWSER_UA,
        accept_language="en-GB,en;q=0.9",
        fingerprint="4f1c0d7e9a",
        honeypot=None,
        form_token=token,
    )


class TestFormTokens:
    def test_a_fresh_token_reports_its_exact_age(
        self, form_tokens: FormTokens, clock: FakeClock
    ) -> None:
        token = form_tokens.issue()
        assert form_tokens.age_seconds(token) == 0.0
        clock.advance(2.5)
        assert form_tokens.age_seconds(token) == 2.5

    def test_a_token_is_valid_up_to_its_maximum_age_and_not_after(
        self, form_tokens: FormTokens, clock: FakeClock
    ) -> None:
        token = form_tokens.issue()
        clock.advance(FORM_TOKEN_MAX_AGE_SECONDS)
        assert form_tokens.age_seconds(token) == FORM_TOKEN_MAX_AGE_SECONDS
        clock.advance(0.001)
        assert form_tokens.age_seconds(token) is None

    def test_the_maximum_age_is_configurable(self, clock: FakeClock) -> None:
        tokens = FormTokens(SECRET, clock=clock, max_age_seconds=10)
        token = tokens.issue()
        clock.advance(11)
        assert tokens.age_seconds(token) is None

    def test_every_issued_token_is_distinct(self, form_tokens: FormTokens) -> None:
        assert len({form_tokens.issue() for _ in range(20)}) == 20

    def test_a_token_with_a_changed_signature_is_invalid(self, form_tokens: FormTokens) -> None:
        token = form_tokens.issue()
        # A middle character: the last one of a base64 signature carries padding bits too.
        flipped = "A" if token[-5] != "A" else "B"
        tampered = token[:-5] + flipped + token[-4:]
        assert form_tokens.age_seconds(tampered) is None

    def test_a_token_with_a_changed_payload_is_invalid(
        self, form_tokens: FormTokens, clock: FakeClock
    ) -> None:
        # A bot that wants to look slow would backdate the token: re-sign the payload of
        # an older issue time with the signature of the new one.
        clock.advance(-60)
        older = form_tokens.issue()
        clock.advance(60)
        newer = form_tokens.issue()
        spliced = older.split(".")[0] + "." + newer.split(".")[1]
        assert form_tokens.age_seconds(older) == 60.0
        assert form_tokens.age_seconds(spliced) is None

    def test_a_token_signed_with_another_secret_is_invalid(self, clock: FakeClock) -> None:
        foreign = FormTokens("some-other-secret", clock=clock).issue()
        assert FormTokens(SECRET, clock=clock).age_seconds(foreign) is None

    @pytest.mark.parametrize("token", [None, "", "not-a-token", "x" * 10_000, "e30.e30"])
    def test_missing_or_malformed_tokens_have_no_age(
        self, form_tokens: FormTokens, token: str | None
    ) -> None:
        assert form_tokens.age_seconds(token) is None

    def test_an_empty_secret_is_refused(self) -> None:
        with pytest.raises(ValueError, match="secret"):
            FormTokens("")


class TestUserAgents:
    @pytest.mark.parametrize(
        "user_agent",
        [
            "curl/8.5.0",
            "Wget/1.21.4",
            "python-requests/2.32.3",
            "Python/3.11 aiohttp/3.10.5",
            "python-httpx/0.28.1",
            "Go-http-client/2.0",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/124.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/534.34 (KHTML, like Gecko) "
            "PhantomJS/1.9.8 Safari/534.34",
            "Selenium/4.21 (java windows)",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; Baiduspider/2.0)",
            "PostmanRuntime/7.39.0",
            "Scrapy/2.11 (+https://scrapy.org)",
            "okhttp/4.12.0",
        ],
    )
    def test_scripts_driven_browsers_and_crawlers_are_automation(self, user_agent: str) -> None:
        assert is_automation_user_agent(user_agent)

    @pytest.mark.parametrize(
        "user_agent",
        [
            BROWSER_UA,
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/90.0 Mobile Safari/537.36",
        ],
    )
    def test_ordinary_browsers_are_not(self, user_agent: str) -> None:
        assert not is_automation_user_agent(user_agent)


class TestDisposableDomains:
    @pytest.mark.parametrize(
        "domain", ["mailinator.com", "MAILINATOR.COM", "eu.mailinator.com", "a.b.mailinator.com."]
    )
    def test_listed_domains_and_their_subdomains_are_disposable(self, domain: str) -> None:
        assert is_disposable_domain(domain)

    @pytest.mark.parametrize("domain", ["example.org", "mailinator.com.example.org", "com", ""])
    def test_other_domains_are_not(self, domain: str) -> None:
        assert not is_disposable_domain(domain)


class TestAssessment:
    async def test_a_person_on_a_browser_is_allowed_with_nothing_against_them(
        self, make_assessor: Any, human: ClientSignals
    ) -> None:
        assessment = await make_assessor().assess(human)
        assert assessment.decision is Decision.ALLOW
        assert assessment.score == 0
        assert assessment.reasons == ("velocity-unavailable",)

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"honeypot": "https://spam.example"}, Reason.HONEYPOT_FILLED),
            ({"user_agent": "python-requests/2.32.3"}, Reason.AUTOMATION_USER_AGENT),
            ({"user_agent": None}, Reason.MISSING_USER_AGENT),
            ({"user_agent": "   "}, Reason.MISSING_USER_AGENT),
            ({"accept_language": None}, Reason.NO_ACCEPT_LANGUAGE),
            ({"fingerprint": None}, Reason.MISSING_FINGERPRINT),
            ({"fingerprint": ""}, Reason.MISSING_FINGERPRINT),
            ({"email": "someone@mailinator.com"}, Reason.DISPOSABLE_EMAIL),
            ({"email": "someone@inbox.eu.MAILINATOR.com"}, Reason.DISPOSABLE_EMAIL),
            ({"form_token": None}, Reason.FORM_TOKEN_MISSING),
            ({"form_token": "forged.token"}, Reason.FORM_TOKEN_INVALID),
        ],
    )
    async def test_each_signal_adds_its_reason_and_its_weight(
        self, make_assessor: Any, human: ClientSignals, change: dict[str, Any], reason: Reason
    ) -> None:
        assessor = make_assessor()
        baseline = await assessor.assess(human)
        assessment = await assessor.assess(dataclasses.replace(human, **change))

        assert set(assessment.reasons) - set(baseline.reasons) == {reason.value}
        assert assessment.score == baseline.score + REASON_WEIGHTS[reason]
        assert assessment.score > baseline.score

    async def test_a_form_sent_faster_than_the_minimum_fill_time_is_flagged(
        self, make_assessor: Any, human: ClientSignals, form_tokens: FormTokens, clock: FakeClock
    ) -> None:
        assessor = make_assessor(risk_min_form_fill_seconds=2.0)
        token = form_tokens.issue()
        clock.advance(1.9)
        fast = await assessor.assess(dataclasses.replace(human, form_token=token))
        clock.advance(0.1)
        in_time = await assessor.assess(dataclasses.replace(human, form_token=token))

        assert "form-filled-too-fast" in fast.reasons
        assert fast.score == in_time.score + REASON_WEIGHTS[Reason.FORM_FILLED_TOO_FAST]
        assert "form-filled-too-fast" not in in_time.reasons

    async def test_a_login_sent_at_once_is_not_flagged_since_password_managers_do_that(
        self, make_assessor: Any, human: ClientSignals, form_tokens: FormTokens
    ) -> None:
        login = dataclasses.replace(human, action="login", form_token=form_tokens.issue())
        assessment = await make_assessor().assess(login)
        assert "form-filled-too-fast" not in assessment.reasons
        assert assessment.decision is Decision.ALLOW

    async def test_an_expired_form_token_is_invalid(
        self, make_assessor: Any, human: ClientSignals, clock: FakeClock
    ) -> None:
        clock.advance(FORM_TOKEN_MAX_AGE_SECONDS)
        assessment = await make_assessor().assess(human)
        assert "form-token-invalid" in assessment.reasons

    async def test_a_filled_honeypot_blocks_on_its_own_whatever_the_thresholds(
        self, make_assessor: Any, human: ClientSignals
    ) -> None:
        trapped = dataclasses.replace(human, honeypot="x")
        default = await make_assessor().assess(trapped)
        lenient = await make_assessor(risk_challenge_score=500, risk_block_score=1000).assess(
            trapped
        )

        assert default.decision is Decision.BLOCK
        assert lenient.decision is Decision.BLOCK
        assert lenient.score < 1000

    @pytest.mark.parametrize("honeypot", [None, ""])
    async def test_an_empty_honeypot_is_not_a_signal(
        self, make_assessor: Any, human: ClientSignals, honeypot: str | None
    ) -> None:
        assessment = await make_assessor().assess(dataclasses.replace(human, honeypot=honeypot))
        assert "honeypot-filled" not in assessment.reasons

    async def test_the_thresholds_are_inclusive(
        self, make_assessor: Any, human: ClientSignals
    ) -> None:
        no_token = dataclasses.replace(human, form_token=None)
        weight = REASON_WEIGHTS[Reason.FORM_TOKEN_MISSING]

        below = await make_assessor(risk_challenge_score=weight + 1).assess(no_token)
        at_challenge = await make_assessor(risk_challenge_score=weight).assess(no_token)
        at_block = await make_assessor(risk_challenge_score=1, risk_block_score=weight).assess(
            no_token
        )

        assert below.score == at_challenge.score == at_block.score == weight
        assert below.decision is Decision.ALLOW
        assert at_challenge.decision is Decision.CHALLENGE
        assert at_block.decision is Decision.BLOCK

    async def test_with_default_thresholds_one_script_signal_challenges_and_two_block(
        self, make_assessor: Any, human: ClientSignals
    ) -> None:
        assessor = make_assessor()
        script = await assessor.assess(dataclasses.replace(human, user_agent="curl/8.5.0"))
        throwaway_script = await assessor.assess(
            dataclasses.replace(human, user_agent="curl/8.5.0", email="x@mailinator.com")
        )
        bare_script = await assessor.assess(
            dataclasses.replace(
                human,
                user_agent="curl/8.5.0",
                accept_language=None,
                fingerprint=None,
                form_token=None,
            )
        )

        assert script.decision is Decision.CHALLENGE
        assert throwaway_script.decision is Decision.BLOCK
        assert bare_script.decision is Decision.BLOCK
        assert bare_script.reasons == (
            "automation-user-agent",
            "form-token-missing",
            "missing-fingerprint",
            "no-accept-language",
            "velocity-unavailable",
        )

    def test_every_reason_has_a_weight(self) -> None:
        assert set(REASON_WEIGHTS) == set(Reason)
        assert all(weight >= 0 for weight in REASON_WEIGHTS.values())
