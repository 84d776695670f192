"""The formatter's size in code lines (issue 15): lines holding a Python token, not counting
blank lines, comment-only lines and docstrings. Prints a count per file and the total.

    .venv/bin/python benchmarks/fmt_size.py                 # spans.py + reformat.py
    .venv/bin/python benchmarks/fmt_size.py FILE [FILE ...]  # any files
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMATTER = [ROOT / "reconciler/config/spans.py", ROOT / "reconciler/config/reformat.py"]
_NOT_CODE = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
}


def code_lines(path: Path) -> int:
    source = path.read_text(encoding="utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    code: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _NOT_CODE:
            code.update(range(token.start[0], token.end[0] + 1))
    return len(code - docstrings)


def main(paths: list[str]) -> None:
    files = [Path(p) for p in paths] or FORMATTER
    total = 0
    for path in files:
        count = code_lines(path)
        total += count
        print(f"{count:5d}  {path}")
    print(f"{total:5d}  total")


if __name__ == "__main__":
    main(sys.argv[1:])
