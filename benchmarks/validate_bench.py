"""Load + validate a generated 10,000-user organization and compare with a bare C-accelerated
YAML parse of the same file (ruamel.yaml `YAML(typ="safe")` with ruamel.yaml.clib). SPEC §8
targets a ratio of at most 3. A script, not a test: it prints times and the ratio.

    .venv/bin/python benchmarks/validate_bench.py [--users 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

from reconciler.config import load

ROLES = ["Admin", "User", "Settlement", "Disputes", "Read Only"]
TODAY = datetime.date(2026, 11, 22)


def generate(users: int, stores: int = 200, ranges: int = 50) -> str:
    lines = [
        "# yaml-language-server: $schema=../schemas/accessctl.schema.json",
        "organization: bench-org",
        "api:",
        "  url: http://127.0.0.1:8765/api/v1",
        "  token_env: BENCH_TOKEN",
        "settings:",
        "  technical_support_access: false",
        "policy:",
        "  unmanaged_users: report",
        "  max_removals: 10%",
        "stores:",
    ]
    lines += [f"  MID{1000000 + s}: Store {s}" for s in range(stores)]
    lines.append("ip_ranges:")
    for r in range(ranges):
        lines += [f"  - name: Range {r:02d}", f"    cidr: 10.{r}.0.0/16"]
    lines.append("users:")
    for u in range(users):
        lines.append(f"  - email: user{u:05d}@bench.example")
        if u % 10 == 0:
            lines += ["    type: external", "    expires: 2028-06-30"]
        else:
            lines.append(f"    role: {ROLES[u % len(ROLES)]}")
        grants = ", ".join(f"MID{1000000 + (u + k) % stores}" for k in range(3))
        lines.append(f"    stores: [{grants}]")
    return "\n".join(lines) + "\n"


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-org.yaml"
        path.write_text(generate(args.users), encoding="utf-8")
        size = path.stat().st_size

        def bare() -> object:
            return YAML(typ="safe", pure=False).load(path.read_text(encoding="utf-8"))

        def ours() -> object:
            result = load([path], today=TODAY)
            if result.has_errors() or len(result.orgs[0].config.users) != args.users:
                raise SystemExit("benchmark config did not validate clean")
            return result

        bare_best, bare_median = best(bare, args.repeat)
        ours_best, ours_median = best(ours, args.repeat)
    print(f"file: {args.users} users, {size / 1e6:.2f} MB, best of {args.repeat}")
    print(f"bare ruamel.yaml typ=safe (C) load: {bare_best:.3f} s (median {bare_median:.3f} s)")
    print(f"accessctl load + validate:         {ours_best:.3f} s (median {ours_median:.3f} s)")
    print(f"ratio (best): {ours_best / bare_best:.2f}x  (target <= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
