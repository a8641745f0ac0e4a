from typing import ClassVar

import pytest
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from chargewatch.config import Mode, ServiceSettings


class ExampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CW_EXAMPLE_", extra="ignore", populate_by_name=True)
    secret_fields: ClassVar[tuple[str, ...]] = ("api_secret",)
    api_secret: SecretStr = Field(SecretStr(""))
    grpc_port: int = 50099


def test_fields_come_from_prefixed_and_shared_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGEWATCH_MODE", "development")
    monkeypatch.setenv("REDIS_URL", "redis://example:6380/2")
    monkeypatch.setenv("CW_EXAMPLE_GRPC_PORT", "6000")
    monkeypatch.setenv("CW_STREAM_PARTITIONS", "8")
    settings = ExampleSettings()
    assert settings.mode is Mode.DEVELOPMENT
    assert settings.redis_url == "redis://example:6380/2"
    assert settings.grpc_port == 6000
    assert settings.stream_partitions == 8


def test_production_is_the_default_and_refuses_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHARGEWATCH_MODE", raising=False)
    with pytest.raises(ValidationError, match="api_secret must be set"):
        ExampleSettings()
    monkeypatch.setenv("CW_EXAMPLE_API_SECRET", "changeme")
    with pytest.raises(ValidationError, match="api_secret must be set"):
        ExampleSettings()
    monkeypatch.setenv("CW_EXAMPLE_API_SECRET", "a-real-secret-from-a-kubernetes-secret")
    assert ExampleSettings().is_production


def test_development_accepts_empty_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGEWATCH_MODE", "development")
    assert not ExampleSettings().is_production


def test_invalid_values_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGEWATCH_MODE", "development")
    monkeypatch.setenv("CW_STREAM_PARTITIONS", "0")
    with pytest.raises(ValidationError):
        ExampleSettings()
