"""The Prometheus metric and label names the code exports, derived from the code itself.

Every metric instrument is found in the source (OpenTelemetry `meter.create_*` calls and
`prometheus_client` metric classes, wherever they are created: module level, a constructor or a
function run at start-up), its name and unit resolved from literals or `Final` constants. The
Prometheus names are then produced by the real exporter (opentelemetry-exporter-prometheus, as
`/metrics` serves them) in a subprocess: one measurement per instrument, then the scrape text.
Labels are the attribute keys the code records with (`*_LABEL` constants, literal keys of
attribute dicts, prometheus_client label names).
"""

from __future__ import annotations

import ast
import functools
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.deploy import charts

SOURCE_ROOTS = ("libs", "services")
# Generated protobuf code declares no metrics.
SKIPPED = ("libs/proto/",)
OTEL_FACTORIES = {
    "create_counter": "counter",
    "create_up_down_counter": "up_down_counter",
    "create_histogram": "histogram",
    "create_gauge": "gauge",
    "create_observable_counter": "observable_counter",
    "create_observable_up_down_counter": "observable_up_down_counter",
    "create_observable_gauge": "observable_gauge",
}
PROMETHEUS_CLIENT_CLASSES = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}
# Labels Prometheus adds when it scrapes through a ServiceMonitor, and the ones of histograms and summaries.
SCRAPE_LABELS = frozenset({"namespace", "pod", "service", "job", "instance", "container", "endpoint", "le", "quantile"})
RECORDED_CALLS = {"add", "record", "set", "Observation", "labels"}


@dataclass(frozen=True, order=True)
class Instrument:
    library: str  # "otel" or "prometheus_client"
    kind: str
    name: str
    unit: str
    where: str


class UnresolvedName(AssertionError):
    pass


def source_files() -> list[Path]:
    files = []
    for root in SOURCE_ROOTS:
        for path in sorted((charts.REPO / root).glob("*/src/chargewatch/**/*.py")):
            relative = path.relative_to(charts.REPO).as_posix()
            if not relative.startswith(SKIPPED):
                files.append(path)
    return files


@functools.cache
def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(), filename=str(path)) for path in source_files()}


@functools.cache
def _constants() -> dict[str, dict[str, str]]:
    """Module-level string constants per file, and (key "*") every one by name across the code."""
    per_file: dict[str, dict[str, str]] = {"*": {}}
    for path, tree in _trees().items():
        found: dict[str, str] = {}
        for node in tree.body:
            target = value = None
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                target, value = node.target.id, node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target, value = node.targets[0].id, node.value
            if target and isinstance(value, ast.Constant) and isinstance(value.value, str):
                found[target] = value.value
        per_file[str(path)] = found
        per_file["*"].update(found)
    return per_file


def _resolve(node: ast.expr | None, path: Path) -> str | None:
    """A string literal, a module constant of this file, or an `alias.CONSTANT` defined anywhere in the code."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    constants = _constants()
    if isinstance(node, ast.Name):
        return constants[str(path)].get(node.id) or constants["*"].get(node.id)
    if isinstance(node, ast.Attribute):
        return constants["*"].get(node.attr)
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def _prometheus_client_names(tree: ast.Module) -> set[str]:
    """Local names bound to prometheus_client metric classes in this module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "prometheus_client":
            for alias in node.names:
                if alias.name in PROMETHEUS_CLIENT_CLASSES:
                    names.add(alias.asname or alias.name)
    return names


def _called(call: ast.Call) -> str:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return ""


@functools.cache
def instruments() -> tuple[Instrument, ...]:
    found: list[Instrument] = []
    unresolved: list[str] = []
    for path, tree in _trees().items():
        prometheus_classes = _prometheus_client_names(tree)
        relative = path.relative_to(charts.REPO).as_posix()
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            called = _called(call)
            where = f"{relative}:{call.lineno}"
            if isinstance(call.func, ast.Attribute) and called in OTEL_FACTORIES:
                name = _resolve(_argument(call, 0, "name"), path)
                unit = _resolve(_argument(call, 1, "unit"), path)
                if name is None:
                    unresolved.append(where)
                    continue
                found.append(Instrument("otel", OTEL_FACTORIES[called], name, unit or "", where))
            elif isinstance(call.func, ast.Name) and called in prometheus_classes:
                name = _resolve(_argument(call, 0, "name"), path)
                if name is None:
                    unresolved.append(where)
                    continue
                found.append(Instrument("prometheus_client", called, name, "", where))
    if unresolved:
        raise UnresolvedName(f"metric names that are neither literals nor string constants: {unresolved}")
    return tuple(sorted(found))


@functools.cache
def label_names() -> frozenset[str]:
    """Attribute keys the code records metrics with (a superset: any *_LABEL constant counts)."""
    labels = {value for name, value in _constants()["*"].items() if name.endswith("_LABEL")}
    for path, tree in _trees().items():
        prometheus_classes = _prometheus_client_names(tree)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            called = _called(call)
            if called in RECORDED_CALLS:
                for argument in [*call.args, *(kw.value for kw in call.keywords)]:
                    if isinstance(argument, ast.Dict):
                        labels |= {k for k in (_resolve(key, path) for key in argument.keys if key) if k}
            if isinstance(call.func, ast.Name) and called in prometheus_classes:
                names = _argument(call, 2, "labelnames")
                if isinstance(names, ast.List | ast.Tuple):
                    labels |= {k for k in (_resolve(e, path) for e in names.elts) if k}
    return frozenset(labels)


# Creates every instrument on a fresh provider with the real Prometheus reader, records one value, and prints
# the scrape text. In a subprocess: the meter provider and prometheus_client's registry are process-global.
_EXPORT_SCRIPT = """
import json, sys
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
import prometheus_client
meter = MeterProvider(metric_readers=[PrometheusMetricReader()]).get_meter("catalogue")
for library, kind, name, unit in json.load(sys.stdin):
    if library == "prometheus_client":
        metric = getattr(prometheus_client, kind)(name, "doc")
        {"Counter": lambda: metric.inc(), "Gauge": lambda: metric.set(1), "Histogram": lambda: metric.observe(0.1),
         "Summary": lambda: metric.observe(0.1), "Info": lambda: metric.info({"a": "b"}),
         "Enum": lambda: None}[kind]()
    elif kind.startswith("observable"):
        getattr(meter, "create_" + kind)(name, callbacks=[lambda _options: [Observation(1)]], unit=unit)
    else:
        instrument = getattr(meter, "create_" + kind)(name, unit=unit)
        method = {"counter": "add", "up_down_counter": "add", "histogram": "record", "gauge": "set"}[kind]
        getattr(instrument, method)(1)
sys.stdout.write(prometheus_client.generate_latest().decode())
"""


@functools.cache
def exported_names() -> frozenset[str]:
    """Every sample name `/metrics` serves for the code's instruments (`_total`, `_bucket`, ... included)."""
    payload = json.dumps([(i.library, i.kind, i.name, i.unit) for i in instruments()])
    output = subprocess.run(
        [sys.executable, "-c", _EXPORT_SCRIPT],
        input=payload,
        cwd=charts.REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return frozenset(re.findall(r"^(chargewatch_[a-zA-Z0-9_]+)", output, flags=re.MULTILINE))


# -- PromQL ------------------------------------------------------------------------------------------
_METRIC = re.compile(r"(?<![\w:.$])(chargewatch_[a-zA-Z0-9_]+)")
_RECORDED = re.compile(r"(?<![\w.$])(chargewatch:[a-zA-Z0-9_:]+)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"\{([^{}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def metric_names(expression: str) -> set[str]:
    return set(_METRIC.findall(_STRING.sub('""', expression)))


def recorded_names(expression: str) -> set[str]:
    return set(_RECORDED.findall(_STRING.sub('""', expression)))


def label_names_used(expression: str) -> set[str]:
    """Labels an expression matches on or groups by (string values stripped first)."""
    text = _STRING.sub('""', expression)
    used = set()
    for group in _GROUPING.findall(text):
        used |= {label.strip() for label in group.split(",") if label.strip()}
    for selector in _SELECTOR.findall(text):
        used |= set(_MATCHER.findall(selector))
    return used


def unknown_names(expression: str, *, recorded: frozenset[str] = frozenset()) -> list[str]:
    """Metric names, recorded series and labels in a PromQL expression that nothing defines."""
    problems = sorted(metric_names(expression) - exported_names())
    problems += sorted(recorded_names(expression) - recorded)
    problems += sorted(f"label {label}" for label in label_names_used(expression) - label_names() - SCRAPE_LABELS)
    return problems
