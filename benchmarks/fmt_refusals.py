"""How often fmt refuses a file (`fmt_unsafe`) on randomly placed comments. A script, not a
test: it prints the refusal rates (issue 15's target: below 2 %).

Two generators: the property test's own (tests/test_fmt.py `_configs`: comments above and at
the end of users, ranges and their keys, blank lines, keys in any order), and the same files
with the placements fmt used to refuse: half of them get a comment on an explicit `---` line,
and half of the one-line store lists (`stores: [M1]`) are spread over lines with a comment
inside (`stores: [` / `M1,  # eol store` / `]`).

    .venv/bin/python benchmarks/fmt_refusals.py [--files 400] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_fmt import _configs  # noqa: E402

from reconciler.config.reformat import Unformattable, format_text  # noqa: E402


def harder(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    if rng.random() < 0.5:
        lines.insert(1, "--- # the document")
    out: list[str] = []
    for line in lines:
        head = line[: line.find("stores: [M1]")]
        if "stores: [M1]" in line and head.strip() in ("", "-") and rng.random() < 0.5:
            pad = " " * (len(head) + 2)
            out += [head + "stores: [", pad + "M1,  # eol store", pad + "]"]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def rate(files: int, rng: random.Random, change: Callable[[str, random.Random], str]) -> float:
    refused = 0
    for _ in range(files):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # hypothesis: `.example()` outside a test
            text = change(_configs().example(), rng)
        try:
            format_text(text)
        except Unformattable:
            refused += 1
    return refused / files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    plain = rate(args.files, rng, lambda text, _: text)
    print(f"property test's placements: {plain:.1%} refused of {args.files} files")
    hard = rate(args.files, rng, harder)
    print(f"with `---` and flow-list comments: {hard:.1%} refused of {args.files} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
