"""An engine with known station locations and a clock, for rule tests."""

from __future__ import annotations

from collections.abc import Iterable

from chargewatch.security_monitor.catalogue import Parameters
from chargewatch.security_monitor.engine import DetectionEngine, MaintenanceWindows
from chargewatch.security_monitor.model import Detection
from chargewatch.security_monitor.synthetic import Events
from chargewatch.v1 import events_pb2

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC, a Friday
AMSTERDAM = (52.3791, 4.9003)
BERLIN = (52.5200, 13.4050)
UTRECHT = (52.0884, 5.1050)
LOCATIONS = {
    "AMS-1": AMSTERDAM,
    "AMS-2": (AMSTERDAM[0] + 0.001, AMSTERDAM[1]),
    "BER-1": BERLIN,
    "UTR-1": UTRECHT,
}
TENANTS = {"AMS-1": "partner-a", "AMS-2": "partner-a", "UTR-1": "partner-a", "BER-1": "partner-b"}


def engine(
    overrides: dict[str, float] | None = None,
    *,
    disabled: Iterable[str] = (),
    maintenance: Iterable[str] = (),
) -> DetectionEngine:
    return DetectionEngine(
        Parameters(overrides),
        disabled=disabled,
        maintenance=MaintenanceWindows(maintenance),
        locations=LOCATIONS.get,
        tenants=lambda s: TENANTS.get(s, ""),
    )


def run(target: DetectionEngine, envelopes: Iterable[events_pb2.EventEnvelope]) -> list[Detection]:
    for envelope in envelopes:
        target.process(envelope)
    return target.take()


def rules(detections: Iterable[Detection]) -> list[str]:
    return [d.rule for d in detections]


ev = Events("t")
