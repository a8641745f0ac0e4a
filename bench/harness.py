"""Shared pieces of the benchmarks: repeated timing, medians and the results file."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass
class Measurement:
    """One figure: the median of repeated runs, beside its baseline from the same run."""

    name: str
    unit: str
    samples: list[float]
    baseline_name: str | None = None
    baseline_samples: list[float] = field(default_factory=list)
    higher_is_better: bool = True
    target: str = ""
    # Sample i of each was measured moments apart (the same window of a run): the ratio is the median
    # of the per-pair ratios, which a machine whose speed drifts between windows disturbs far less.
    paired: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline_samples) if self.baseline_samples else None

    @property
    def ratio(self) -> float | None:
        if self.paired and len(self.samples) == len(self.baseline_samples) and all(self.baseline_samples):
            return statistics.median(s / b for s, b in zip(self.samples, self.baseline_samples, strict=True))
        base = self.baseline_median
        return None if not base else self.median / base


async def repeat(runs: int, body: Callable[[], Awaitable[float]]) -> list[float]:
    return [await body() for _ in range(runs)]


def rate(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"commit {commit.stdout.strip() or 'unknown'}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def write_section(title: str, description: str, measurements: list[Measurement]) -> str:
    lines = [f"## {title}", "", description.strip(), "", f"Machine: {machine()}", ""]
    lines += ["| measurement | median | baseline (same run) | ratio | target |", "| --- | --- | --- | --- | --- |"]
    for m in measurements:
        base = f"{m.baseline_median:,.0f} {m.unit} ({m.baseline_name})" if m.baseline_median is not None else "—"
        ratio = f"{m.ratio:.2f}x" if m.ratio is not None else "—"
        lines.append(f"| {m.name} | {m.median:,.0f} {m.unit} | {base} | {ratio} | {m.target or '—'} |")
    counts = {len(m.samples) for m in measurements}
    if len(counts) > 1:
        lines += ["", f"Medians of {min(counts)} to {max(counts)} samples each (see above).", ""]
    else:
        lines += ["", f"Medians of {max(counts, default=0)} runs each.", ""]
    if any(m.paired for m in measurements):
        lines[-1:] = ["Ratios: the median of the ratios of samples measured together (see above).", ""]
    return "\n".join(lines)


def record(title: str, section: str) -> None:
    """Replace this benchmark's section in RESULTS.md (other sections stay as they were)."""
    header = "# Benchmark results\n\nWritten by `make bench`; each section is replaced when its benchmark runs again.\n"
    text = RESULTS.read_text() if RESULTS.exists() else header
    marker = f"## {title}"
    if marker in text:
        start = text.index(marker)
        following = text.find("\n## ", start + len(marker))
        end = len(text) if following == -1 else following + 1
        text = text[:start] + section + ("\n" if following != -1 else "") + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")
