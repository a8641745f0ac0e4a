"""`make bench`: run every benchmark (or those named: `python -m bench streams`) and record results."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    wanted = set(sys.argv[1:])
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    for name in names:
        if wanted and name.removeprefix("bench_") not in wanted:
            continue
        module = importlib.import_module(f"bench.{name}")
        sys.stdout.write(f"== {name}\n")
        sys.stdout.write(module.run() + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
