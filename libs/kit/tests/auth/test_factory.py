import pytest

from spotilike.kit.auth import TokenVerifier, verifier_from_settings
from spotilike.kit.settings import ServiceSettings

pytestmark = pytest.mark.unit


async def test_a_service_verifier_trusts_the_configured_issuer_and_audience() -> None:
    settings = ServiceSettings(jwt_issuer="https://issuer.test", jwt_audience="aud-test")
    verifier = verifier_from_settings(settings, None)
    assert isinstance(verifier, TokenVerifier)
    assert verifier._issuer == "https://issuer.test"
    assert verifier._audience == "aud-test"
    assert verifier._denylist is None
