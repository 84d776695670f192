"""Print module and function size tables for reconciler/ (issue 13's measure)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def main(root: str = "reconciler", top: int = 15) -> None:
    modules = []
    functions = []
    for path in sorted(Path(root).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        modules.append((len(text.splitlines()), str(path)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                functions.append((length, f"{path}:{node.lineno} {node.name}"))
    modules.sort(reverse=True)
    functions.sort(reverse=True)
    print(f"modules: {len(modules)}, over 400 lines: {sum(1 for n, _ in modules if n > 400)}")
    for n, name in modules[:top]:
        print(f"  {n:5d}  {name}")
    print(f"functions: {len(functions)}, over 80 lines: {sum(1 for n, _ in functions if n > 80)}")
    for n, name in functions[:top]:
        print(f"  {n:5d}  {name}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
