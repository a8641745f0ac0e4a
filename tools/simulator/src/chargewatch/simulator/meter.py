"""The electricity meter of one connector: an integer energy register and the readings around it.

The register counts whole Wh, so `meter_stop - meter_start` is exactly the energy a session
delivered; fractions of a Wh are carried to the next advance, never rounded away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Final

NOMINAL_VOLTAGE: Final = 230.0
PHASES: Final = ("L1", "L2", "L3")


@dataclass(frozen=True)
class MeterSample:
    """What the meter reads at one instant."""

    register_wh: int
    power_w: float
    current_a: tuple[float, ...]  # per phase
    voltage_v: tuple[float, ...]  # per phase, line to neutral
    soc_percent: int | None


@dataclass
class ConnectorMeter:
    register_wh: int = 0
    phases: int = 3
    power_w: float = 0.0
    soc_percent: float | None = None
    _carry_wh: float = 0.0

    def plug_in(self, rng: random.Random) -> None:
        """An EV starts drawing: a power between 3.7 and 22 kW (AC, by phase count) and a starting SoC."""
        max_power = NOMINAL_VOLTAGE * 32 * self.phases
        self.power_w = round(rng.uniform(0.3, 1.0) * max_power, 1)
        self.soc_percent = float(rng.randint(10, 60))

    def unplug(self) -> None:
        self.power_w = 0.0
        self.soc_percent = None

    def advance(self, seconds: float, battery_wh: float = 60_000.0) -> int:
        """Let `seconds` of charging pass; returns the register. SoC rises with the energy, tapering at 100%."""
        if seconds <= 0 or self.power_w <= 0:
            return self.register_wh
        energy = self.power_w * seconds / 3600 + self._carry_wh
        whole = int(energy)
        self._carry_wh = energy - whole
        self.register_wh += whole
        if self.soc_percent is not None:
            self.soc_percent = min(100.0, self.soc_percent + 100 * (self.power_w * seconds / 3600) / battery_wh)
        return self.register_wh

    def rewind(self, wh: int) -> int:
        """Tampering: the register goes backwards by `wh` (never below zero)."""
        self.register_wh = max(0, self.register_wh - wh)
        self._carry_wh = 0.0
        return self.register_wh

    def sample(self, rng: random.Random | None = None) -> MeterSample:
        jitter = rng.uniform(-2.0, 2.0) if rng is not None else 0.0
        voltages = tuple(round(NOMINAL_VOLTAGE + jitter, 1) for _ in range(self.phases))
        per_phase = self.power_w / self.phases / voltages[0] if self.power_w > 0 else 0.0
        return MeterSample(
            register_wh=self.register_wh,
            power_w=round(self.power_w, 1),
            current_a=tuple(round(per_phase, 2) for _ in range(self.phases)),
            voltage_v=voltages,
            soc_percent=None if self.soc_percent is None else int(self.soc_percent),
        )


def sampled_values_16(sample: MeterSample, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    """OCPP 1.6 sampledValue entries (values are strings there)."""
    values: list[dict[str, Any]] = [
        {"value": str(sample.register_wh), "context": context, "measurand": "Energy.Active.Import.Register",
         "location": "Outlet", "unit": "Wh"},
        {"value": f"{sample.power_w:.1f}", "context": context, "measurand": "Power.Active.Import",
         "location": "Outlet", "unit": "W"},
    ]  # fmt: skip
    for phase, current in zip(PHASES, sample.current_a, strict=False):
        values.append({"value": f"{current:.2f}", "context": context, "measurand": "Current.Import",
                       "phase": phase, "location": "Outlet", "unit": "A"})  # fmt: skip
    for phase, voltage in zip(PHASES, sample.voltage_v, strict=False):
        values.append({"value": f"{voltage:.1f}", "context": context, "measurand": "Voltage",
                       "phase": f"{phase}-N", "location": "Outlet", "unit": "V"})  # fmt: skip
    if sample.soc_percent is not None:
        values.append({"value": str(sample.soc_percent), "context": context, "measurand": "SoC",
                       "location": "EV", "unit": "Percent"})  # fmt: skip
    return values


def sampled_values_201(sample: MeterSample, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    """OCPP 2.0.1 sampledValue entries (numbers, unit under unitOfMeasure)."""
    values: list[dict[str, Any]] = [
        {"value": sample.register_wh, "context": context, "measurand": "Energy.Active.Import.Register",
         "location": "Outlet", "unit_of_measure": {"unit": "Wh"}},
        {"value": sample.power_w, "context": context, "measurand": "Power.Active.Import",
         "location": "Outlet", "unit_of_measure": {"unit": "W"}},
    ]  # fmt: skip
    for phase, current in zip(PHASES, sample.current_a, strict=False):
        values.append({"value": current, "context": context, "measurand": "Current.Import", "phase": phase,
                       "location": "Outlet", "unit_of_measure": {"unit": "A"}})  # fmt: skip
    for phase, voltage in zip(PHASES, sample.voltage_v, strict=False):
        values.append({"value": voltage, "context": context, "measurand": "Voltage", "phase": f"{phase}-N",
                       "location": "Outlet", "unit_of_measure": {"unit": "V"}})  # fmt: skip
    if sample.soc_percent is not None:
        values.append({"value": sample.soc_percent, "context": context, "measurand": "SoC", "location": "EV",
                       "unit_of_measure": {"unit": "Percent"}})  # fmt: skip
    return values
