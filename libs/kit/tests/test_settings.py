import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from spotilike.kit.settings import DEV_SECRET_PREFIX, ServiceSettings

pytestmark = pytest.mark.unit


class PaymentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SPOTILIKE_PAYMENTS_", extra="ignore", frozen=True)
    secret_fields = ("stripe_key",)
    service_name: str = "payments"
    stripe_key: SecretStr = SecretStr(DEV_SECRET_PREFIX + "stripe")


def test_development_accepts_the_published_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTILIKE_ENV", "dev")
    assert PaymentSettings().stripe_key.get_secret_value().startswith(DEV_SECRET_PREFIX)


def test_production_refuses_a_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTILIKE_ENV", "production")
    with pytest.raises(ValidationError, match="SPOTILIKE_PAYMENTS_STRIPE_KEY still has"):
        PaymentSettings()


def test_production_refuses_a_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTILIKE_ENV", "production")
    monkeypatch.setenv("SPOTILIKE_PAYMENTS_STRIPE_KEY", "")
    with pytest.raises(ValidationError, match="SPOTILIKE_PAYMENTS_STRIPE_KEY is not set"):
        PaymentSettings()


def test_production_accepts_real_secrets_and_reads_the_service_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPOTILIKE_ENV", "production")
    monkeypatch.setenv("SPOTILIKE_PAYMENTS_STRIPE_KEY", "sk_live_real")
    monkeypatch.setenv("SPOTILIKE_PAYMENTS_PORT", "9001")
    settings = PaymentSettings()
    assert settings.port == 9001
    assert "sk_live_real" not in repr(settings)
