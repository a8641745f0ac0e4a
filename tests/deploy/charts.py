"""Build and render the Helm charts offline with Helm's own Go library (helm-python-sdk).

Charts depend on each other through `file://` dependencies, as `helm dependency update` resolves
them; this module does the same into a scratch copy of helm/ so the work tree stays untouched.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / "helm"
SERVICES = ("ocpp-gateway", "authz", "telemetry", "sla-engine", "security-monitor", "partner-api")
INFRA = ("redis", "mongodb", "keycloak", "otel-collector")
UMBRELLA = "chargewatch"
RELEASE = "cw"
NAMESPACE = "chargewatch"

Manifest = dict[str, Any]


def chart_dirs(root: Path) -> dict[str, Path]:
    """Every application chart by name: the services, the infrastructure subcharts, the umbrella."""
    dirs = {name: root / name for name in SERVICES}
    dirs.update({name: root / "infra" / name for name in INFRA})
    dirs[UMBRELLA] = root / UMBRELLA
    return dirs


def build(destination: Path) -> Path:
    """Copy helm/ to `destination` and resolve dependencies in order (library, services, umbrella)."""
    root = destination / "helm"
    # Symlinks (the realm file) are followed: the copy holds the real content, as a packaged chart does.
    shutil.copytree(HELM, root, symlinks=False, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    for name in SERVICES:
        helm.dependency_update(root / name)
    helm.dependency_update(root / UMBRELLA)
    return root


def values_file(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text()) or {}
    assert isinstance(loaded, dict), f"{path} is not a mapping"
    return loaded


def render(chart_dir: Path, values: Mapping[str, Any] | None = None) -> list[Manifest]:
    """Render a chart to its list of Kubernetes objects (schema-checked by Helm first)."""
    with helm.Chart.load(chart_dir) as chart:
        rendered = chart.render(dict(values or {}), name=RELEASE, namespace=NAMESPACE)
    objects: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                assert isinstance(document, dict), f"{path} renders a non-object"
                objects.append(document)
    return objects


def of_kind(objects: list[Manifest], kind: str) -> Iterator[Manifest]:
    return (o for o in objects if o["kind"] == kind)


def named(objects: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]
