"""Synthetic events, as the gateway, authz and telemetry publish them: for tests and the benchmark.

`Events` builds single envelopes at chosen times; `NormalFleet` generates hours of ordinary traffic of a
fleet (heartbeats, status changes, sessions with authorizations and meter values, reconnects, now and
then an unknown card or a wrong password), deterministic for a seed, so the anomaly model's
false-positive rate can be measured on it.
"""

from __future__ import annotations

import itertools
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from google.protobuf.message import Message

from chargewatch.streams import kind_of_payload
from chargewatch.v1 import common_pb2, events_pb2

E = events_pb2
ACCEPTED: Final = E.AUTHORIZATION_STATUS_ACCEPTED
INVALID: Final = E.AUTHORIZATION_STATUS_INVALID


class Events:
    """Envelope builders with unique, deterministic event ids."""

    def __init__(self, prefix: str = "ev") -> None:
        self.prefix = prefix
        self._ids = itertools.count(1)

    def envelope(
        self,
        station_id: str,
        payload: Message,
        at: float,
        *,
        tenant_id: str = "",
        station_offset: float = 0.0,
        late: bool = False,
        event_id: str = "",
    ) -> E.EventEnvelope:
        kind = kind_of_payload(payload)
        envelope = E.EventEnvelope(
            event_id=event_id or f"{self.prefix}-{next(self._ids)}",
            event_type=kind.event_type,
            schema_version=kind.schema_version,
            station_id=station_id,
            tenant_id=tenant_id,
            late=late,
        )
        getattr(envelope, kind.payload_field).CopyFrom(payload)
        envelope.received_time.FromNanoseconds(int(at * 1e9))
        envelope.station_time.FromNanoseconds(int((at + station_offset) * 1e9))
        return envelope

    # -- the gateway ------------------------------------------------------------------------------------
    def connected(
        self, station_id: str, at: float, *, tenant_id: str = "", address: str = "10.0.0.1", profile: int = 1,
        certificate: str = "",
    ) -> E.EventEnvelope:  # fmt: skip
        payload = E.StationConnection(
            kind=E.StationConnection.KIND_CONNECTED,
            remote_address=address,
            security_profile=profile,  # type: ignore[arg-type]
            client_certificate_sha256=certificate,
        )
        return self.envelope(station_id, payload, at, tenant_id=tenant_id)

    def disconnected(self, station_id: str, at: float, *, tenant_id: str = "") -> E.EventEnvelope:
        payload = E.StationConnection(kind=E.StationConnection.KIND_DISCONNECTED, reason="connection lost")
        return self.envelope(station_id, payload, at, tenant_id=tenant_id)

    def heartbeat(self, station_id: str, at: float, *, tenant_id: str = "") -> E.EventEnvelope:
        return self.envelope(station_id, E.StationHeartbeat(), at, tenant_id=tenant_id)

    def boot(self, station_id: str, at: float, *, firmware: str = "1.0.0", tenant_id: str = "") -> E.EventEnvelope:
        payload = E.StationBoot(vendor="Sim", model="S1", firmware_version=firmware)
        return self.envelope(station_id, payload, at, tenant_id=tenant_id)

    def status(self, station_id: str, at: float, connector: int = 1, *, tenant_id: str = "") -> E.EventEnvelope:
        payload = E.ConnectorStatusChange(
            evse_id=connector, connector_id=1, status=common_pb2.CONNECTOR_STATUS_AVAILABLE
        )
        return self.envelope(station_id, payload, at, tenant_id=tenant_id)

    def meter(
        self, station_id: str, at: float, register_wh: float, *, power_w: float = 7000.0, connector: int = 1,
        flags: tuple[str, ...] = (), tenant_id: str = "", station_offset: float = 0.0, transaction_id: str = "tx",
    ) -> E.EventEnvelope:  # fmt: skip
        samples = [
            E.SampledValue(measurand="Energy.Active.Import.Register", value=register_wh, unit=common_pb2.UNIT_WH),
            E.SampledValue(measurand="Power.Active.Import", value=power_w, unit=common_pb2.UNIT_W),
        ]
        for sample in samples:
            sample.timestamp.FromNanoseconds(int((at + station_offset) * 1e9))
        payload = E.MeterValues(
            evse_id=connector, connector_id=1, transaction_id=transaction_id, samples=samples, quality_flags=flags
        )
        return self.envelope(station_id, payload, at, tenant_id=tenant_id, station_offset=station_offset)

    def transaction(
        self, station_id: str, at: float, kind: int, transaction_id: str, *, token: str = "", meter_wh: float = 0.0,
        tenant_id: str = "",
    ) -> E.EventEnvelope:  # fmt: skip
        payload = E.TransactionEvent(
            kind=kind,  # type: ignore[arg-type]
            transaction_id=transaction_id,
            evse_id=1,
            connector_id=1,
            id_token=token,
            id_token_type="ISO14443" if token else "",
            meter_wh=meter_wh,
        )
        return self.envelope(station_id, payload, at, tenant_id=tenant_id)

    def security(
        self, station_id: str, at: float, event_type: str, *, reported_by: str = "ocpp-gateway", address: str = "",
        tenant_id: str = "", attributes: dict[str, str] | None = None, station_offset: float = 0.0,
    ) -> E.EventEnvelope:  # fmt: skip
        payload = E.SecurityEvent(
            type=event_type,
            reported_by=reported_by,
            remote_address=address,
            severity=common_pb2.SEVERITY_MEDIUM,
            attributes=attributes or {},
        )
        return self.envelope(station_id, payload, at, tenant_id=tenant_id, station_offset=station_offset)

    def notification(
        self, station_id: str, at: float, action: str, status: str, *, tenant_id: str = ""
    ) -> E.EventEnvelope:
        payload = E.StationNotification(action=action, status=status)
        return self.envelope(station_id, payload, at, tenant_id=tenant_id)

    def command(
        self, station_id: str, at: float, kind: str, *, principal: str = "operator-1",
        roles: tuple[str, ...] = ("operator",), tenant_id: str = "", outcome: str = "Accepted",
    ) -> E.EventEnvelope:  # fmt: skip
        payload = E.CommandAudit(
            command_kind=f"COMMAND_KIND_{kind}",
            requested_by=principal,
            requested_by_roles=list(roles),
            tenant_id=tenant_id,
            outcome=outcome,
        )
        return self.envelope(station_id, payload, at, tenant_id=tenant_id)

    # -- authz ------------------------------------------------------------------------------------------
    def authorization(
        self, station_id: str, at: float, token: str, *, status: int = ACCEPTED, reason: str = "token_active",
        tenant_id: str = "",
    ) -> E.EventEnvelope:  # fmt: skip
        payload = E.AuthorizationDecision(
            id_token=token,
            id_token_type="ISO14443",  # noqa: S106 (a token type, not a secret)
            status=status,  # type: ignore[arg-type]
            reason=reason,
        )
        return self.envelope(station_id, payload, at, tenant_id=tenant_id)


@dataclass
class SimStation:
    station_id: str
    tenant_id: str
    location: tuple[float, float]
    tokens: list[str]
    connectors: int
    register: dict[int, float] = field(default_factory=dict)


class NormalFleet:
    """Ordinary traffic of `stations` stations over time, in event-time order.

    Each station: a heartbeat every `heartbeat` seconds; a session every so often on a connector
    (authorize, start, meter values every `meter_interval` s at a power drawn per session, stop); status
    changes around sessions; a reconnect now and then; rarely an unknown card or a wrong password.
    Drivers are regional: a token is only used at stations of its home area, so normal traffic holds no
    impossible travel. Busy and quiet stations differ (session rates vary tenfold across the fleet).
    """

    def __init__(
        self,
        stations: int = 100,
        *,
        seed: int = 7,
        start: float = 1_800_000_000.0,
        heartbeat: float = 60.0,
        meter_interval: float = 60.0,
        prefix: str = "CP",
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (synthetic traffic, not security)
        # token -> (start, end) of its sessions, so a driver is never in two places at once.
        self.busy: dict[str, list[tuple[float, float]]] = {}
        self.start = start
        self.heartbeat = heartbeat
        self.meter_interval = meter_interval
        self.events = Events(f"{prefix.lower()}{seed}")
        self.stations: list[SimStation] = []
        regions = [(52.37, 4.90), (52.52, 13.40), (48.14, 11.58), (50.94, 6.96), (53.55, 9.99)]
        for index in range(stations):
            lat, lon = regions[index % len(regions)]
            location = (lat + self.rng.uniform(-0.05, 0.05), lon + self.rng.uniform(-0.05, 0.05))
            tokens = [f"04{index % len(regions):02X}{self.rng.getrandbits(40):010X}" for _ in range(6)]
            self.stations.append(
                SimStation(f"{prefix}-{index:05d}", f"tenant-{index % 3}", location, tokens, 1 + index % 3)
            )
        # Drivers of one region share their cards across that region's stations.
        by_region: dict[int, list[str]] = {}
        for index, station in enumerate(self.stations):
            by_region.setdefault(index % len(regions), []).extend(station.tokens)
        for index, station in enumerate(self.stations):
            station.tokens = by_region[index % len(regions)]
        self.session_rate = {
            s.station_id: self.rng.choice((1 / 900, 1 / 1800, 1 / 3600, 1 / 7200)) for s in self.stations
        }

    def _free_token(self, station: SimStation, start: float, end: float) -> str | None:
        """A card of the station's region whose driver is not charging elsewhere (with half an hour to drive)."""
        margin = 1800.0
        candidates = list(station.tokens)
        self.rng.shuffle(candidates)
        for token in candidates[:8]:
            spans = self.busy.setdefault(token, [])
            if all(end + margin <= s or start >= e + margin for s, e in spans):
                spans.append((start, end))
                return token
        return None

    def locations(self) -> dict[str, tuple[float, float]]:
        return {s.station_id: s.location for s in self.stations}

    def generate(self, seconds: float) -> Iterator[E.EventEnvelope]:
        """Every event of `seconds` of traffic, ordered by time."""
        queue: list[tuple[float, int, E.EventEnvelope]] = []
        counter = itertools.count()
        for station in self.stations:
            for envelope in self._station(station, seconds):
                at = envelope.received_time.seconds + envelope.received_time.nanos * 1e-9
                queue.append((at, next(counter), envelope))
        queue.sort(key=lambda item: (item[0], item[1]))
        for _, _, envelope in queue:
            yield envelope

    def _station(self, station: SimStation, seconds: float) -> Iterator[E.EventEnvelope]:
        ev, rng = self.events, self.rng
        sid, tenant = station.station_id, station.tenant_id
        end = self.start + seconds
        t = self.start + rng.uniform(0, 30)
        yield ev.connected(
            sid, t, tenant_id=tenant, address=f"10.{zlib.crc32(sid.encode()) % 200}.0.{rng.randint(2, 250)}"
        )
        yield ev.boot(sid, t + 0.2, tenant_id=tenant)
        for connector in range(station.connectors + 1):
            yield ev.status(sid, t + 0.3 + connector * 0.05, connector, tenant_id=tenant)
        next_heartbeat = t + self.heartbeat
        next_session = {c: t + rng.expovariate(self.session_rate[sid]) for c in range(1, station.connectors + 1)}
        next_drop = t + rng.expovariate(1 / 43_200)
        tx = 0
        while True:
            due = min(next_heartbeat, next_drop, *next_session.values())
            if due >= end:
                return
            if due == next_heartbeat:
                yield ev.heartbeat(sid, due, tenant_id=tenant)
                next_heartbeat = due + self.heartbeat
            elif due == next_drop:
                yield ev.disconnected(sid, due, tenant_id=tenant)
                back = due + rng.uniform(5, 120)
                yield ev.connected(
                    sid, back, tenant_id=tenant, address=f"10.{zlib.crc32(sid.encode()) % 200}.0.{rng.randint(2, 250)}"
                )
                yield ev.boot(sid, back + 0.2, tenant_id=tenant)
                next_drop = back + rng.expovariate(1 / 43_200)
                next_heartbeat = back + self.heartbeat
            else:
                connector = next(c for c, when in next_session.items() if when == due)
                duration = rng.uniform(900, 7200)
                token = self._free_token(station, due, due + duration + self.meter_interval + 5)
                if token is None:
                    next_session[connector] = due + rng.expovariate(self.session_rate[sid])
                    continue
                if rng.random() < 0.03:
                    # A card the platform does not know: refused, no session.
                    unknown = f"04FF{rng.getrandbits(40):010X}"
                    yield ev.authorization(sid, due, unknown, status=INVALID, reason="unknown_token", tenant_id=tenant)
                    next_session[connector] = due + rng.expovariate(self.session_rate[sid])
                    continue
                tx += 1
                transaction_id = f"{sid}-{tx}"
                register = station.register.get(connector, rng.uniform(1e5, 5e6))
                power = rng.uniform(3000, 22000)
                yield ev.status(sid, due, connector, tenant_id=tenant)
                yield ev.authorization(sid, due + 1, token, tenant_id=tenant)
                yield ev.transaction(sid, due + 2, E.TransactionEvent.KIND_STARTED, transaction_id, token=token,
                                     meter_wh=register, tenant_id=tenant)  # fmt: skip
                now = due + 2
                while now + self.meter_interval < min(due + duration, end):
                    now += self.meter_interval
                    register += power * self.meter_interval / 3600.0
                    yield ev.meter(sid, now, register, power_w=power, connector=connector, tenant_id=tenant,
                                   transaction_id=transaction_id)  # fmt: skip
                stop = now + 1
                yield ev.transaction(sid, stop, E.TransactionEvent.KIND_ENDED, transaction_id, token=token,
                                     meter_wh=register, tenant_id=tenant)  # fmt: skip
                yield ev.status(sid, stop + 1, connector, tenant_id=tenant)
                station.register[connector] = register
                # The session's events may run past heartbeats still due: `generate` orders them all by time.
                next_session[connector] = stop + rng.expovariate(self.session_rate[sid])
