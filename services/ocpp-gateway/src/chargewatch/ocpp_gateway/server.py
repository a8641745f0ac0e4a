"""The OCPP WebSocket endpoint: the handshake (path, subprotocol, credentials) and station sessions.

Handshake order: the path must name a station (else 404), a supported subprotocol must be offered
(else 400), then HTTP Basic credentials are checked through authz with a deadline (401 / 403, or
503 when authz cannot answer). A refusal happens before the WebSocket upgrade and is published.
After the upgrade, messages of one station are handled one at a time, in order.

Transport security: without TLS settings the endpoint serves plain `ws://` (profile 1). With a
server certificate it serves `wss://` (profile 2) and, with a client CA, asks for client
certificates (profile 3); a plain listener on a second port may serve profile-1 stations beside
it. The profile reported to authz is the one the transport really offers (`_transport_profile`),
so authz refuses a station below its registered profile. A profile-3 certificate must name the
station; failed TLS handshakes are published as security events (see `tls`).

Ownership: with `StationOwnership`, each session holds a Redis lease naming this replica while
it is open, so GatewayCommands calls reach it from any replica; leases go when sessions end,
including on drain.
"""

from __future__ import annotations

import asyncio
import logging
import random
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
from chargewatch.ocpp_gateway.connection import OcppConnection
from chargewatch.ocpp_gateway.dispatch import Dispatcher
from chargewatch.ocpp_gateway.events import GatewayEvents, SecurityEventType
from chargewatch.ocpp_gateway.keepalive import Keepalive
from chargewatch.ocpp_gateway.ocpp_time import utc_now
from chargewatch.ocpp_gateway.ownership import StationOwnership
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
from chargewatch.ocpp_gateway.tls import (
    INVALID_CLIENT_CERTIFICATE,
    ClientCertificate,
    server_context,
    tls_connection_class,
    transport_security,
)
from chargewatch.service import tune_garbage_collector
from chargewatch.v1 import common_pb2

log = logging.getLogger(__name__)


class _NoWireDebug(logging.Filter):
    """Drops websockets' DEBUG lines that carry wire content ("< Authorization: Basic ...", "> TEXT [...]").

    They hold HTTP Basic credentials and command payloads (SET_PASSWORD) in full in the record's
    arguments, and a secret must never reach a log, whatever the level is set to.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.DEBUG and str(record.msg).startswith(("< ", "> ")))


# The logger websockets uses for the gateway's connections (instead of "websockets.server").
websocket_log = logging.getLogger("chargewatch.ocpp_gateway.websockets")
websocket_log.addFilter(_NoWireDebug())

# Metric keys of a connection, one per version rather than one per session.
_VERSION_LABELS: Final = {version: (version.label,) for version in OcppVersion}
_MAX_RETRY_AFTER_SECONDS: Final = 5
_ABNORMAL_CLOSURE: Final = 1006
_INTERNAL_ERROR: Final = 1011
_MAX_PATH_IN_EVENT: Final = 200


@dataclass(frozen=True, slots=True)
class _Accepted:
    """What the handshake learned, handed from `process_request` to the session handler."""

    identity: StationIdentity
    version: OcppVersion
    remote_address: str
    # SHA-256 (lowercase hex, as authz's certificate registry) of the profile-3 client certificate; else "".
    certificate_sha256: str = ""
    # The ownership lease claimed for this connection (None without ownership).
    lease: bytes | None = None


class OcppServer:
    def __init__(
        self,
        settings: GatewaySettings,
        *,
        authenticator: StationAuthenticator,
        events: GatewayEvents,
        dispatcher: Dispatcher,
        registry: SessionRegistry,
        ownership: StationOwnership | None = None,
    ) -> None:
        self.settings = settings
        self.authenticator = authenticator
        self.events = events
        self.dispatcher = dispatcher
        self.registry = registry
        self.ownership = ownership
        self.port = settings.ocpp_port
        # The plain ws:// listener beside a TLS one (settings.ocpp_plain_port), if any.
        self.plain_port: int | None = None
        self.started = asyncio.Event()
        self._server: Server | None = None
        self._plain_server: Server | None = None
        self._renewals: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()
        self._stopping = False
        self._accepted: weakref.WeakKeyDictionary[ServerConnection, _Accepted] = weakref.WeakKeyDictionary()
        # Lease releases of abandoned handshakes, referenced until done.
        self._background: set[asyncio.Task[None]] = set()
        # Keep-alive pings of every open station connection, from one task (None: no pings).
        self._keepalive = (
            Keepalive(settings.ws_ping_interval_seconds, settings.ws_ping_timeout_seconds)
            if settings.ws_ping_interval_seconds is not None
            else None
        )

    # -- lifecycle (a ServiceRuntime worker: run / stop) ------------------------------------------
    async def start(self) -> None:
        self.dispatcher.warm()
        tune_garbage_collector(self.settings.gc_young_threshold)
        if websocket_log.getEffectiveLevel() > logging.DEBUG:
            # websockets logs every connection opened and closed at INFO; the gateway logs its own
            # "station disconnected" (and "connected" at DEBUG) with the station id, so at INFO these
            # would only add to the log volume of a reconnect storm. At DEBUG they stay (wire content filtered).
            websocket_log.setLevel(logging.WARNING)
        settings = self.settings
        context = self._ssl_context()
        self._server = await self._serve(settings.ocpp_port, context)
        self.port = _bound_port(self._server, self.port)
        if context is not None and settings.ocpp_plain_port is not None:
            self._plain_server = await self._serve(settings.ocpp_plain_port, None)
            self.plain_port = _bound_port(self._plain_server, settings.ocpp_plain_port)
        if self.ownership is not None:
            self._renewals = asyncio.create_task(
                self.ownership.run_renewals(self._stop_requested, self._replaced_elsewhere), name="ownership-renewals"
            )
        self.started.set()
        log.info(
            "OCPP endpoint listening",
            extra={
                "port": self.port,
                "tls": context is not None,
                "plain_port": self.plain_port,
                "path": f"{settings.ocpp_path_prefix}/{{station_id}}",
            },
        )

    async def _serve(self, port: int, context: ssl.SSLContext | None) -> Server:
        """One listener; with a TLS context its connections run the TLS handshake themselves (see `tls`)."""
        settings = self.settings
        connection_class = (
            tls_connection_class(
                context, handshake_timeout=settings.open_timeout_seconds, report_failure=self._tls_failed
            )
            if context is not None
            else OcppConnection
        )
        return await serve(
            self._session,
            settings.ocpp_host,
            port,
            create_connection=connection_class,
            subprotocols=[Subprotocol(p) for p in settings.ocpp_subprotocols],
            process_request=self._process_request,
            compression="deflate" if settings.ws_compression else None,
            server_header=None,
            open_timeout=settings.open_timeout_seconds,
            ping_interval=settings.ws_ping_interval_seconds,
            ping_timeout=settings.ws_ping_timeout_seconds,
            close_timeout=settings.close_timeout_seconds,
            max_size=settings.max_frame_bytes,
            logger=websocket_log,
            # asyncio's default queue is 100: thousands of stations reconnecting at once overflow it,
            # their SYNs are dropped, and each waits a TCP retransmission (1 s, then 3 s, ...) for nothing.
            backlog=settings.ocpp_listen_backlog,
        )

    async def _tls_failed(self, remote: str, event_type: str, description: str) -> None:
        await self.events.security(
            "", event_type, description, remote_address=remote, severity=common_pb2.SEVERITY_MEDIUM
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
        servers = [s for s in (server, self._plain_server) if s is not None]
        for listener in servers:
            listener.close(close_connections=False)
        sessions = list(self.registry)
        log.info("closing station sessions", extra={"sessions": len(sessions)})
        await asyncio.gather(
            *(s.close(CLOSE_GOING_AWAY, "gateway shutting down") for s in sessions), return_exceptions=True
        )
        for listener in servers:
            await listener.wait_closed()
        if self._keepalive is not None:
            await self._keepalive.aclose()
        if self._renewals is not None:
            await self._renewals
        if self.ownership is not None:
            # Sessions release their own leases as they end; this catches any whose clean-up did not run.
            await self.ownership.release_all()
        log.info("OCPP endpoint closed")

    # -- transport security ----------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of the main listener (profiles 2 and 3), or None for plain WebSocket."""
        settings = self.settings
        if settings.tls_certificate_file is None or settings.tls_key_file is None:
            return None
        client_ca = str(settings.tls_client_ca_file) if settings.tls_client_ca_file is not None else None
        return server_context(str(settings.tls_certificate_file), str(settings.tls_key_file), client_ca)

    def _transport_profile(self, connection: ServerConnection) -> tuple[common_pb2.SecurityProfile, str]:
        """The security profile the transport gives this connection and its client certificate's SHA-256."""
        profile, certificate = transport_security(connection.transport)
        return profile, certificate.sha256 if certificate is not None else ""

    @staticmethod
    def _client_certificate(connection: ServerConnection) -> ClientCertificate | None:
        return transport_security(connection.transport)[1]

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
        profile, certificate_sha256 = self._transport_profile(connection)
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

        certificate = (
            self._client_certificate(connection) if profile == common_pb2.SECURITY_PROFILE_3_MUTUAL_TLS else None
        )
        if certificate is not None and not certificate.names(station_id):
            log.info(
                "handshake refused: client certificate names another station",
                extra={"station_id": station_id, "remote": remote},
            )
            await self.events.refused(
                station_id,
                version=version,
                profile=profile,
                remote_address=remote,
                reason="client certificate does not name the station",
                http_status=HTTPStatus.FORBIDDEN,
                security_type=INVALID_CLIENT_CERTIFICATE,
                details={"certificate_sha256": certificate.sha256},
            )
            return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")

        password = basic_password(request.headers.get("Authorization"), station_id)
        if password is None and certificate is not None:
            # Profile 3: the certificate is the credential; authz checks its fingerprint.
            password = ""
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
                client_certificate_sha256=certificate_sha256,
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
            elif decision.http_status == HTTPStatus.SERVICE_UNAVAILABLE:
                # Spread the retries of a fleet refused together (authz busy or restarting) over a
                # few seconds, for stations that read the header.
                response.headers["Retry-After"] = str(random.randint(1, _MAX_RETRY_AFTER_SECONDS))  # noqa: S311
            return response
        assert isinstance(connection, OcppConnection)  # as `_serve` creates them
        connection.shared_keepalive = self._keepalive
        lease = self.ownership.new_lease() if self.ownership is not None else None
        self._accepted[connection] = _Accepted(
            decision.identity, version, remote, certificate.sha256 if certificate is not None else "", lease
        )
        if self.ownership is not None:
            # Before the 101 answer: once the station is connected, any replica can find it. Set
            # first, so a handshake cut short while the claim is written (the open timeout) still
            # gives its lease up.
            connection.on_not_opened = self._handshake_abandoned
            await self.ownership.claim(station_id, lease)
        return None

    def _handshake_abandoned(self, connection: OcppConnection) -> None:
        """An accepted handshake that did not open (the station left, a timeout): its lease goes."""
        accepted = self._accepted.pop(connection, None)
        if accepted is None or accepted.lease is None or self.ownership is None:
            return
        task = asyncio.get_running_loop().create_task(
            self._release_abandoned(accepted.identity.station_id, accepted.lease), name="ownership-abandoned"
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _release_abandoned(self, station_id: str, lease: bytes) -> None:
        assert self.ownership is not None
        await self.ownership.release(station_id, lease)
        live = self.registry.get(station_id)
        if live is not None and live.lease is not None and self.ownership.lease_of(station_id) is None:
            # The abandoned claim had replaced the lease of the station's open session: write it back.
            await self.ownership.claim(station_id, live.lease)

    # -- session ----------------------------------------------------------------------------------
    async def _session(self, connection: ServerConnection) -> None:
        assert isinstance(connection, OcppConnection)  # as `_serve` creates them
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
        session.lease = accepted.lease
        previous = self.registry.add(session)
        if previous is not None:
            await self._replace(previous)
        version_labels = _VERSION_LABELS[session.version]
        instruments.connection_tally.add(version_labels, 1)
        # Not waited for: the station's boot goes on meanwhile, its events queued behind this one.
        self.events.connected(session, client_certificate_sha256=accepted.certificate_sha256)
        # One INFO line per session, at its end (with what this one says): formatting a JSON log
        # line is a good part of a handshake's cost in a reconnect storm, and the connection is on
        # the connection stream already.
        log.debug(
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
            # Methods called through their objects, not kept as bound methods: three objects per
            # station for the session's life that each garbage collection would walk.
            dispatcher = self.dispatcher
            while True:
                data = await connection.next_message()
                session.begin_message()
                try:
                    answer = await dispatcher.handle(session, data)
                    if answer is not None and not connection.send_now(answer):
                        await connection.send(answer, text=True)
                finally:
                    if session.end_message():
                        await session.close_after_answer()
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
            cache = self.authenticator.cache
            if cache is not None:
                cache.session_ended(session.station_id)
            # Out of service (commands find the station not connected), but finishing: the station's
            # next session, if it connects meanwhile (a drop and an instant reconnect, a storm), waits
            # for this one (`_replace`), so consumers read this disconnection before its connection.
            self.registry.remove(session)
            session.fail_pending("connection closed")
            instruments.connection_tally.add(version_labels, -1)
            # Logged before the event is published: whoever sees the event may read the log.
            log.info(
                "station disconnected",
                extra={
                    "station_id": session.station_id,
                    "tenant_id": session.tenant_id,
                    "ocpp_version": session.version.label,
                    "remote": session.remote_address,
                    "connected_at": session.connected_at.isoformat(),
                    "close_code": close_code,
                    "reason": session.close_cause or close_text,
                },
            )
            try:
                await self.events.disconnected(session, close_code, session.close_cause or close_text)
            finally:
                # Only this session's lease: a newer session of the station here has claimed its own.
                if self.ownership is not None and session.lease is not None:
                    await self.ownership.release(session.station_id, session.lease)
                self.registry.finished(session)
                session.mark_finished()

    async def _replaced_elsewhere(self, station_id: str) -> None:
        """The station connected to another replica since: close the older socket held here."""
        session = self.registry.get(station_id)
        if session is not None:
            log.info(
                "station reconnected to another replica; closing its session here", extra={"station_id": station_id}
            )
            await session.close(CLOSE_NORMAL, "replaced by a new connection")

    async def _replace(self, previous: StationSession) -> None:
        """Close a station's older session and let it publish its disconnection before the new one connects."""
        log.info("station reconnected; closing its previous session", extra={"station_id": previous.station_id})
        await previous.close(CLOSE_NORMAL, "replaced by a new connection")
        if not await wait_finished(previous, self.settings.close_timeout_seconds + 1.0):
            log.warning("previous session did not finish in time", extra={"station_id": previous.station_id})


def _bound_port(server: Server, default: int | None) -> int:
    sockets = server.sockets
    return int(sockets[0].getsockname()[1]) if sockets else int(default or 0)


def _close_details(closed: ConnectionClosed) -> tuple[int, str]:
    frame = closed.rcvd or closed.sent
    if frame is None:
        return _ABNORMAL_CLOSURE, "connection lost"
    return int(frame.code), frame.reason
