"""What a simulation did: messages sent and answered per action, commands, refusals, errors, latencies."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from chargewatch.simulator.report import Report

# Latency samples kept per run (reservoir sampling beyond it), so a run of days stays small.
MAX_SAMPLES: Final = 100_000
# And per action, for the per-action percentiles.
MAX_ACTION_SAMPLES: Final = 10_000
MAX_ERROR_EXAMPLES: Final = 20


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


@dataclass
class Reservoir:
    """A uniform sample of at most `capacity` values of a stream of any length (reservoir sampling)."""

    capacity: int
    values: list[float] = field(default_factory=list)
    seen: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.capacity:
            self.values.append(value)
            return
        slot = self.rng.randrange(self.seen)
        if slot < self.capacity:
            self.values[slot] = value

    def percentiles(self) -> dict[str, float]:
        ordered = sorted(self.values)
        return {name: percentile(ordered, fraction) for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}


@dataclass
class Stats:
    sent: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    #: Commands received from the CSMS, per action.
    received: Counter[str] = field(default_factory=Counter)
    #: Refusals a scenario expects (wrong passwords, a cloned card, a rate limit): counted, not errors.
    refused: Counter[str] = field(default_factory=Counter)
    #: Queued messages sent after a reconnect, per action.
    replayed: Counter[str] = field(default_factory=Counter)
    #: Work commands set in motion (remote starts, firmware progress...), per kind.
    follow_ups: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    #: Handshakes answered 503 (the CSMS is busy, e.g. authenticating a burst of stations): a
    #: station retries them, as real ones do; one still refused when the run ends is an error.
    busy: int = 0
    busy_stations: set[str] = field(default_factory=set)
    connected: set[str] = field(default_factory=set)
    connects: int = 0
    disconnects: int = 0
    offline_periods: int = 0
    storm_reconnects: int = 0
    _latencies: Reservoir = field(default_factory=lambda: Reservoir(MAX_SAMPLES))
    #: Per action: which message is slow (a stop waits for more than a heartbeat).
    _action_latencies: dict[str, Reservoir] = field(default_factory=dict)

    def record_sent(self, action: str) -> None:
        self.sent[action] += 1

    def record_answer(self, action: str, seconds: float) -> None:
        self.answered[action] += 1
        self._latencies.add(seconds)
        per_action = self._action_latencies.get(action)
        if per_action is None:
            per_action = self._action_latencies[action] = Reservoir(MAX_ACTION_SAMPLES)
        per_action.add(seconds)

    @property
    def latencies(self) -> list[float]:
        """The answer latencies kept (every one, or a uniform sample of MAX_SAMPLES), in seconds."""
        return self._latencies.values

    def record_error(self, kind: str, station_id: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_examples) < MAX_ERROR_EXAMPLES:
            self.error_examples.append(f"{station_id}: {kind}: {detail}")

    def record_received(self, action: str) -> None:
        self.received[action] += 1

    def record_refused(self, kind: str) -> None:
        self.refused[kind] += 1

    def record_replayed(self, action: str) -> None:
        self.replayed[action] += 1

    def record_follow_up(self, kind: str) -> None:
        self.follow_ups[kind] += 1

    def record_offline(self, station_id: str) -> None:
        self.offline_periods += 1

    def record_storm(self, station_id: str) -> None:
        self.storm_reconnects += 1

    def record_connected(self, station_id: str) -> None:
        self.connected.add(station_id)
        self.busy_stations.discard(station_id)
        self.connects += 1

    def record_busy(self, station_id: str) -> None:
        self.busy += 1
        self.busy_stations.add(station_id)

    def settle_busy(self) -> None:
        """At the end of a run: a station whose last handshake was answered 503 never got in."""
        for station_id in sorted(self.busy_stations):
            self.record_error("connect", station_id, "HTTP 503 until the end of the run")
        self.busy_stations.clear()

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def latency_percentiles(self, action: str | None = None) -> dict[str, float]:
        """p50, p95 and p99 of the answer latencies in seconds: of every answer, or of one action's."""
        if action is None:
            return self._latencies.percentiles()
        per_action = self._action_latencies.get(action)
        return per_action.percentiles() if per_action is not None else Reservoir(0).percentiles()

    def summary(self, stations: int, elapsed_seconds: float, report: Report | None = None) -> str:
        lines = [
            f"stations connected: {len(self.connected)}/{stations} "
            f"(connections {self.connects}, dropped {self.disconnects}, offline periods {self.offline_periods}, "
            f"storm reconnects {self.storm_reconnects}) in {elapsed_seconds:.1f}s",
            f"messages sent (answered) {'answer ms: p50':>42} {'p99':>8}",
        ]
        for action, count in sorted(self.sent.items()):
            answered = f"{count:>8} ({self.answered[action]})"
            if action in self._action_latencies:
                quantiles = self.latency_percentiles(action)
                answered = f"{answered:<20} {quantiles['p50'] * 1000:>9.1f} {quantiles['p99'] * 1000:>8.1f}"
            lines.append(f"  {action:<34} {answered}")
        for title, counter in (
            ("queued while offline, sent after reconnect:", self.replayed),
            ("commands received:", self.received),
            ("command follow-ups:", self.follow_ups),
            ("expected refusals:", self.refused),
        ):
            if counter:
                lines.append(title)
                lines += [f"  {name:<34} {count:>8}" for name, count in sorted(counter.items())]
        if report is not None and (report.sessions or report.faults):
            totals = report.to_dict()["totals"]
            lines.append(
                f"sessions: {totals['sessions']} ({totals['complete_sessions']} complete), "
                f"energy {totals['energy_wh']} Wh; faults: {totals['faults']}; "
                f"offline periods: {totals['offline_periods']}"
            )
        total = sum(self.answered.values())
        rate = total / elapsed_seconds if elapsed_seconds > 0 else 0.0
        quantiles = self.latency_percentiles()
        lines.append(
            f"answer latency ms: p50 {quantiles['p50'] * 1000:.1f}  p95 {quantiles['p95'] * 1000:.1f}  "
            f"p99 {quantiles['p99'] * 1000:.1f}  ({total} answers, {rate:.1f}/s)"
        )
        if self.busy:
            lines.append(f"handshakes answered 503 (CSMS busy) and retried: {self.busy}")
        lines.append(f"errors: {self.error_count}")
        lines += [f"  {kind:<34} {count:>8}" for kind, count in sorted(self.errors.items())]
        lines += [f"  e.g. {example}" for example in self.error_examples[:5]]
        return "\n".join(lines)
