"""Charts are packed and rendered once per session; every test reads the rendered objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy import charts

# (chart, value set name) -> the values files layered for it, relative to the chart directory.
UMBRELLA_SETS: dict[str, tuple[str, ...]] = {
    "default": ("ci/default-values.yaml",),
    "production": ("ci/production-values.yaml",),
    "sizing-1k": ("ci/production-values.yaml", "ci/sizing-1k.yaml"),
    "sizing-10k": ("ci/production-values.yaml", "ci/sizing-10k.yaml"),
    "sizing-100k": ("ci/production-values.yaml", "ci/sizing-100k.yaml"),
}

Rendered = dict[tuple[str, str], list[charts.Manifest]]


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Layer values files as `helm -f a -f b` does: maps merge, everything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


def value_sets(name: str, chart_dir: Path) -> dict[str, dict[str, Any]]:
    if name == charts.UMBRELLA:
        sets: dict[str, dict[str, Any]] = {}
        for set_name, files in UMBRELLA_SETS.items():
            values: dict[str, Any] = {}
            for file in files:
                values = merge(values, charts.values_file(chart_dir / file))
            sets[set_name] = values
        return sets
    ci = sorted(chart_dir.glob("ci/*-values.yaml"))
    return {p.name.removesuffix("-values.yaml"): charts.values_file(p) for p in ci} or {"default": {}}


@pytest.fixture(scope="session")
def helm_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return charts.build(tmp_path_factory.mktemp("charts"))


@pytest.fixture(scope="session")
def all_values(helm_root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (name, set_name): values
        for name, path in charts.chart_dirs(helm_root).items()
        for set_name, values in value_sets(name, path).items()
    }


@pytest.fixture(scope="session")
def rendered(helm_root: Path, all_values: dict[tuple[str, str], dict[str, Any]]) -> Rendered:
    dirs = charts.chart_dirs(helm_root)
    return {key: charts.render(dirs[key[0]], values) for key, values in all_values.items()}


@pytest.fixture(scope="session")
def platform(rendered: Rendered) -> dict[str, list[charts.Manifest]]:
    """The umbrella's renders, by value set."""
    return {set_name: objects for (name, set_name), objects in rendered.items() if name == charts.UMBRELLA}
