import pytest


@pytest.fixture(autouse=True)
def _gateway_client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production mode (the default) refuses GatewaySettings without its service-account secret."""
    monkeypatch.setenv("CW_GATEWAY_CLIENT_SECRET", "gateway-unit-test-secret")
