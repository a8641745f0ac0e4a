"""The certificate inventory: what the fleet's TLS depends on, how long it lasts, and who it affects.

* The CSMS server certificate and the CA chain (and the client CA) are read from PEM files mounted into
  the pod (the same Secret the gateway serves TLS from); a CA is any certificate with the CA basic
  constraint. CRL files, when configured, mark revoked serials.
* Station client certificates (security profile 3) come from authz, which checks them at every
  handshake: the stations the monitor saw connect at profile 3 are asked for theirs.
* Affected stations: its station for a client certificate; every station seen connecting over TLS
  (profile 2 or 3) for the server certificate and the CA chain.

Each scan replaces the inventory in MongoDB (so every replica's API serves it) and returns detections
for certificates that expire within the warning period, have expired, or are revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtensionOID

from chargewatch.mongo import Document
from chargewatch.security_monitor.catalogue import CRITICAL, HIGH, MEDIUM, Parameters
from chargewatch.security_monitor.model import CERTIFICATE, Detection, EvidenceItem
from chargewatch.security_monitor.responses import ResponseClients
from chargewatch.security_monitor.store import Collections, set_stamp
from chargewatch.v1 import authz_pb2, security_pb2

log = logging.getLogger(__name__)

S = security_pb2
STATION_CLIENT: Final = S.CERTIFICATE_KIND_STATION_CLIENT
CSMS_SERVER: Final = S.CERTIFICATE_KIND_CSMS_SERVER
CA: Final = S.CERTIFICATE_KIND_CA
MAX_AFFECTED: Final = 1000


@dataclass
class CertificateRecord:
    fingerprint: str
    kind: int
    subject: str
    issuer: str
    serial_number: str
    not_before: datetime | None
    not_after: datetime | None
    source: str
    station_ids: list[str] = field(default_factory=list)
    tenant_id: str = ""
    revoked_at: datetime | None = None
    revocation_reason: str = ""

    def days_remaining(self, now: datetime) -> int:
        if self.not_after is None:
            return 0
        return int((self.not_after - now).total_seconds() // 86_400)

    def status(self, now: datetime, warning_days: float) -> int:
        if self.revoked_at is not None:
            return S.CERTIFICATE_STATUS_REVOKED
        if self.not_before is not None and self.not_before > now:
            return S.CERTIFICATE_STATUS_NOT_YET_VALID
        if self.not_after is not None and self.not_after <= now:
            return S.CERTIFICATE_STATUS_EXPIRED
        if self.not_after is not None and self.days_remaining(now) < warning_days:
            return S.CERTIFICATE_STATUS_EXPIRING
        return S.CERTIFICATE_STATUS_VALID

    def document(self, now: datetime, warning_days: float) -> Document:
        return {
            "_id": self.fingerprint,
            "kind": self.kind,
            "status": self.status(now, warning_days),
            "subject": self.subject,
            "issuer": self.issuer,
            "serial_number": self.serial_number,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "revoked_at": self.revoked_at,
            "revocation_reason": self.revocation_reason,
            "station_ids": self.station_ids[:MAX_AFFECTED],
            "affected_stations": len(self.station_ids),
            "tenant_id": self.tenant_id,
            "source": self.source,
            "scanned_at": now,
        }


def certificate_message(doc: Document, now: datetime) -> S.InventoryCertificate:
    not_after = doc.get("not_after")
    days = int((not_after - now).total_seconds() // 86_400) if not_after else 0
    message = S.InventoryCertificate(
        sha256_fingerprint=doc["_id"],
        kind=doc.get("kind", 0),
        status=doc.get("status", 0),
        subject=doc.get("subject", ""),
        issuer=doc.get("issuer", ""),
        serial_number=doc.get("serial_number", ""),
        days_remaining=days,
        revocation_reason=doc.get("revocation_reason", ""),
        station_ids=list(doc.get("station_ids", [])),
        affected_stations=int(doc.get("affected_stations", 0)),
        source=doc.get("source", ""),
    )
    for name in ("not_before", "not_after", "revoked_at"):
        set_stamp(message, name, doc.get(name))
    return message


def read_pem_certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def record_of(certificate: x509.Certificate, source: str) -> CertificateRecord:
    try:
        constraints = certificate.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
        is_ca = bool(getattr(constraints, "ca", False))
    except x509.ExtensionNotFound:
        is_ca = False
    return CertificateRecord(
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        kind=CA if is_ca else CSMS_SERVER,
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial_number=format(certificate.serial_number, "x"),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        source=source,
    )


def revoked_serials(paths: Iterable[Path]) -> dict[tuple[str, int], datetime]:
    """(issuer, serial) -> revocation date from PEM or DER CRL files."""
    out: dict[tuple[str, int], datetime] = {}
    for path in paths:
        data = path.read_bytes()
        crl = x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)
        issuer = crl.issuer.rfc4514_string()
        for revoked in crl:
            out[(issuer, revoked.serial_number)] = revoked.revocation_date_utc
    return out


class CertificateInventory:
    def __init__(
        self,
        collections: Collections,
        parameters: Parameters,
        *,
        certificate_files: Sequence[Path] = (),
        crl_files: Sequence[Path] = (),
        clients: ResponseClients | None = None,
        tls_stations: Callable[[], dict[str, tuple[int, str]]] = dict,
        scan_seconds: float = 3600.0,
    ) -> None:
        self.c = collections
        self.p = parameters
        self.certificate_files = list(certificate_files)
        self.crl_files = list(crl_files)
        self.clients = clients
        # station id -> (security profile, tenant) of stations seen connecting over TLS.
        self.tls_stations = tls_stations
        self.scan_seconds = scan_seconds
        self._stop = asyncio.Event()
        self.scanned_at: datetime | None = None

    async def collect(self) -> list[CertificateRecord]:
        records: dict[str, CertificateRecord] = {}
        stations = self.tls_stations()
        tls_station_ids = sorted(s for s, (profile, _) in stations.items() if profile >= 2)
        revoked: dict[tuple[str, int], datetime] = {}
        try:
            revoked = revoked_serials(self.crl_files)
        except (OSError, ValueError) as exc:
            log.warning("could not read a CRL file", extra={"error": str(exc)})
        for path in self.certificate_files:
            try:
                certificates = await asyncio.to_thread(read_pem_certificates, path)
            except (OSError, ValueError) as exc:
                log.warning("could not read a certificate file", extra={"path": str(path), "error": str(exc)})
                continue
            for certificate in certificates:
                record = record_of(certificate, str(path))
                record.station_ids = list(tls_station_ids)
                when = revoked.get((record.issuer, certificate.serial_number))
                if when is not None:
                    record.revoked_at, record.revocation_reason = when, "listed in a CRL"
                records[record.fingerprint] = record
        if self.clients is not None:
            for station_id in (s for s, (profile, _) in stations.items() if profile >= 3):
                for record in await self._client_certificates(station_id, stations[station_id][1]):
                    records[record.fingerprint] = record
        return list(records.values())

    async def _client_certificates(self, station_id: str, tenant_id: str) -> list[CertificateRecord]:
        assert self.clients is not None
        try:
            metadata = await self.clients.metadata()
            reply = await self.clients.authz.ListClientCertificates(
                authz_pb2.ListClientCertificatesRequest(station_id=station_id),
                timeout=self.clients.deadline,
                metadata=metadata,
            )
        except (grpc.aio.AioRpcError, Exception) as exc:  # the identity provider or authz away: next scan
            log.warning("could not list a station's certificates", extra={"station_id": station_id, "error": str(exc)})
            return []
        out = []
        for cert in reply.certificates:
            out.append(
                CertificateRecord(
                    fingerprint=cert.sha256_fingerprint,
                    kind=STATION_CLIENT,
                    subject=cert.subject,
                    issuer="",
                    serial_number="",
                    not_before=cert.not_before.ToDatetime(UTC) if cert.HasField("not_before") else None,
                    not_after=cert.not_after.ToDatetime(UTC) if cert.HasField("not_after") else None,
                    source="authz",
                    station_ids=[cert.station_id or station_id],
                    tenant_id=tenant_id,
                    revoked_at=cert.revoked_at.ToDatetime(UTC) if cert.HasField("revoked_at") else None,
                    revocation_reason=cert.revocation_reason,
                )
            )
        return out

    async def scan(self, now: datetime | None = None) -> list[Detection]:
        """Collect, store the inventory, and return the detections it gives."""
        now = now or datetime.now(UTC)
        records = await self.collect()
        warning = self.p["certificate_warning_days"]
        for record in records:
            doc = record.document(now, warning)
            await self.c.certificates.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        keep = [r.fingerprint for r in records]
        await self.c.certificates.delete_many({"_id": {"$nin": keep}})
        self.scanned_at = now
        return self.detections(records, now)

    def detections(self, records: Iterable[CertificateRecord], now: datetime) -> list[Detection]:
        warning = self.p["certificate_warning_days"]
        critical = self.p["certificate_critical_days"]
        out = []
        for record in records:
            status = record.status(now, warning)
            label = S.CertificateKind.Name(record.kind).removeprefix("CERTIFICATE_KIND_").lower().replace("_", " ")
            affected = f"{len(record.station_ids)} station(s)"
            item = EvidenceItem(
                f"certificate:{record.fingerprint}:{now.date().isoformat()}",
                "certificate.inventory",
                record.station_ids[0] if len(record.station_ids) == 1 else "",
                now.timestamp(),
                f"{label} certificate {record.subject} from {record.source}",
            )
            attributes: dict[str, Any] = {
                "kind": label,
                "subject": record.subject,
                "not_after": record.not_after.isoformat() if record.not_after else "",
                "affected_stations": str(len(record.station_ids)),
                "source": record.source,
            }
            if status == S.CERTIFICATE_STATUS_REVOKED:
                severity = MEDIUM if record.kind == STATION_CLIENT else HIGH
                out.append(
                    Detection(
                        "certificate-revoked",
                        severity,
                        CERTIFICATE,
                        record.fingerprint,
                        record.tenant_id,
                        f"The {label} certificate {record.subject} is revoked "
                        f"({record.revocation_reason or 'no reason given'}); it affects {affected}.",
                        [item],
                        item.at,
                        tuple(record.station_ids[:MAX_AFFECTED]),
                        attributes,
                    )
                )
            elif status in (S.CERTIFICATE_STATUS_EXPIRING, S.CERTIFICATE_STATUS_EXPIRED):
                days = record.days_remaining(now)
                if status == S.CERTIFICATE_STATUS_EXPIRED:
                    severity, when = (
                        (CRITICAL if record.kind != STATION_CLIENT else HIGH),
                        f"expired {-days} day(s) ago",
                    )
                else:
                    severity, when = (HIGH if days < critical else MEDIUM), f"expires in {days} day(s)"
                attributes["days_remaining"] = str(days)
                out.append(
                    Detection(
                        "certificate-expiring",
                        severity,
                        CERTIFICATE,
                        record.fingerprint,
                        record.tenant_id,
                        f"The {label} certificate {record.subject} {when}; it affects {affected}.",
                        [item],
                        item.at,
                        tuple(record.station_ids[:MAX_AFFECTED]),
                        attributes,
                    )
                )
        return out

    async def run(self, on_detections: Callable[[list[Detection]], Any]) -> None:
        """Scan every `scan_seconds` until `stop`, handing detections to the alert book."""
        self._stop.clear()
        while not self._stop.is_set():
            try:
                detections = await self.scan()
                if detections:
                    await on_detections(detections)
            except Exception:
                log.exception("certificate scan failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.scan_seconds)

    def stop(self) -> None:
        self._stop.set()
