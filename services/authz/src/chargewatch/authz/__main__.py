"""`python -m chargewatch.authz`: settings, telemetry, MongoDB, the token validator and the gRPC server."""

from __future__ import annotations

import asyncio

import httpx

from chargewatch.auth import AccessTokenValidator
from chargewatch.authz import credentials
from chargewatch.authz.config import AuthzSettings
from chargewatch.authz.grpc_api import AuthzServicer
from chargewatch.mongo import create_mongo_client, ensure_indexes, ping
from chargewatch.service import ServiceRuntime
from chargewatch.v1 import authz_pb2_grpc


async def serve(settings: AuthzSettings) -> None:
    runtime = ServiceRuntime("authz", settings)
    mongo = create_mongo_client(settings.mongo_url, app_name="chargewatch-authz")
    db = mongo[settings.mongo_database]
    await ensure_indexes(db, credentials.INDEXES)
    http = httpx.AsyncClient(timeout=5.0)
    tokens = AccessTokenValidator(settings.issuer, settings.api_audience, http=http)

    runtime.depends_on("mongo", lambda: ping(mongo))
    runtime.depends_on("identity-provider", tokens.ready)
    runtime.add_grpc_service(
        authz_pb2_grpc.add_AuthzServicer_to_server,
        AuthzServicer(credentials.StationCredentialStore(db[credentials.COLLECTION]), tokens),
        "chargewatch.v1.Authz",
    )
    runtime.on_shutdown(mongo.close)
    runtime.on_shutdown(http.aclose)
    await runtime.run()


def main() -> None:
    asyncio.run(serve(AuthzSettings()))


if __name__ == "__main__":
    main()
