"""`fmt --check` against `validate` on the same generated 10,000-user file (issue 15's target: a
ratio of at most 2). Both are timed as whole `accessctl` processes, interleaved (fmt, validate,
fmt, validate, ...) so load on the machine hits both alike; the medians and their ratio are
printed. A script, not a test: it asserts nothing.

The file is the validate benchmark's, in canonical form, with comments every few hundred lines:
a comment line above a user, a comment at the end of a key's line, and a comment above a key
inside a user, so fmt has comments to place and check.

    .venv/bin/python benchmarks/fmt_bench.py [--users 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate_bench import generate

ACCESSCTL = Path(sys.executable).parent / "accessctl"


def with_comments(text: str, every: int = 300) -> str:
    """`text` with a comment every `every` lines, in the three places comments go."""
    out: list[str] = []
    for number, line in enumerate(text.splitlines()):
        kind = number // every % 3 if number % every == 0 and number else None
        if kind == 0 and line.startswith("  - "):
            out.append(f"  # reviewed in audit {number}")
        elif kind == 1 and line.startswith("    ") and not line.rstrip().endswith(":"):
            line += f"  # ticket ACC-{number}"
        elif kind == 2 and line.startswith("    "):
            out.append(f"    # why: ticket ACC-{number}")
        out.append(line)
    return "\n".join(out) + "\n"


def run(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(ACCESSCTL), *args], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"accessctl {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-org.yaml"
        path.write_text(with_comments(generate(args.users)), encoding="utf-8")
        lines = path.read_text(encoding="utf-8").count("\n")
        comments = path.read_text(encoding="utf-8").count("#") - 1
        print(f"file: {args.users} users, {lines} lines, {comments} comments")
        fmt_times, validate_times = [], []
        for _ in range(args.repeat):
            fmt_times.append(run(["fmt", "--check", str(path)]))
            validate_times.append(run(["validate", str(path), "--today", "2026-11-22"]))
        fmt_median = statistics.median(fmt_times)
        validate_median = statistics.median(validate_times)
        print(f"fmt --check: median {fmt_median:.2f} s over {args.repeat} runs")
        print(f"validate:    median {validate_median:.2f} s over {args.repeat} runs")
        print(f"ratio fmt --check / validate: {fmt_median / validate_median:.1f} (target <= 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
