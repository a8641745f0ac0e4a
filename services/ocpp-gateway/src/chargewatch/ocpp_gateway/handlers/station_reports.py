"""What both versions' stations report the same way: notifications, security events, certificate requests.

Everything a station reports beyond status, meters and transactions becomes a
StationNotification carrying the validated payload as received, so consumers read it without
the gateway knowing every field. A station's own security events go to the security stream
with a severity from the OCPP critical / non-critical list. A certificate signing request is
accepted only when it is a well-formed PKCS#10 request, signed by its own key, naming the
station (CN = station id); signing it is the PKI's job, which the CSR reaches through the
notification stream (a CSR holds only public material).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import orjson
from cryptography import x509
from cryptography.x509.oid import NameOID

from chargewatch.ocpp_gateway.events import REPORTED_BY_STATION, SecurityEventType
from chargewatch.ocpp_gateway.handlers.base import CallContext, Handler, HandlerTable, Payload
from chargewatch.ocpp_gateway.handlers.common import parse_ocpp_datetime, station_security_severity
from chargewatch.v1 import common_pb2, events_pb2

# The payload field holding an action's status, where it is not called "status".
_STATUS_FIELDS: Final = {"ReservationStatusUpdate": "reservationUpdateStatus"}


def notification_event(
    ctx: CallContext, action: str, payload: Payload, status: str | None = None
) -> events_pb2.StationNotification:
    request_id = payload.get("requestId", 0)
    if status is None:
        status = str(payload.get(_STATUS_FIELDS.get(action, "status"), ""))
    return events_pb2.StationNotification(
        action=action,
        status=status,
        request_id=request_id if isinstance(request_id, int) else 0,
        payload_json=orjson.dumps(payload).decode(),
        ocpp_version=ctx.session.version.proto,
    )


def notification_handler(action: str, answer: Payload) -> Handler:
    """A handler that publishes the payload as a StationNotification and answers `answer`."""

    async def handle(ctx: CallContext, payload: Payload) -> Payload:
        stamp = payload.get("generatedAt") or payload.get("timestamp")
        await ctx.publish(
            notification_event(ctx, action, payload),
            station_time=parse_ocpp_datetime(stamp) if isinstance(stamp, str) else None,
        )
        return dict(answer)

    handle.__name__ = handle.__qualname__ = f"notify_{action}"
    return handle


def register_notifications(table: HandlerTable, answers: Mapping[str, Payload]) -> None:
    for action, answer in answers.items():
        table.on(action, publishes_only=True)(notification_handler(action, answer))


async def security_event_notification(ctx: CallContext, payload: Payload) -> Payload:
    event_type: str = payload["type"]
    severity, listed = station_security_severity(event_type)
    await ctx.publish(
        events_pb2.SecurityEvent(
            type=event_type,
            tech_info=payload.get("techInfo", ""),
            severity=severity,
            reported_by=REPORTED_BY_STATION,
            remote_address=ctx.session.remote_address,
            attributes={"ocpp_list": listed, "ocpp_version": ctx.session.version.label},
        ),
        station_time=parse_ocpp_datetime(payload["timestamp"]),
    )
    return {}


def csr_problem(csr_pem: str, station_id: str) -> str | None:
    """Why a PEM certificate signing request is not acceptable for `station_id`, or None when it is."""
    try:
        request = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError:
        return "not a PEM PKCS#10 certificate signing request"
    try:
        if not request.is_signature_valid:
            return "the request's signature does not verify with its own key"
    except Exception:  # an algorithm cryptography cannot check is as good as a bad signature here
        return "the request's signature cannot be verified"
    names = [attribute.value for attribute in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [station_id]:
        return "the request's common name is not the station id"
    return None


async def sign_certificate(ctx: CallContext, payload: Payload) -> Payload:
    problem = csr_problem(payload["csr"], ctx.session.station_id)
    status = "Accepted" if problem is None else "Rejected"
    await ctx.publish(notification_event(ctx, "SignCertificate", payload, status=status))
    if problem is not None:
        await ctx.events.security(
            ctx.session.station_id,
            SecurityEventType.INVALID_CSR,
            problem,
            remote_address=ctx.session.remote_address,
            tenant_id=ctx.session.tenant_id,
            severity=common_pb2.SEVERITY_MEDIUM,
            attributes={"ocpp_version": ctx.session.version.label},
        )
    return {"status": status}
