"""`python -m reconciler.cli`: the same as the `accessctl` command."""

from __future__ import annotations

from reconciler.cli import main

main()
