"""What a simulation did: messages sent and answered per action, errors, and answer latencies."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

# Latency samples kept per run (reservoir sampling beyond it), so a run of days stays small.
MAX_SAMPLES: Final = 100_000
MAX_ERROR_EXAMPLES: Final = 20


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


@dataclass
class Stats:
    sent: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    connected: set[str] = field(default_factory=set)
    connects: int = 0
    disconnects: int = 0
    latencies: list[float] = field(default_factory=list)
    _samples_seen: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0))

    def record_sent(self, action: str) -> None:
        self.sent[action] += 1

    def record_answer(self, action: str, seconds: float) -> None:
        self.answered[action] += 1
        self._samples_seen += 1
        if len(self.latencies) < MAX_SAMPLES:
            self.latencies.append(seconds)
        else:
            slot = self._rng.randrange(self._samples_seen)
            if slot < MAX_SAMPLES:
                self.latencies[slot] = seconds

    def record_error(self, kind: str, station_id: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_examples) < MAX_ERROR_EXAMPLES:
            self.error_examples.append(f"{station_id}: {kind}: {detail}")

    def record_received(self, action: str) -> None:
        self.received[action] += 1

    def record_connected(self, station_id: str) -> None:
        self.connected.add(station_id)
        self.connects += 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def latency_percentiles(self) -> dict[str, float]:
        ordered = sorted(self.latencies)
        return {name: percentile(ordered, fraction) for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}

    def summary(self, stations: int, elapsed_seconds: float) -> str:
        lines = [
            f"stations connected: {len(self.connected)}/{stations} "
            f"(connections {self.connects}, dropped {self.disconnects}) in {elapsed_seconds:.1f}s",
            "messages sent (answered):",
        ]
        lines += [f"  {action:<28} {count:>8} ({self.answered[action]})" for action, count in sorted(self.sent.items())]
        if self.received:
            lines.append("commands received:")
            lines += [f"  {action:<28} {count:>8}" for action, count in sorted(self.received.items())]
        total = sum(self.answered.values())
        rate = total / elapsed_seconds if elapsed_seconds > 0 else 0.0
        quantiles = self.latency_percentiles()
        lines.append(
            f"answer latency ms: p50 {quantiles['p50'] * 1000:.1f}  p95 {quantiles['p95'] * 1000:.1f}  "
            f"p99 {quantiles['p99'] * 1000:.1f}  ({total} answers, {rate:.1f}/s)"
        )
        lines.append(f"errors: {self.error_count}")
        lines += [f"  {kind:<28} {count:>8}" for kind, count in sorted(self.errors.items())]
        lines += [f"  e.g. {example}" for example in self.error_examples[:5]]
        return "\n".join(lines)
