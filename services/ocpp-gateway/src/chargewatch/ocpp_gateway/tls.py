"""TLS for security profiles 2 and 3: the server context, client certificates, and failed handshakes.

Profile 2 is TLS with HTTP Basic; profile 3 adds a client certificate that chains to the
configured CA and names the station (subject CN or a SAN equal to the station id). The
certificate's SHA-256 fingerprint (lower-case hex of the DER) goes to authz, which decides.

Why the handshake is done here: given an SSL context, asyncio's server drops a failed TLS
handshake silently (it is an OSError, logged only in debug mode), so a station failing TLS would
leave no trace. `tls_connection_class` gives websockets a connection that starts TLS itself on
the accepted TCP socket (`loop.start_tls`) and reports each failure before closing the socket.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from cryptography import x509
from cryptography.x509.oid import NameOID

from chargewatch.ocpp_gateway.connection import OcppConnection
from chargewatch.v1 import common_pb2

log = logging.getLogger(__name__)

# Security event types raised for transport failures (ChargeWatch's own, like SecurityEventType's).
TLS_HANDSHAKE_FAILED: Final = "TlsHandshakeFailed"
INVALID_CLIENT_CERTIFICATE: Final = "InvalidClientCertificate"

# OpenSSL reasons that mean the client's certificate is at fault (as opposed to, e.g., no shared cipher).
_CLIENT_CERTIFICATE_REASONS: Final = frozenset(
    {"CERTIFICATE_VERIFY_FAILED", "NO_CERTIFICATE_RETURNED", "PEER_DID_NOT_RETURN_A_CERTIFICATE"}
)


def server_context(certificate_file: str, key_file: str, client_ca_file: str | None = None) -> ssl.SSLContext:
    """TLS 1.2+ for the OCPP endpoint. With a client CA, a certificate is asked for but optional.

    Optional, because profile-2 stations share the listener: a station without a certificate
    offers profile 2 and authz refuses it if it is registered for profile 3. A certificate that is
    presented must chain to the CA, or the handshake fails.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate_file, key_file)
    if client_ca_file is not None:
        context.load_verify_locations(cafile=client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    sha256: str
    common_names: tuple[str, ...]
    alternative_names: tuple[str, ...]

    def names(self, station_id: str) -> bool:
        """True when the subject CN or a SAN (DNS, URI, e-mail, IP, directory CN) equals the station id."""
        return station_id in self.common_names or station_id in self.alternative_names


def parse_client_certificate(der: bytes) -> ClientCertificate:
    certificate = x509.load_der_x509_certificate(der)
    common_names = tuple(
        str(attribute.value) for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    )
    alternative: list[str] = []
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        alternative += san.get_values_for_type(x509.DNSName)
        alternative += san.get_values_for_type(x509.UniformResourceIdentifier)
        alternative += san.get_values_for_type(x509.RFC822Name)
        alternative += [str(address) for address in san.get_values_for_type(x509.IPAddress)]
        for directory in san.get_values_for_type(x509.DirectoryName):
            alternative += [str(a.value) for a in directory.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return ClientCertificate(hashlib.sha256(der).hexdigest(), common_names, tuple(alternative))


def transport_security(transport: Any) -> tuple[common_pb2.SecurityProfile, ClientCertificate | None]:
    """The profile a connection's transport really offers, and its verified client certificate if any."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return common_pb2.SECURITY_PROFILE_1_BASIC, None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return common_pb2.SECURITY_PROFILE_2_TLS_BASIC, None
    return common_pb2.SECURITY_PROFILE_3_MUTUAL_TLS, parse_client_certificate(der)


def failure_kind(error: BaseException) -> tuple[str, str] | None:
    """(security event type, description) of a failed handshake; None when the peer sent nothing at all.

    A peer that connects and closes without a byte (a TCP probe, a port scan) is not a TLS attempt.
    """
    if isinstance(error, ssl.SSLCertVerificationError):
        return INVALID_CLIENT_CERTIFICATE, f"client certificate refused: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        reason = error.reason or type(error).__name__
        if reason in _CLIENT_CERTIFICATE_REASONS:
            return INVALID_CLIENT_CERTIFICATE, f"client certificate refused: {reason}"
        return TLS_HANDSHAKE_FAILED, f"TLS handshake failed: {reason}"
    if isinstance(error, TimeoutError):
        return TLS_HANDSHAKE_FAILED, "TLS handshake timed out"
    if isinstance(error, ConnectionError):
        return None
    return TLS_HANDSHAKE_FAILED, f"TLS handshake failed: {type(error).__name__}"


# Called with (remote address, event type, description) for every failed handshake.
FailureReporter = Callable[[str, str, str], Awaitable[None]]


@dataclass(slots=True)
class TlsListener:
    """What the connections of one TLS listener share."""

    context: ssl.SSLContext
    handshake_timeout: float
    report_failure: FailureReporter
    # Handshakes in flight (strong references, so the tasks are not collected mid-handshake).
    handshakes: set[asyncio.Task[None]] = field(default_factory=set)


class TlsServerConnection(OcppConnection):
    """A websockets connection that runs the TLS handshake on its accepted TCP socket itself."""

    listener: ClassVar[TlsListener]

    _tls_up = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Nothing may reach the WebSocket protocol before TLS: start_tls resumes reading itself.
        transport.pause_reading()  # type: ignore[attr-defined]
        task = asyncio.get_running_loop().create_task(self._start_tls(transport))
        self.listener.handshakes.add(task)
        task.add_done_callback(self.listener.handshakes.discard)

    async def _start_tls(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        remote = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")
        loop = asyncio.get_running_loop()
        try:
            tls_transport = await loop.start_tls(
                transport,  # type: ignore[arg-type]
                self,
                self.listener.context,
                server_side=True,
                ssl_handshake_timeout=self.listener.handshake_timeout,
            )
        except asyncio.CancelledError:
            transport.abort()  # type: ignore[attr-defined]
            raise
        except Exception as error:
            transport.abort()  # type: ignore[attr-defined]
            kind = failure_kind(error)
            if kind is None:
                log.debug("connection closed before TLS", extra={"remote": remote})
                return
            event_type, description = kind
            log.info("TLS handshake failed", extra={"remote": remote, "reason": description})
            try:
                await self.listener.report_failure(remote, event_type, description)
            except Exception:
                log.exception("could not report a failed TLS handshake", extra={"remote": remote})
            return
        if tls_transport is None:  # closed during the handshake
            transport.abort()  # type: ignore[attr-defined]
            return
        self._tls_up = True
        super().connection_made(tls_transport)

    def connection_lost(self, exc: Exception | None) -> None:
        # A failed handshake closes the socket through the TLS layer, which tells its protocol
        # (this connection) although the WebSocket never started: nothing to clean up then.
        if self._tls_up:
            super().connection_lost(exc)


def tls_connection_class(
    context: ssl.SSLContext, *, handshake_timeout: float, report_failure: FailureReporter
) -> type[TlsServerConnection]:
    """A `TlsServerConnection` bound to one server's context and failure reporter (for `serve`)."""
    listener = TlsListener(context, handshake_timeout, report_failure)
    return type("BoundTlsServerConnection", (TlsServerConnection,), {"listener": listener})
