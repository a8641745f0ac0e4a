"""The behaviour model: each station's normal traffic, learned online, and how unusual a window is.

A station's activity is cut into windows (`anomaly_window_seconds`, by event time). Each window gives a
feature vector: messages, status changes, authorizations, refused authorizations, session starts,
energy delivered, peak power, security events, notifications, connections. Every feature is compared
in log space (counts and energy are heavy-tailed) with two baselines:

* the station's own: an exponentially weighted mean and variance (`anomaly_alpha`), so the baseline
  follows slow changes of a site's use;
* the fleet's: a `river.stats.Var` per feature over every station's windows, the prior that tells a
  station's first busy evening from an attack.

Both learn a feature only from windows where it is non-zero (how much energy a charging window
delivers, not diluted by idle windows), and a zero never scores.

A feature's z-score is the station's, capped at `FLEET_MARGIN` standard deviations above what the
fleet's z-score says: a value must be unusual for the station AND at least somewhat unusual for the
fleet, so a quiet station's first ordinary session is no anomaly while a flood is. Only values above
the baselines count (silence is an availability matter, not a security one). A feature scores `Phi(z)`
and the window scores the highest of its features, so the alert can say which feature was unusual and
by how much. Standard deviations have a floor, so a station whose windows were all alike does not make
every small change infinitely unusual. A station is scored only after `anomaly_warmup_windows`
windows; empty windows (the station was offline) are neither learned nor scored. Every scored window is
learned, anomalous or not, so a lasting change of use stops alerting once it is the new normal.
Finished sessions are scored the same way on their duration and energy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from river import stats

WINDOW_FEATURES: Final[tuple[str, ...]] = (
    "messages",
    "status_changes",
    "authorizations",
    "auth_refused",
    "session_starts",
    "energy_wh",
    "max_power_w",
    "security_events",
    "notifications",
    "connections",
)
SESSION_FEATURES: Final[tuple[str, ...]] = ("session_duration_s", "session_energy_wh")

# Index of each window feature in a station's accumulator.
MESSAGES, STATUS_CHANGES, AUTHORIZATIONS, AUTH_REFUSED, SESSION_STARTS = 0, 1, 2, 3, 4
ENERGY_WH, MAX_POWER_W, SECURITY_EVENTS, NOTIFICATIONS, CONNECTIONS = 5, 6, 7, 8, 9

# Floor of a baseline's standard deviation in log space: 0.5 is a factor of ~1.65 between windows.
STD_FLOOR: Final = 0.5
# How far (in the fleet's standard deviations) the station's own z-score may exceed the fleet's.
FLEET_MARGIN: Final = 2.0
# Values a baseline needs before it is trusted.
MIN_LEARNED: Final = 3
# Sessions learned before they are scored.
SESSION_WARMUP: Final = 10


def _log(value: float) -> float:
    return math.log1p(max(value, 0.0))


def normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


class EwStat:
    """Exponentially weighted mean and variance (West's incremental form), restorable from its state."""

    __slots__ = ("alpha", "mean", "n", "var")

    def __init__(self, alpha: float, mean: float = 0.0, var: float = 0.0, n: int = 0) -> None:
        self.alpha = alpha
        self.mean = mean
        self.var = var
        self.n = n

    def update(self, x: float) -> None:
        if self.n == 0:
            self.mean, self.var = x, 0.0
        else:
            diff = x - self.mean
            increment = self.alpha * diff
            self.mean += increment
            self.var = (1.0 - self.alpha) * (self.var + diff * increment)
        self.n += 1

    @property
    def std(self) -> float:
        return math.sqrt(max(self.var, 0.0))

    def state(self) -> list[float]:
        return [self.mean, self.var, float(self.n)]

    @classmethod
    def from_state(cls, alpha: float, state: Sequence[float]) -> EwStat:
        return cls(alpha, float(state[0]), float(state[1]), int(state[2]))


class FleetPrior:
    """Per feature, the fleet's distribution of (log) window values: river's Welford variance."""

    def __init__(self, features: Sequence[str]) -> None:
        self.stats: dict[str, stats.Var] = {name: stats.Var() for name in features}

    def update(self, name: str, x: float) -> None:
        self.stats[name].update(x)

    def baseline(self, name: str) -> tuple[float, float, float]:
        """(mean, std, n) of a feature over the fleet's windows."""
        var = self.stats[name]
        n = var.mean.n
        return var.mean.get(), math.sqrt(max(var.get(), 0.0)) if n > 1 else 0.0, n

    def state(self) -> dict[str, list[float]]:
        out = {}
        for name in self.stats:
            mean, std, n = self.baseline(name)
            out[name] = [mean, std * std, n]
        return out

    def restore(self, state: Mapping[str, Sequence[float]]) -> None:
        for name, (mean, var, n) in state.items():
            if name in self.stats and n > 1:
                self.stats[name] = stats.Var._from_state(n, mean, var)


@dataclass(frozen=True, slots=True)
class FeatureScore:
    name: str
    value: float
    score: float
    station_mean: float
    fleet_mean: float


@dataclass(frozen=True, slots=True)
class WindowScore:
    score: float
    top: FeatureScore
    features: tuple[FeatureScore, ...]


class FeatureModel:
    """One station's baselines for a set of features."""

    __slots__ = ("alpha", "last", "learned", "stats")

    def __init__(self, features: Sequence[str], alpha: float) -> None:
        self.alpha = alpha
        self.stats: dict[str, EwStat] = {name: EwStat(alpha) for name in features}
        self.learned = 0
        self.last: WindowScore | None = None

    def score(self, values: Mapping[str, float], fleet: FleetPrior) -> WindowScore:
        features = []
        for name, raw in values.items():
            own = self.stats[name]
            fleet_mean, fleet_std, fleet_n = fleet.baseline(name)
            if raw <= 0:
                features.append(FeatureScore(name, raw, 0.0, math.expm1(own.mean), math.expm1(fleet_mean)))
                continue
            x = _log(raw)
            z_own = (x - own.mean) / max(own.std, STD_FLOOR)
            z_fleet = (x - fleet_mean) / max(fleet_std, STD_FLOOR)
            if fleet_n < MIN_LEARNED:
                z = z_own  # no fleet history yet: the station's own baseline decides alone
            elif own.n < MIN_LEARNED:
                z = z_fleet  # the station never did this (much): compare with the fleet alone
            else:
                z = min(z_own, z_fleet + FLEET_MARGIN)
            features.append(
                FeatureScore(name, raw, normal_cdf(z) if z > 0 else 0.0, math.expm1(own.mean), math.expm1(fleet_mean))
            )
        top = max(features, key=lambda f: f.score)
        return WindowScore(top.score, top, tuple(features))

    def learn(self, values: Mapping[str, float], fleet: FleetPrior) -> None:
        for name, raw in values.items():
            # Baselines of how much, when at all: idle windows would make every busy one look unusual.
            if raw > 0:
                x = _log(raw)
                self.stats[name].update(x)
                fleet.update(name, x)
        self.learned += 1

    def state(self) -> dict[str, Any]:
        return {"learned": self.learned, "stats": {name: s.state() for name, s in self.stats.items()}}

    @classmethod
    def from_state(cls, features: Sequence[str], alpha: float, state: Mapping[str, Any]) -> FeatureModel:
        model = cls(features, alpha)
        model.learned = int(state.get("learned", 0))
        for name, values in (state.get("stats") or {}).items():
            if name in model.stats:
                model.stats[name] = EwStat.from_state(alpha, values)
        return model

    def baselines(self) -> list[tuple[str, float, float]]:
        """(feature, mean, std) in the features' own units (log space undone; std as a factor's spread)."""
        out = []
        for name, stat in self.stats.items():
            out.append((name, math.expm1(stat.mean), math.expm1(stat.mean + stat.std) - math.expm1(stat.mean)))
        return out


def window_values(accumulator: Sequence[float]) -> dict[str, float]:
    return dict(zip(WINDOW_FEATURES, accumulator, strict=True))


def describe(score: WindowScore) -> str:
    top = score.top
    return (
        f"{top.name.replace('_', ' ')} was {top.value:,.0f} in the window against a usual "
        f"{top.station_mean:,.1f} for this station and {top.fleet_mean:,.1f} across the fleet "
        f"(anomaly score {score.score:.5f})"
    )
