"""Settings of the development identity provider; every field from an environment variable."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chargewatch.config import ServiceSettings

PACKAGED_DEV_OVERLAY = Path(__file__).with_name("dev-realm.json")
# In a checkout the realm lives at k8s/keycloak/ of the repository this package sits in.
REPOSITORY_REALM = Path(__file__).resolve().parents[5] / "k8s" / "keycloak" / "chargewatch-realm.json"


class DevIdpSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CW_DEVIDP_", extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", description="Address the HTTP server binds")
    port: int = Field(8180, ge=0, le=65535, description="HTTP port (Keycloak's URL layout: /realms/<realm>/...)")
    public_base_url: str = Field("", description="Base URL tokens name as issuer; default http://host:port")
    realm_file: Path = Field(
        REPOSITORY_REALM, description="The realm as Keycloak imports it (k8s/keycloak/chargewatch-realm.json)"
    )
    dev_overlay_file: Path = Field(
        PACKAGED_DEV_OVERLAY, description="Demo users, partner clients and the realm's placeholder values"
    )
    key_rotation_seconds: float = Field(
        900.0, ge=0, description="Rotate the signing key this often (0: never); older keys stay published"
    )
    keys_kept: int = Field(2, ge=1, le=10, description="Signing keys still published after a rotation")

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")
