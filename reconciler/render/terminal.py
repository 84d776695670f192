"""Text for a terminal: data from the access API or a config (names, emails, audit fields) may
hold control characters that move the cursor, erase lines, fake a new line or reorder what is
shown. `visible` turns them into Python-style escapes; every other character, é or 東 alike, is
left as it is. Apply it to the data, never to a renderer's own colour codes."""

from __future__ import annotations

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_CONTROLS = (
    *range(0x00, 0x20),  # C0, with ESC
    *range(0x7F, 0xA0),  # DEL and C1, with CSI
    *range(0x202A, 0x202F),  # bidi embeddings and overrides
    *range(0x2066, 0x206A),  # bidi isolates
)
_ESCAPES = {
    code: _NAMED.get(chr(code)) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in _CONTROLS
}


def visible(text: str) -> str:
    """`text` with each control and bidi character shown as its escape (ESC as `\\x1b`, a line
    feed as `\\n`). Backslashes are kept as they are, so escaping twice changes nothing and a
    JSON-quoted value passes through untouched."""
    return text.translate(_ESCAPES)
