"""Run the development identity provider: `python -m chargewatch.devidp` (development mode only)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

import uvicorn

from chargewatch.devidp.app import create_app
from chargewatch.devidp.config import DevIdpSettings
from chargewatch.devidp.keys import KeyRing
from chargewatch.devidp.provider import IdentityProvider
from chargewatch.devidp.realm import RealmError, load_realm
from chargewatch.observability import configure_logging

logger = logging.getLogger("chargewatch.devidp")


async def _rotate_keys(keys: KeyRing, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        key = keys.rotate()
        logger.info("signing key rotated", extra={"kid": key.kid})


async def serve(settings: DevIdpSettings) -> None:
    realm = load_realm(settings.realm_file, settings.dev_overlay_file)
    provider = IdentityProvider(realm, KeyRing(keep=settings.keys_kept), settings.base_url)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(provider),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            server_header=False,
        )
    )
    rotation = (
        asyncio.create_task(_rotate_keys(provider.keys, settings.key_rotation_seconds))
        if (settings.key_rotation_seconds)
        else None
    )
    logger.info(
        "development identity provider serving",
        extra={"issuer": provider.issuer, "users": sorted(realm.users), "clients": sorted(realm.clients)},
    )
    try:
        await server.serve()
    finally:
        if rotation is not None:
            rotation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rotation


def main() -> None:
    settings = DevIdpSettings()
    configure_logging("devidp", settings.log_level)
    if settings.is_production:
        # Demo users with known passwords must never face a real network.
        logger.error("the development identity provider refuses to run with CHARGEWATCH_MODE=production")
        sys.exit(2)
    try:
        asyncio.run(serve(settings))
    except RealmError as exc:
        logger.error("cannot start: %s", exc)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
