"""The OCPP WebSocket endpoint: the handshake (path, subprotocol, credentials) and station sessions.

Handshake order: the path must name a station (else 404), a supported subprotocol must be offered
(else 400), then HTTP Basic credentials are checked through authz with a deadline (401 / 403, or
503 when authz cannot answer). A refusal happens before the WebSocket upgrade and is published.
After the upgrade, messages of one station are handled one at a time, in order.

Transport security: this slice serves plain `ws://`, i.e. security profile 1 only. Issue 3 adds
TLS (profile 2) and client certificates (profile 3) at the two seams marked below: the SSL
context given to `serve`, and the profile and certificate fingerprint read from the transport.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import weakref
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from chargewatch.ocpp_gateway import instruments
from chargewatch.ocpp_gateway.auth import (
    Decision,
    StationAuthenticator,
    basic_password,
    choose_subprotocol,
    offered_subprotocols,
    refusal,
    station_id_from_path,
)
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.dispatch import Dispatcher
from chargewatch.ocpp_gateway.events import GatewayEvents, SecurityEventType
from chargewatch.ocpp_gateway.handlers.common import utc_now
from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.ocpp_gateway.sessions import (
    CLOSE_GOING_AWAY,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_NORMAL,
    SessionRegistry,
    StationIdentity,
    StationSession,
    wait_finished,
)
from chargewatch.v1 import common_pb2

log = logging.getLogger(__name__)

_ABNORMAL_CLOSURE: Final = 1006
_INTERNAL_ERROR: Final = 1011
_MAX_PATH_IN_EVENT: Final = 200


@dataclass(frozen=True, slots=True)
class _Accepted:
    """What the handshake learned, handed from `process_request` to the session handler."""

    identity: StationIdentity
    version: OcppVersion
    remote_address: str


class OcppServer:
    def __init__(
        self,
        settings: GatewaySettings,
        *,
        authenticator: StationAuthenticator,
        events: GatewayEvents,
        dispatcher: Dispatcher,
        registry: SessionRegistry,
    ) -> None:
        self.settings = settings
        self.authenticator = authenticator
        self.events = events
        self.dispatcher = dispatcher
        self.registry = registry
        self.port = settings.ocpp_port
        self.started = asyncio.Event()
        self._server: Server | None = None
        self._stop_requested = asyncio.Event()
        self._stopping = False
        self._accepted: weakref.WeakKeyDictionary[ServerConnection, _Accepted] = weakref.WeakKeyDictionary()

    # -- lifecycle (a ServiceRuntime worker: run / stop) ------------------------------------------
    async def start(self) -> None:
        self.dispatcher.warm()
        settings = self.settings
        self._server = await serve(
            self._session,
            settings.ocpp_host,
            settings.ocpp_port,
            subprotocols=[Subprotocol(p) for p in settings.ocpp_subprotocols],
            process_request=self._process_request,
            compression="deflate" if settings.ws_compression else None,
            server_header=None,
            open_timeout=settings.open_timeout_seconds,
            ping_interval=settings.ws_ping_interval_seconds,
            ping_timeout=settings.ws_ping_timeout_seconds,
            close_timeout=settings.close_timeout_seconds,
            max_size=settings.max_frame_bytes,
            ssl=self._ssl_context(),
        )
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.started.set()
        log.info(
            "OCPP endpoint listening",
            extra={"port": self.port, "path": f"{settings.ocpp_path_prefix}/{{station_id}}"},
        )

    async def run(self) -> None:
        """Serve until `stop`, then drain: no new sockets, open ones closed after their answer in hand."""
        if self._server is None:
            await self.start()
        await self._stop_requested.wait()
        await self._shutdown()

    def stop(self) -> None:
        self._stop_requested.set()

    async def listening(self) -> bool:
        """Readiness probe: true while the endpoint accepts stations."""
        return self.started.is_set() and not self._stopping

    async def _shutdown(self) -> None:
        server = self._server
        if server is None:
            return
        self._stopping = True
        server.close(close_connections=False)
        sessions = list(self.registry)
        log.info("closing station sessions", extra={"sessions": len(sessions)})
        await asyncio.gather(
            *(s.close(CLOSE_GOING_AWAY, "gateway shutting down") for s in sessions), return_exceptions=True
        )
        await server.wait_closed()
        log.info("OCPP endpoint closed")

    # -- transport security seam (issue 3) --------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext | None:
        """TLS for profiles 2 and 3 arrives with issue 3; plain WebSocket offers profile 1 only."""
        return None

    def _transport_profile(self, connection: ServerConnection) -> tuple[common_pb2.SecurityProfile, str]:
        """The security profile the transport gives this connection and its client certificate's SHA-256."""
        return common_pb2.SECURITY_PROFILE_1_BASIC, ""

    # -- handshake --------------------------------------------------------------------------------
    def _remote_address(self, connection: ServerConnection, headers: Headers) -> str:
        if self.settings.trust_forwarded_for and (forwarded := headers.get("X-Forwarded-For")):
            return forwarded.split(",")[0].strip()
        address = connection.remote_address
        if isinstance(address, tuple) and address:
            return str(address[0])
        return str(address or "")

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        remote = self._remote_address(connection, request.headers)
        station_id = station_id_from_path(request.path, self.settings.ocpp_path_prefix)
        if station_id is None:
            path = request.path.split("?", 1)[0][:_MAX_PATH_IN_EVENT]
            log.info("handshake refused: not a station path", extra={"remote": remote, "path": path})
            await self.events.refused(
                "",
                version=None,
                profile=common_pb2.SECURITY_PROFILE_UNSPECIFIED,
                remote_address=remote,
                reason="path names no station",
                http_status=HTTPStatus.NOT_FOUND,
                security_type=SecurityEventType.INVALID_PATH,
                details={"path": path},
            )
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")

        offered = offered_subprotocols(request.headers.get_all("Sec-WebSocket-Protocol"))
        chosen = choose_subprotocol(offered, self.settings.ocpp_subprotocols)
        profile, certificate = self._transport_profile(connection)
        if chosen is None:
            supported = ", ".join(self.settings.ocpp_subprotocols)
            log.info("handshake refused: no supported subprotocol", extra={"station_id": station_id, "remote": remote})
            await self.events.refused(
                station_id,
                version=None,
                profile=profile,
                remote_address=remote,
                reason="no supported OCPP subprotocol offered",
                http_status=HTTPStatus.BAD_REQUEST,
            )
            return connection.respond(HTTPStatus.BAD_REQUEST, f"Offer one of these subprotocols: {supported}\n")
        version = OcppVersion(chosen)

        password = basic_password(request.headers.get("Authorization"), station_id)
        decision: Decision
        if password is None:
            decision = refusal(
                HTTPStatus.UNAUTHORIZED,
                "missing or malformed Basic credentials for this station",
                SecurityEventType.INVALID_CREDENTIALS,
            )
        else:
            decision = await self.authenticator.authenticate(
                station_id,
                password,
                connection_profile=profile,
                remote_address=remote,
                client_certificate_sha256=certificate,
            )
        if decision.identity is None:
            log.info(
                "handshake refused",
                extra={
                    "station_id": station_id,
                    "remote": remote,
                    "status": int(decision.http_status),
                    "reason": decision.reason,
                },
            )
            await self.events.refused(
                station_id,
                version=version,
                profile=profile,
                remote_address=remote,
                reason=decision.reason,
                http_status=decision.http_status,
                security_type=decision.security_type,
            )
            response = connection.respond(decision.http_status, f"{decision.http_status.phrase}\n")
            if decision.http_status == HTTPStatus.UNAUTHORIZED:
                response.headers["WWW-Authenticate"] = 'Basic realm="OCPP", charset="UTF-8"'
            return response
        self._accepted[connection] = _Accepted(decision.identity, version, remote)
        return None

    # -- session ----------------------------------------------------------------------------------
    async def _session(self, connection: ServerConnection) -> None:
        accepted = self._accepted.pop(connection, None)
        if accepted is None:  # cannot happen: only an accepted handshake reaches the handler
            await connection.close(_INTERNAL_ERROR, "handshake state lost")
            return
        session = StationSession(
            accepted.identity,
            accepted.version,
            connection,
            remote_address=accepted.remote_address,
            connected_at=utc_now(),
            gateway_instance=self.settings.gateway_instance,
        )
        previous = self.registry.add(session)
        if previous is not None:
            await self._replace(previous)
        version_labels = {instruments.VERSION_LABEL: session.version.label}
        instruments.connections.add(1, version_labels)
        await self.events.connected(session)
        log.info(
            "station connected",
            extra={
                "station_id": session.station_id,
                "tenant_id": session.tenant_id,
                "ocpp_version": session.version.label,
                "remote": session.remote_address,
            },
        )
        close_code, close_text = _ABNORMAL_CLOSURE, ""
        try:
            if self._stopping:
                await session.close(CLOSE_GOING_AWAY, "gateway shutting down")
            while True:
                data = await connection.recv(decode=False)
                session.begin_message()
                try:
                    answer = await self.dispatcher.handle(session, data)
                    if answer is not None:
                        await connection.send(answer, text=True)
                finally:
                    await session.end_message()
        except ConnectionClosed as closed:
            close_code, close_text = _close_details(closed)
            if closed.sent is not None and closed.sent.code == CLOSE_MESSAGE_TOO_BIG:
                await self.events.security(
                    session.station_id,
                    SecurityEventType.OVERSIZE_MESSAGE,
                    f"message larger than {self.settings.max_frame_bytes} bytes",
                    remote_address=session.remote_address,
                    tenant_id=session.tenant_id,
                    severity=common_pb2.SEVERITY_MEDIUM,
                )
        except Exception:
            log.exception("session failed", extra={"station_id": session.station_id})
            close_code, close_text = _INTERNAL_ERROR, "internal error"
        finally:
            self.registry.remove(session)
            session.fail_pending("connection closed")
            instruments.connections.add(-1, version_labels)
            await self.events.disconnected(session, close_code, session.close_cause or close_text)
            session.finished.set()
            log.info(
                "station disconnected",
                extra={"station_id": session.station_id, "close_code": close_code, "reason": session.close_cause},
            )

    async def _replace(self, previous: StationSession) -> None:
        """Close a station's older session and let it publish its disconnection before the new one connects."""
        log.info("station reconnected; closing its previous session", extra={"station_id": previous.station_id})
        await previous.close(CLOSE_NORMAL, "replaced by a new connection")
        if not await wait_finished(previous, self.settings.close_timeout_seconds + 1.0):
            log.warning("previous session did not finish in time", extra={"station_id": previous.station_id})


def _close_details(closed: ConnectionClosed) -> tuple[int, str]:
    frame = closed.rcvd or closed.sent
    if frame is None:
        return _ABNORMAL_CLOSURE, "connection lost"
    return int(frame.code), frame.reason
