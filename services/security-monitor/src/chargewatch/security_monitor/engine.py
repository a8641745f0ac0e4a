"""The detection engine: every rule of the catalogue, applied event by event, in memory.

`process(envelope)` updates the profiles and sliding windows the event touches and appends the
detections it causes to `out`; `sweep(now)` closes behaviour windows of stations that went quiet and
forgets idle windows. Nothing here does I/O, so the stream handler runs it on the hot path; station
locations and tenants come from a lookup the handler keeps filled.

Idempotency: the handler hands each event id to the engine once (it keeps the ids it processed), and
every time the engine uses is the event's own, so a redelivered or reordered entry changes nothing.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from chargewatch.security_monitor import anomaly as an
from chargewatch.security_monitor.catalogue import HIGH, LOW, MEDIUM, RULES_BY_ID, Parameters
from chargewatch.security_monitor.model import (
    ADDRESS,
    PRINCIPAL,
    STATION,
    TENANT,
    TOKEN,
    Detection,
    EvidenceItem,
    evidence,
    security_summary,
    station_offset,
)
from chargewatch.security_monitor.profiles import (
    PrincipalProfile,
    StationProfile,
    TokenProfile,
    TokenUse,
    network_of,
)
from chargewatch.v1 import events_pb2

Envelope = events_pb2.EventEnvelope
AUTH = events_pb2
CONNECTED = events_pb2.StationConnection.KIND_CONNECTED
DISCONNECTED = events_pb2.StationConnection.KIND_DISCONNECTED
TX_STARTED = events_pb2.TransactionEvent.KIND_STARTED
TX_ENDED = events_pb2.TransactionEvent.KIND_ENDED

REPORTED_BY_STATION: Final = "station"
ENERGY_REGISTER: Final = "Energy.Active.Import.Register"
POWER: Final = "Power.Active.Import"

# Security event types by the rule they feed (station-reported OCPP types and ChargeWatch's own).
BRUTE_FORCE_TYPES: Final = frozenset({"InvalidCredentials"})
UNKNOWN_STATION_TYPES: Final = frozenset({"UnknownStation", "InvalidPath"})
TLS_FAILURE_TYPES: Final = frozenset({"TlsHandshakeFailed", "InvalidClientCertificate"})
DOWNGRADE_TYPES: Final = frozenset({"InvalidTLSVersion", "InvalidTLSCipherSuite", "SecurityProfileTooLow"})
CSMS_CERTIFICATE_TYPES: Final = frozenset(
    {
        "InvalidCsmsCertificate",
        "InvalidCentralSystemCertificate",
        "CsmsFailedToAuthenticate",
        "CentralSystemFailedToAuthenticate",
    }
)
FIRMWARE_SIGNATURE_TYPES: Final = frozenset({"InvalidFirmwareSignature", "InvalidFirmwareSigningCertificate"})
INVALID_MESSAGE_TYPES: Final = frozenset(
    {"InvalidMessage", "CallWhileNotAccepted", "InvalidCertificateSigningRequest", "InvalidMessages"}
)
REPLAY_TYPES: Final = frozenset({"ReplayedMessageId", "AttemptedReplayAttacks"})
REGISTER_BACKWARDS_TYPES: Final = frozenset({"MeterRegisterBackwards"})
IMPOSSIBLE_POWER_TYPES: Final = frozenset({"MeterPowerImpossible"})
# A single event is enough for these: rule id by security event type.
IMMEDIATE_RULES: Final = {
    "TamperDetectionActivated": "station-tamper",
    "SecurityLogWasCleared": "security-log-cleared",
    "OversizeMessage": "oversize-frame",
    "MessageRateExceeded": "message-rate-exceeded",
    **dict.fromkeys(DOWNGRADE_TYPES, "tls-downgrade"),
    **dict.fromkeys(CSMS_CERTIFICATE_TYPES, "invalid-csms-certificate"),
    **dict.fromkeys(FIRMWARE_SIGNATURE_TYPES, "firmware-invalid-signature"),
    **dict.fromkeys(REGISTER_BACKWARDS_TYPES, "meter-register-backwards"),
    **dict.fromkeys(IMPOSSIBLE_POWER_TYPES, "meter-impossible-power"),
}
# The gateway's flag for a power reading above its ceiling; a drop of the register below this is noise.
POWER_IMPLAUSIBLE: Final = "power_implausible"
REGISTER_TOLERANCE_WH: Final = 0.5

FIRMWARE_ACTIONS: Final = frozenset({"FirmwareStatusNotification", "SignedFirmwareStatusNotification"})
FIRMWARE_INVALID_STATUSES: Final = frozenset(
    {"InvalidSignature", "InvalidCertificate", "RevokedCertificate", "SignatureVerificationFailed"}
)
FIRMWARE_ACTIVE_STATUSES: Final = frozenset({"Downloading", "Installing", "Installed", "InstallRebooting"})

# Authorization reasons that mean the token was never a real one (enumeration, not cloning).
UNKNOWN_TOKEN_REASONS: Final = frozenset({"unknown_token", "malformed_token"})
NOT_A_PRESENTATION: Final = frozenset({"unknown_token", "malformed_token", "unknown_station"})
KEYCODE: Final = "KeyCode"

# Operator-side commands (CommandAudit.command_kind without its "COMMAND_KIND_" prefix).
DISRUPTIVE_COMMANDS: Final = frozenset(
    {"REMOTE_START", "REMOTE_STOP", "RESET", "CHANGE_AVAILABILITY", "UPDATE_FIRMWARE", "UNLOCK_CONNECTOR"}
)
HIGH_IMPACT_COMMANDS: Final = frozenset(
    {
        "RESET",
        "CHANGE_AVAILABILITY",
        "UPDATE_FIRMWARE",
        "CHANGE_CONFIGURATION",
        "SET_VARIABLES",
        "INSTALL_CERTIFICATE",
        "SET_PASSWORD",
    }
)
CONFIGURATION_COMMANDS: Final = frozenset(
    {"CHANGE_CONFIGURATION", "SET_VARIABLES", "SET_PASSWORD", "INSTALL_CERTIFICATE", "CERTIFICATE_SIGNED"}
)
OPERATOR_ROLES: Final = frozenset({"operator"})

# Idle sliding windows are forgotten by `sweep` once this much older than the longest window.
IDLE_SECONDS: Final = 3600.0
_VERSION_PART = re.compile(r"\d+")


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def version_key(version: str) -> tuple[int, ...] | None:
    """Numeric components of a firmware version ("2.10.3-rc1" -> (2, 10, 3, 1)); None without any."""
    parts = tuple(int(p) for p in _VERSION_PART.findall(version))
    return parts or None


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    days: frozenset[int]  # ISO weekdays, 1 = Monday
    start: time
    end: time

    def contains(self, moment: datetime) -> bool:
        clock = moment.time()
        if self.start <= self.end:
            return moment.isoweekday() in self.days and self.start <= clock < self.end
        # Past midnight: the part after midnight belongs to the previous day's window.
        if clock >= self.start:
            return moment.isoweekday() in self.days
        previous = (moment - timedelta(days=1)).isoweekday()
        return previous in self.days and clock < self.end


class MaintenanceWindows:
    """When firmware may be updated: "1-5 01:00-05:00" (ISO weekdays, a range or a comma list) in one time zone."""

    def __init__(self, specs: Iterable[str], timezone: str = "UTC") -> None:
        self.zone = ZoneInfo(timezone)
        self.windows = [self.parse(spec) for spec in specs]

    @staticmethod
    def parse(spec: str) -> MaintenanceWindow:
        try:
            days_text, hours = spec.split()
            start_text, end_text = hours.split("-")
            days: set[int] = set()
            for part in days_text.split(","):
                low, _, high = part.partition("-")
                days.update(range(int(low), int(high or low) + 1))
            if not days or not days <= set(range(1, 8)):
                raise ValueError
            return MaintenanceWindow(frozenset(days), time.fromisoformat(start_text), time.fromisoformat(end_text))
        except ValueError as exc:
            raise ValueError(f"maintenance window {spec!r} is not like '1-5 01:00-05:00'") from exc

    def allows(self, at: float) -> bool:
        """True inside a window, and always when none is configured."""
        if not self.windows:
            return True
        moment = datetime.fromtimestamp(at, self.zone)
        return any(window.contains(moment) for window in self.windows)


LocationLookup = Callable[[str], tuple[float, float] | None]
TenantLookup = Callable[[str], str]


def _no_location(_station_id: str) -> tuple[float, float] | None:
    return None


def _no_tenant(_station_id: str) -> str:
    return ""


class DetectionEngine:
    def __init__(
        self,
        parameters: Parameters | None = None,
        *,
        disabled: Iterable[str] = (),
        maintenance: MaintenanceWindows | None = None,
        locations: LocationLookup = _no_location,
        tenants: TenantLookup = _no_tenant,
    ) -> None:
        self.p = parameters or Parameters()
        self.disabled = frozenset(disabled)
        self.maintenance = maintenance or MaintenanceWindows(())
        self.locations = locations
        self.tenants = tenants
        self.out: list[Detection] = []
        self.watermark = 0.0
        self.stations: dict[str, StationProfile] = {}
        self.tokens: dict[str, TokenProfile] = {}
        self.principals: dict[str, PrincipalProfile] = {}
        self.fleet_windows = an.FleetPrior(an.WINDOW_FEATURES)
        self.fleet_sessions = an.FleetPrior(an.SESSION_FEATURES)
        self.fleet_commands = 0
        # Sliding windows: key -> deque of (time, evidence[, extra]).
        self.failures_by_station: dict[str, deque[EvidenceItem]] = {}
        self.failures_by_address: dict[str, deque[EvidenceItem]] = {}
        self.tls_by_address: dict[str, deque[EvidenceItem]] = {}
        self.unknown_by_address: dict[str, deque[EvidenceItem]] = {}
        self.invalid_by_station: dict[str, deque[EvidenceItem]] = {}
        self.replays_by_station: dict[str, deque[EvidenceItem]] = {}
        self.refused_tokens: dict[str, deque[tuple[EvidenceItem, str]]] = {}
        self.commands_by_principal: dict[str, deque[EvidenceItem]] = {}
        self.reconnects_by_tenant: dict[str, deque[EvidenceItem]] = {}
        # "station/transaction" -> token of the open session (dropped with the token by `sweep`).
        self.token_of_session: dict[str, str] = {}
        self._next_sweep = 0.0
        self._handlers: dict[str | None, Callable[[Envelope, float], None]] = {
            "heartbeat": self._heartbeat,
            "connection": self._connection,
            "boot": self._boot,
            "status": self._status,
            "meter_values": self._meter_values,
            "transaction": self._transaction,
            "security": self._security,
            "authorization": self._authorization,
            "notification": self._notification,
            "command": self._command,
        }
        # Parameters read on the hot path, once.
        self._window = self.p["anomaly_window_seconds"]
        self._rate_window = int(self.p["rate_window_seconds"])
        self._rate_min = self.p["rate_min_messages"]
        self._rate_factor = self.p["rate_factor"]
        self._alpha = self.p["anomaly_alpha"]
        self._clock_limit = self.p["clock_jump_seconds"]

    # -- plumbing ---------------------------------------------------------------------------------------
    def enabled(self, rule: str) -> bool:
        return rule not in self.disabled

    def process(self, envelope: Envelope, kind: str | None = None) -> None:
        """Apply one event; `kind` is its payload field when the caller knows it already."""
        handler = self._handlers.get(kind or envelope.WhichOneof("payload"))
        if handler is None:
            return  # alerts (our own output) and payloads this build does not know
        # event_time(), inlined: this runs for every event.
        stamp = envelope.station_time if envelope.late else envelope.received_time
        at = stamp.seconds + stamp.nanos * 1e-9
        if at > self.watermark:
            self.watermark = at
        handler(envelope, at)
        if self.watermark >= self._next_sweep:
            self.sweep(self.watermark)

    def detect(
        self,
        rule: str,
        subject_kind: str,
        subject_id: str,
        tenant_id: str,
        explanation: str,
        items: list[EvidenceItem],
        *,
        severity: int | None = None,
        stations: Iterable[str] = (),
        attributes: dict[str, str] | None = None,
        anomaly_score: float = 0.0,
    ) -> None:
        if rule in self.disabled:
            return
        self.out.append(
            Detection(
                rule=rule,
                severity=severity or RULES_BY_ID[rule].severity,
                subject_kind=subject_kind,
                subject_id=subject_id,
                tenant_id=tenant_id,
                explanation=explanation,
                evidence=items,
                at=max((item.at for item in items), default=self.watermark),
                station_ids=tuple(dict.fromkeys(s for s in stations if s)),
                attributes=attributes or {},
                anomaly_score=anomaly_score,
            )
        )

    def take(self) -> list[Detection]:
        out, self.out = self.out, []
        return out

    def station(self, station_id: str, tenant_id: str, at: float) -> StationProfile:
        profile = self.stations.get(station_id)
        if profile is None:
            profile = StationProfile(station_id, first_seen=at)
            self.stations[station_id] = profile
        if not tenant_id and not profile.tenant_id:
            tenant_id = self.tenants(station_id)  # refusals and some raised events carry no tenant
        if tenant_id and profile.tenant_id != tenant_id:
            profile.tenant_id = tenant_id
            profile.dirty = True
        if at > profile.last_seen:
            profile.last_seen = at
        return profile

    def tenant_of(self, station_id: str, envelope_tenant: str = "") -> str:
        if envelope_tenant:
            return envelope_tenant
        profile = self.stations.get(station_id)
        if profile is not None and profile.tenant_id:
            return profile.tenant_id
        return self.tenants(station_id) if station_id else ""

    @staticmethod
    def _window_add(
        table: dict[str, deque[EvidenceItem]], key: str, item: EvidenceItem, span: float
    ) -> deque[EvidenceItem]:
        items = table.get(key)
        if items is None:
            items = table[key] = deque()
        items.append(item)
        floor = item.at - span
        while items and items[0].at < floor:
            items.popleft()
        return items

    # -- station messages: rate and behaviour windows ---------------------------------------------------
    def _message(self, profile: StationProfile, envelope: Envelope, at: float) -> None:
        """Account one message the station sent: its behaviour window and its message rate."""
        window = self._window
        if at >= profile.window_start + window:
            if profile.window_start:
                self._close_window(profile)
            profile.window_start = at - (at % window)
        profile.accumulator[an.MESSAGES] += 1.0
        profile.recent.append((envelope.event_id, envelope.event_type, at))
        # Messages per tumbling rate window: two integer operations per message.
        slot = int(at) // self._rate_window
        if slot != profile.rate_slot:
            profile.rate_slot = slot
            profile.rate_count = 0
        profile.rate_count += 1
        count = profile.rate_count
        if count >= self._rate_min and at - profile.rate_alerted_at >= self._rate_window:
            self._rate_check(profile, count, at)

    def _rate_check(self, profile: StationProfile, count: int, at: float) -> None:
        model = profile.window
        usual = 0.0
        if model is not None and model.learned:
            usual = math.expm1(model.stats["messages"].mean) * self._rate_window / self._window
        if count < self._rate_factor * max(usual, 1.0):
            return
        profile.rate_alerted_at = at
        items = [EvidenceItem(eid, etype, profile.station_id, t, etype) for eid, etype, t in profile.recent]
        self.detect(
            "message-rate-anomaly",
            STATION,
            profile.station_id,
            self.tenant_of(profile.station_id),
            f"{profile.station_id} sent {count} messages in {self._rate_window} s, against a usual "
            f"{usual:.1f} in that time.",
            items,
            stations=[profile.station_id],
            attributes={"messages": str(count), "usual": f"{usual:.2f}", "window_seconds": str(self._rate_window)},
        )

    def _close_window(self, profile: StationProfile) -> None:
        values = profile.accumulator
        profile.accumulator = [0.0] * len(an.WINDOW_FEATURES)
        if not any(values):
            return
        features = an.window_values(values)
        model = profile.window
        if model is None:
            model = profile.window = an.FeatureModel(an.WINDOW_FEATURES, self._alpha)
        profile.dirty = True
        if model.learned >= self.p["anomaly_warmup_windows"]:
            score = model.score(features, self.fleet_windows)
            model.last = score
            profile.anomaly_score = score.score
            if score.score >= self.p["anomaly_threshold"]:
                self._anomaly(profile, score, "window")
        model.learn(features, self.fleet_windows)

    def _anomaly(self, profile: StationProfile, score: an.WindowScore, what: str) -> None:
        items = [EvidenceItem(eid, etype, profile.station_id, t, etype) for eid, etype, t in profile.recent]
        self.detect(
            "station-behaviour-anomaly",
            STATION,
            profile.station_id,
            self.tenant_of(profile.station_id),
            f"Unusual {what} at {profile.station_id}: {an.describe(score)}.",
            items,
            stations=[profile.station_id],
            attributes={
                "feature": score.top.name,
                "value": f"{score.top.value:.2f}",
                "station_mean": f"{score.top.station_mean:.2f}",
                "fleet_mean": f"{score.top.fleet_mean:.2f}",
                "scope": what,
            },
            anomaly_score=score.score,
        )

    def _session_ended(self, profile: StationProfile, duration: float, energy: float) -> None:
        features = {"session_duration_s": max(duration, 0.0), "session_energy_wh": max(energy, 0.0)}
        model = profile.sessions
        if model is None:
            model = profile.sessions = an.FeatureModel(an.SESSION_FEATURES, self._alpha)
        profile.dirty = True
        if model.learned >= an.SESSION_WARMUP:
            score = model.score(features, self.fleet_sessions)
            if score.score >= self.p["anomaly_threshold"]:
                self._anomaly(profile, score, "session")
        model.learn(features, self.fleet_sessions)

    def sweep(self, now: float) -> None:
        """Close the windows of stations that went quiet; forget sliding windows idle for an hour."""
        window = self._window
        for profile in self.stations.values():
            if profile.window_start and now >= profile.window_start + 2 * window:
                self._close_window(profile)
                profile.window_start = 0.0
        floor = now - IDLE_SECONDS
        tables: list[dict[str, deque[EvidenceItem]]] = [
            self.failures_by_station,
            self.failures_by_address,
            self.tls_by_address,
            self.unknown_by_address,
            self.invalid_by_station,
            self.replays_by_station,
            self.commands_by_principal,
            self.reconnects_by_tenant,
        ]
        for table in tables:
            for key in [k for k, items in table.items() if not items or items[-1].at < floor]:
                del table[key]
        for key in [k for k, refused in self.refused_tokens.items() if not refused or refused[-1][0].at < floor]:
            del self.refused_tokens[key]
        history = self.p["clone_history_seconds"]
        for key in [k for k, token in self.tokens.items() if token.last_seen < now - history]:
            for session_key in self.tokens.pop(key).open_sessions:
                self.token_of_session.pop(session_key, None)
        self._next_sweep = now + max(window / 10.0, 1.0)

    # -- clock ------------------------------------------------------------------------------------------
    def _clock(
        self, profile: StationProfile, envelope: Envelope, at: float, setting: bool = False, offset: float | None = None
    ) -> None:
        """Offsets of station-timed events; a change beyond `clock_jump_seconds` is a jump."""
        if envelope.late:
            return
        if offset is None:
            offset = station_offset(envelope)
        offsets = profile.offsets
        # A steady clock (the common case) costs one comparison.
        if offsets and abs(offset - offsets[-1]) < 1.0:
            return
        limit = self._clock_limit
        if len(offsets) >= 3:
            usual = sorted(offsets)[len(offsets) // 2]
            if abs(offset - usual) > limit:
                profile.offsets = [offset]
                profile.dirty = True
                shift = offset - usual
                self.detect(
                    "clock-jump",
                    STATION,
                    profile.station_id,
                    self.tenant_of(profile.station_id, envelope.tenant_id),
                    f"{profile.station_id}'s clock moved {abs(shift):,.0f} s "
                    f"{'ahead' if shift > 0 else 'back'} against ChargeWatch's"
                    + (" (the station reported SettingSystemTime)." if setting else "."),
                    [evidence(envelope, f"station clock offset {offset:+.0f} s, usual {usual:+.0f} s")],
                    stations=[profile.station_id],
                    attributes={"offset_seconds": f"{offset:.0f}", "usual_offset_seconds": f"{usual:.0f}"},
                )
                return
        # Only offsets that moved are remembered: a steady clock keeps the list small.
        offsets.append(offset)
        if len(offsets) > 16:
            del offsets[0]
        profile.dirty = True

    # -- handlers ---------------------------------------------------------------------------------------
    def _heartbeat(self, envelope: Envelope, at: float) -> None:
        profile = self.station(envelope.station_id, envelope.tenant_id, at)
        self._message(profile, envelope, at)

    def _connection(self, envelope: Envelope, at: float) -> None:
        event = envelope.connection
        if event.kind == CONNECTED:
            self._connected(envelope, event, at)
        elif event.kind == DISCONNECTED:
            profile = self.station(envelope.station_id, envelope.tenant_id, at)
            profile.connected = False
            profile.disconnected_at = at
            profile.accumulator[an.CONNECTIONS] += 1.0

    def _connected(self, envelope: Envelope, event: events_pb2.StationConnection, at: float) -> None:
        station_id = envelope.station_id
        profile = self.station(station_id, envelope.tenant_id, at)
        tenant = self.tenant_of(station_id, envelope.tenant_id)
        profile.accumulator[an.CONNECTIONS] += 1.0
        profile.connections += 1
        profile.dirty = True
        if event.security_profile > profile.security_profile:
            profile.security_profile = event.security_profile
        address = event.remote_address
        if address:
            network = network_of(address)
            learned = profile.connections > self.p["new_address_learning_connections"]
            if learned and profile.networks and network not in profile.networks:
                self.detect(
                    "station-new-address",
                    STATION,
                    station_id,
                    tenant,
                    f"{station_id} connected from {address}, a network ({network}) it never used in "
                    f"{profile.connections - 1} earlier connections.",
                    [evidence(envelope, f"connected from {address}")],
                    stations=[station_id],
                    attributes={"address": address, "network": network, "known_networks": ", ".join(profile.networks)},
                )
            profile.remember(profile.networks, network, at, 16)
            profile.remember(profile.addresses, address, at, 16)
        certificate = event.client_certificate_sha256.lower()
        if certificate:
            if profile.certificates and certificate not in profile.certificates:
                self.detect(
                    "station-new-certificate",
                    STATION,
                    station_id,
                    tenant,
                    f"{station_id} connected with client certificate {certificate[:16]}…, not the one(s) it used "
                    "before.",
                    [evidence(envelope, f"client certificate {certificate[:16]}…")],
                    stations=[station_id],
                    attributes={"certificate_sha256": certificate, "known": ", ".join(profile.certificates)},
                )
            profile.remember(profile.certificates, certificate, at, 8)
        # Storm: a connection soon after this station's disconnection is a reconnect.
        if profile.disconnected_at and at - profile.disconnected_at <= self.p["storm_reconnect_seconds"]:
            self._reconnect(envelope, tenant, at)
        profile.connected = True
        profile.disconnected_at = 0.0

    def _reconnect(self, envelope: Envelope, tenant: str, at: float) -> None:
        item = evidence(envelope, f"{envelope.station_id} reconnected")
        window = self._window_add(self.reconnects_by_tenant, tenant, item, self.p["storm_window_seconds"])
        stations = {i.station_id for i in window}
        if len(stations) >= self.p["storm_min_stations"]:
            self.detect(
                "connection-storm",
                TENANT,
                tenant or "unknown",
                tenant,
                f"{len(stations)} stations of {tenant or 'an unknown tenant'} dropped and re-established their "
                f"connections within {self.p['storm_window_seconds']:.0f} s.",
                list(window)[-25:],
                stations=sorted(stations),
                attributes={"stations": str(len(stations))},
            )

    def _boot(self, envelope: Envelope, at: float) -> None:
        station_id = envelope.station_id
        profile = self.station(station_id, envelope.tenant_id, at)
        self._message(profile, envelope, at)
        version = envelope.boot.firmware_version
        if not version or version == profile.firmware_version:
            return
        previous = profile.firmware_version
        profile.firmware_version = version
        profile.firmware_history = [*profile.firmware_history[-7:], version]
        profile.dirty = True
        if not previous:
            return
        tenant = self.tenant_of(station_id, envelope.tenant_id)
        old, new = version_key(previous), version_key(version)
        item = evidence(envelope, f"booted with firmware {version} (was {previous})")
        attributes = {"previous_version": previous, "version": version}
        if old is not None and new is not None and new < old:
            self.detect(
                "firmware-downgrade",
                STATION,
                station_id,
                tenant,
                f"{station_id} booted with firmware {version}, older than the {previous} it ran before.",
                [item],
                stations=[station_id],
                attributes=attributes,
            )
        elif at - profile.last_firmware_command > self.p["firmware_update_grace_seconds"]:
            self.detect(
                "firmware-unexpected-change",
                STATION,
                station_id,
                tenant,
                f"{station_id} booted with firmware {version} (was {previous}) although no firmware update was "
                "sent to it through ChargeWatch recently.",
                [item],
                stations=[station_id],
                attributes=attributes,
            )

    def _status(self, envelope: Envelope, at: float) -> None:
        profile = self.station(envelope.station_id, envelope.tenant_id, at)
        self._message(profile, envelope, at)
        profile.accumulator[an.STATUS_CHANGES] += 1.0

    def _meter_values(self, envelope: Envelope, at: float) -> None:
        """Energy and power for the behaviour window, and registers that go backwards in time order.

        The gateway's own `register_backwards` flag is not used: it compares readings in arrival order,
        so a 1.6 StopTransaction's transactionData (the session's history, oldest first) looks like a
        rewind. Here a reading counts only when it is newer than the newest seen for its connector,
        as telemetry (whose MeterRegisterBackwards events feed the same rule) also checks.
        """
        station_id = envelope.station_id
        profile = self.station(station_id, envelope.tenant_id, at)
        self._message(profile, envelope, at)
        meter = envelope.meter_values
        accumulator = profile.accumulator
        # Readings are ordered by the message's station time: one timestamp per message, not per sample.
        stamp = envelope.station_time
        when = stamp.seconds + stamp.nanos * 1e-9
        key = (meter.evse_id, meter.connector_id)
        registers = profile.last_register
        rewound: tuple[float, float] | None = None
        for sample in meter.samples:
            measurand = sample.measurand
            if measurand == POWER:
                if sample.value > accumulator[an.MAX_POWER_W]:
                    accumulator[an.MAX_POWER_W] = sample.value
                continue
            if (measurand and measurand != ENERGY_REGISTER) or sample.phase:
                continue
            value = sample.value
            last = registers.get(key)
            if last is not None:
                if when <= last[0]:
                    continue  # history (transactionData, a redelivery): already accounted
                if value > last[1]:
                    accumulator[an.ENERGY_WH] += value - last[1]
                elif value < last[1] - REGISTER_TOLERANCE_WH:
                    rewound = (last[1], value)
            registers[key] = (when, value)
        if rewound is not None:
            before, after = rewound
            self._immediate(
                "meter-register-backwards",
                envelope,
                f"energy register on connector {meter.evse_id}/{meter.connector_id} fell from {before:,.0f} Wh "
                f"to {after:,.0f} Wh",
                {"register_before_wh": f"{before:.1f}", "register_after_wh": f"{after:.1f}"},
            )
        if POWER_IMPLAUSIBLE in meter.quality_flags:
            self._immediate(
                "meter-impossible-power",
                envelope,
                "meter values flagged power_implausible",
                {"quality_flag": POWER_IMPLAUSIBLE},
            )
        self._clock(profile, envelope, at, offset=when - at)

    def _transaction(self, envelope: Envelope, at: float) -> None:
        station_id = envelope.station_id
        profile = self.station(station_id, envelope.tenant_id, at)
        self._message(profile, envelope, at)
        self._clock(profile, envelope, at)
        tx = envelope.transaction
        if tx.kind == TX_STARTED:
            profile.accumulator[an.SESSION_STARTS] += 1.0
            profile.open_sessions[tx.transaction_id] = (at, tx.meter_wh)
            if tx.id_token and tx.id_token_type != KEYCODE:
                self._token_started(envelope, tx, at)
        elif tx.kind == TX_ENDED:
            started = profile.open_sessions.pop(tx.transaction_id, None)
            if started is not None:
                self._session_ended(profile, at - started[0], tx.meter_wh - started[1])
            # 1.6 may end a transaction without its idTag: the index says whose it was.
            session_key = f"{station_id}/{tx.transaction_id}"
            owner = self.token_of_session.pop(session_key, "") or tx.id_token
            token = self.tokens.get(owner) if owner else None
            if token is not None:
                token.open_sessions.pop(session_key, None)

    def _authorization(self, envelope: Envelope, at: float) -> None:
        station_id = envelope.station_id
        profile = self.station(station_id, envelope.tenant_id, at)
        self._message(profile, envelope, at)
        decision = envelope.authorization
        accepted = decision.status == AUTH.AUTHORIZATION_STATUS_ACCEPTED
        profile.accumulator[an.AUTHORIZATIONS] += 1.0
        if not accepted:
            profile.accumulator[an.AUTH_REFUSED] += 1.0
        token = decision.id_token
        if not token or decision.id_token_type == KEYCODE:
            return
        if decision.reason in UNKNOWN_TOKEN_REASONS or decision.status in (
            AUTH.AUTHORIZATION_STATUS_INVALID,
            AUTH.AUTHORIZATION_STATUS_UNKNOWN,
        ):
            self._refused_token(envelope, token, at)
        if decision.reason not in NOT_A_PRESENTATION:
            self._presented(envelope, token, at, accepted)

    def _refused_token(self, envelope: Envelope, token: str, at: float) -> None:
        station_id = envelope.station_id
        refused = self.refused_tokens.get(station_id)
        if refused is None:
            refused = self.refused_tokens[station_id] = deque()
        refused.append((evidence(envelope, f"token {token} refused ({envelope.authorization.reason})"), token))
        floor = at - self.p["token_enumeration_window_seconds"]
        while refused and refused[0][0].at < floor:
            refused.popleft()
        tokens = {t for _, t in refused}
        if len(tokens) >= self.p["token_enumeration_tokens"]:
            self.detect(
                "token-enumeration",
                STATION,
                station_id,
                self.tenant_of(station_id, envelope.tenant_id),
                f"{len(tokens)} different unknown or invalid tokens were presented at {station_id} within "
                f"{self.p['token_enumeration_window_seconds']:.0f} s.",
                [item for item, _ in list(refused)[-25:]],
                stations=[station_id],
                attributes={"tokens": str(len(tokens))},
            )

    # -- tokens -----------------------------------------------------------------------------------------
    def _token(self, token: str, at: float) -> TokenProfile:
        profile = self.tokens.get(token)
        if profile is None:
            profile = self.tokens[token] = TokenProfile()
        profile.last_seen = max(profile.last_seen, at)
        return profile

    def _presented(self, envelope: Envelope, token: str, at: float, accepted: bool, what: str = "authorized") -> None:
        """One use of a token at a station: compare it with the token's other recent uses."""
        station_id = envelope.station_id
        tenant = self.tenant_of(station_id, envelope.tenant_id)
        profile = self._token(token, at)
        if accepted and tenant:
            profile.owner_tenant = tenant
        item = evidence(envelope, f"token {token} {what if accepted else 'presented'} at {station_id}")
        history = self.p["clone_history_seconds"]
        here = self.locations(station_id)
        for use in reversed(profile.uses):
            if use.station_id == station_id or abs(at - use.at) > history:
                continue
            there = self.locations(use.station_id)
            if here is None or there is None:
                continue
            distance = haversine_km(here, there)
            if distance < self.p["clone_min_distance_km"]:
                continue
            hours = abs(at - use.at) / 3600.0
            speed = distance / max(hours, 1e-6)
            if speed <= self.p["clone_max_speed_kmh"]:
                continue
            minutes = abs(at - use.at) / 60.0
            self.detect(
                "token-clone",
                TOKEN,
                token,
                profile.owner_tenant or tenant,
                f"Token {token} was used at {use.station_id} and {station_id}, {distance:,.0f} km apart, "
                f"{minutes:,.1f} min apart ({speed:,.0f} km/h; no one travels faster than "
                f"{self.p['clone_max_speed_kmh']:.0f} km/h between charges).",
                [use.evidence, item],
                stations=[use.station_id, station_id],
                attributes={
                    "distance_km": f"{distance:.1f}",
                    "minutes": f"{minutes:.2f}",
                    "speed_kmh": f"{speed:.0f}",
                    "first_station": use.station_id,
                    "second_station": station_id,
                },
            )
            break
        profile.uses.append(TokenUse(station_id, at, accepted, tenant, item))

    def _token_started(self, envelope: Envelope, tx: events_pb2.TransactionEvent, at: float) -> None:
        token = tx.id_token
        station_id = envelope.station_id
        profile = self._token(token, at)
        item = evidence(envelope, f"token {token} started transaction {tx.transaction_id} at {station_id}")
        stale = at - self.p["clone_history_seconds"]
        for key, (other_station, started, other_item) in list(profile.open_sessions.items()):
            if started < stale:
                del profile.open_sessions[key]
                self.token_of_session.pop(key, None)
            elif other_station != station_id:
                tenant = profile.owner_tenant or self.tenant_of(station_id, envelope.tenant_id)
                self.detect(
                    "token-clone",
                    TOKEN,
                    token,
                    tenant,
                    f"Token {token} is charging at {other_station} and {station_id} at the same time.",
                    [other_item, item],
                    stations=[other_station, station_id],
                    attributes={"first_station": other_station, "second_station": station_id, "concurrent": "true"},
                )
                break
        session_key = f"{station_id}/{tx.transaction_id}"
        profile.open_sessions[session_key] = (station_id, at, item)
        self.token_of_session[session_key] = token
        # A started transaction is a use too (a local authorization list never asks authz).
        recent = profile.uses[-1] if profile.uses else None
        if recent is None or recent.station_id != station_id or at - recent.at > 300:
            self._presented(envelope, token, at, True, "started a transaction")

    # -- security events --------------------------------------------------------------------------------
    def _security(self, envelope: Envelope, at: float) -> None:
        event = envelope.security
        kind = event.type
        station_id = envelope.station_id
        from_station = event.reported_by == REPORTED_BY_STATION
        profile = self.station(station_id, envelope.tenant_id, at) if station_id else None
        if profile is not None:
            profile.accumulator[an.SECURITY_EVENTS] += 1.0
            if from_station:
                self._message(profile, envelope, at)
                self._clock(profile, envelope, at, setting=kind == "SettingSystemTime")
        rule = IMMEDIATE_RULES.get(kind)
        if rule is not None:
            self._immediate(rule, envelope, security_summary(envelope), {"event_type": kind})
        elif kind in BRUTE_FORCE_TYPES:
            self._invalid_credentials(envelope, at)
        elif kind in UNKNOWN_STATION_TYPES:
            self._unknown_station(envelope, at)
        elif kind in TLS_FAILURE_TYPES:
            self._tls_failure(envelope, at)
        elif kind in INVALID_MESSAGE_TYPES:
            self._counted(
                "invalid-message-flood",
                self.invalid_by_station,
                envelope,
                self.p["invalid_messages"],
                self.p["invalid_message_window_seconds"],
                "invalid messages",
            )
        elif kind in REPLAY_TYPES:
            self._counted(
                "replayed-message-id", self.replays_by_station, envelope, self.p["replayed_messages"], 300.0, "replays"
            )
        elif (
            kind == "ReconfigurationOfSecurityParameters"
            and profile is not None
            and at - profile.last_configuration_command > self.p["reconfiguration_grace_seconds"]
        ):
            self._immediate("security-reconfigured", envelope, security_summary(envelope), {"event_type": kind})

    def _immediate(self, rule: str, envelope: Envelope, summary: str, attributes: dict[str, str]) -> None:
        """A rule one event is enough for, about the event's station (or its address when it names none)."""
        station_id = envelope.station_id
        spec = RULES_BY_ID[rule]
        if station_id:
            subject_kind, subject_id = STATION, station_id
            where = station_id
        else:
            subject_kind, subject_id = ADDRESS, envelope.security.remote_address or "unknown"
            where = f"a connection from {subject_id}"
        self.detect(
            rule,
            subject_kind,
            subject_id,
            self.tenant_of(station_id, envelope.tenant_id) if station_id else "",
            f"{spec.title} at {where}: {summary}.",
            [evidence(envelope, summary)],
            stations=[station_id],
            attributes=attributes,
        )

    def _counted(
        self,
        rule: str,
        table: dict[str, deque[EvidenceItem]],
        envelope: Envelope,
        threshold: float,
        span: float,
        what: str,
    ) -> None:
        station_id = envelope.station_id
        key = station_id or envelope.security.remote_address
        items = self._window_add(table, key, evidence(envelope, security_summary(envelope)), span)
        if len(items) >= threshold:
            subject_kind = STATION if station_id else ADDRESS
            self.detect(
                rule,
                subject_kind,
                key or "unknown",
                self.tenant_of(station_id, envelope.tenant_id) if station_id else "",
                f"{len(items)} {what} from {key} within {span:.0f} s.",
                list(items)[-25:],
                stations=[station_id],
                attributes={"count": str(len(items)), "window_seconds": f"{span:.0f}"},
            )

    def _invalid_credentials(self, envelope: Envelope, at: float) -> None:
        station_id = envelope.station_id
        address = envelope.security.remote_address
        item = evidence(envelope, f"wrong password for {station_id or '?'} from {address or '?'}")
        if station_id:
            span = self.p["brute_force_window_seconds"]
            failures = self._window_add(self.failures_by_station, station_id, item, span)
            if len(failures) >= self.p["brute_force_failures"]:
                addresses = sorted({i.summary.rsplit(" ", 1)[-1] for i in failures})
                self.detect(
                    "station-brute-force",
                    STATION,
                    station_id,
                    self.tenant_of(station_id),
                    f"{len(failures)} wrong passwords for {station_id} within {span:.0f} s, from "
                    f"{', '.join(addresses[:5])}{' and others' if len(addresses) > 5 else ''}.",
                    list(failures)[-25:],
                    stations=[station_id],
                    attributes={"failures": str(len(failures)), "addresses": ", ".join(addresses[:20])},
                )
        if address:
            span = self.p["spraying_window_seconds"]
            tries = self._window_add(self.failures_by_address, address, item, span)
            stations = {i.station_id for i in tries if i.station_id}
            if len(stations) >= self.p["spraying_stations"]:
                self.detect(
                    "credential-spraying",
                    ADDRESS,
                    address,
                    "",
                    f"{address} failed to authenticate as {len(stations)} different stations within {span:.0f} s.",
                    list(tries)[-25:],
                    stations=sorted(stations),
                    attributes={"stations": str(len(stations))},
                )

    def _unknown_station(self, envelope: Envelope, at: float) -> None:
        address = envelope.security.remote_address or "unknown"
        claimed = envelope.station_id or envelope.security.attributes.get("path", "")
        item = evidence(envelope, f"{envelope.security.type} {claimed or '(no station id)'} from {address}")
        span = self.p["unknown_station_window_seconds"]
        attempts = self._window_add(self.unknown_by_address, address, item, span)
        if len(attempts) < self.p["unknown_station_attempts"]:
            return
        ids = sorted({i.station_id for i in attempts if i.station_id})
        enumeration = len(ids) >= self.p["unknown_station_ids"]
        self.detect(
            "unknown-station",
            ADDRESS,
            address,
            "",
            f"{address} tried to connect {len(attempts)} times within {span:.0f} s as "
            f"{len(ids)} unknown station id(s)"
            + (": an enumeration of station ids." if enumeration else f" ({', '.join(ids[:5]) or 'no id'})."),
            list(attempts)[-25:],
            severity=MEDIUM if enumeration else LOW,
            attributes={"attempts": str(len(attempts)), "station_ids": ", ".join(ids[:20])},
        )

    def _tls_failure(self, envelope: Envelope, at: float) -> None:
        event = envelope.security
        address = event.remote_address or "unknown"
        station_id = envelope.station_id
        if event.type == "InvalidClientCertificate" and station_id:
            certificate = event.attributes.get("certificate_sha256", "")
            self.detect(
                "station-new-certificate",
                STATION,
                station_id,
                self.tenant_of(station_id),
                f"A client certificate that does not name {station_id} was presented for it from {address}.",
                [evidence(envelope, security_summary(envelope))],
                stations=[station_id],
                attributes={"certificate_sha256": certificate, "address": address},
            )
        span = self.p["tls_window_seconds"]
        failures = self._window_add(self.tls_by_address, address, evidence(envelope, security_summary(envelope)), span)
        if len(failures) >= self.p["tls_failures"]:
            self.detect(
                "tls-handshake-failures",
                ADDRESS,
                address,
                "",
                f"{len(failures)} TLS handshakes from {address} failed within {span:.0f} s.",
                list(failures)[-25:],
                stations=[station_id],
                attributes={"failures": str(len(failures))},
            )

    # -- notifications (firmware) -----------------------------------------------------------------------
    def _notification(self, envelope: Envelope, at: float) -> None:
        station_id = envelope.station_id
        profile = self.station(station_id, envelope.tenant_id, at)
        self._message(profile, envelope, at)
        profile.accumulator[an.NOTIFICATIONS] += 1.0
        note = envelope.notification
        if note.action not in FIRMWARE_ACTIONS:
            return
        if note.status in FIRMWARE_INVALID_STATUSES:
            self._immediate(
                "firmware-invalid-signature",
                envelope,
                f"{note.action} {note.status}",
                {"status": note.status, "request_id": str(note.request_id)},
            )
        elif note.status in FIRMWARE_ACTIVE_STATUSES and not self.maintenance.allows(at):
            self._immediate(
                "firmware-outside-maintenance",
                envelope,
                f"firmware {note.status.lower()} outside the maintenance window",
                {"status": note.status},
            )

    # -- operator commands ------------------------------------------------------------------------------
    def _command(self, envelope: Envelope, at: float) -> None:
        audit = envelope.command
        kind = audit.command_kind.removeprefix("COMMAND_KIND_")
        station_id = envelope.station_id
        principal = audit.requested_by or audit.requested_by_client or "anonymous"
        profile = self.station(station_id, envelope.tenant_id, at) if station_id else None
        if profile is not None:
            if kind == "UPDATE_FIRMWARE":
                profile.last_firmware_command = at
                profile.dirty = True
            elif kind in CONFIGURATION_COMMANDS:
                profile.last_configuration_command = at
                profile.dirty = True
        who = self.principals.get(principal)
        known_kind = who is not None and kind in who.kinds
        if who is None:
            who = self.principals[principal] = PrincipalProfile(principal, first_seen=at)
        who.last_seen = at
        who.kinds[kind] = who.kinds.get(kind, 0) + 1
        who.roles = list(audit.requested_by_roles)
        who.commands += 1
        who.dirty = True
        self.fleet_commands += 1
        roles = set(audit.requested_by_roles)
        operator_wide = bool(roles & {"operator", "sre", "security-analyst"})
        tenant = "" if operator_wide else audit.tenant_id
        item = evidence(envelope, f"{kind} to {station_id} by {principal} ({audit.outcome or 'no outcome'})")
        if kind == "UPDATE_FIRMWARE" and not self.maintenance.allows(at):
            self._immediate("firmware-outside-maintenance", envelope, f"UpdateFirmware sent by {principal}", {})
        if kind in HIGH_IMPACT_COMMANDS:
            unusual = ""
            if not roles & OPERATOR_ROLES:
                unusual = f"{principal} has no operator role ({', '.join(sorted(roles)) or 'no roles'})"
            elif not known_kind and self.fleet_commands > self.p["principal_learning_commands"]:
                unusual = f"{principal} never issued {kind} before"
            if unusual:
                self.detect(
                    "unusual-command-principal",
                    PRINCIPAL,
                    principal,
                    tenant,
                    f"{kind} to {station_id} by an unusual principal: {unusual}.",
                    [item],
                    stations=[station_id],
                    attributes={"command": kind, "roles": ", ".join(sorted(roles))},
                )
        if kind in DISRUPTIVE_COMMANDS:
            span = self.p["command_burst_window_seconds"]
            commands = self._window_add(self.commands_by_principal, principal, item, span)
            stations = {i.station_id for i in commands}
            if len(commands) >= self.p["command_burst"] or len(stations) >= self.p["command_burst_stations"]:
                self.detect(
                    "operator-command-burst",
                    PRINCIPAL,
                    principal,
                    tenant,
                    f"{principal} issued {len(commands)} disruptive commands to {len(stations)} stations within "
                    f"{span:.0f} s.",
                    list(commands)[-25:],
                    stations=sorted(stations),
                    attributes={"commands": str(len(commands)), "stations": str(len(stations))},
                )

    # -- profiles for checkpoints and the API -----------------------------------------------------------
    def dirty_profiles(self) -> list[StationProfile | PrincipalProfile]:
        out: list[StationProfile | PrincipalProfile] = [p for p in self.stations.values() if p.dirty]
        out += [p for p in self.principals.values() if p.dirty]
        return out


__all__ = ["HIGH", "DetectionEngine", "MaintenanceWindows", "haversine_km", "version_key"]
