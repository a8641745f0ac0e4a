"""Generate Python code and type stubs from proto/ with grpcio-tools.

`--check` regenerates into a temporary folder and fails when the committed code differs,
so CI catches a contract changed without `make proto`.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE_DIR = Path("chargewatch") / "v1"


def generate(out: Path) -> None:
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_grpc_out={out}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # The namespace package `chargewatch` must stay without __init__.py; `v1` gets one
    # so that `from chargewatch.v1 import events_pb2` works in every tool.
    (out / PACKAGE_DIR / "__init__.py").write_text('"""Generated from proto/chargewatch/v1; do not edit."""\n')
    (out / PACKAGE_DIR / "py.typed").write_text("")


def generated_files(base: Path) -> set[str]:
    target = base / PACKAGE_DIR
    return {p.name for p in target.iterdir() if p.is_file()} if target.exists() else set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--check", action="store_true")
    opts = parser.parse_args()
    out: Path = opts.out.resolve()
    if not opts.check:
        # Generate beside the target, then swap: a failing protoc (a name clash, a syntax error)
        # leaves the committed code in place instead of an empty package every import needs.
        target = out / PACKAGE_DIR
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            fresh = Path(tmp)
            (fresh / PACKAGE_DIR).mkdir(parents=True)
            generate(fresh)
            retired = target.with_name(f".{target.name}.old")
            if target.exists():
                target.rename(retired)
            (fresh / PACKAGE_DIR).rename(target)
            shutil.rmtree(retired, ignore_errors=True)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        (fresh / PACKAGE_DIR).mkdir(parents=True)
        generate(fresh)
        want, have = generated_files(fresh), generated_files(out)
        stale = sorted(want ^ have)
        stale += [
            n
            for n in sorted(want & have)
            if not filecmp.cmp(fresh / PACKAGE_DIR / n, out / PACKAGE_DIR / n, shallow=False)
        ]
        if stale:
            print(f"generated code is stale, run `make proto`: {', '.join(stale)}", file=sys.stderr)
            return 1
    print("generated code is fresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
