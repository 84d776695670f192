"""Text shown to people: escaped for a terminal (`visible`) or for a GitHub workflow command
(`workflow_data`, `workflow_property`), and counted nouns (`plural`).

For a terminal: data from the access API or a config (names, emails, audit fields) may
hold control characters that move the cursor, erase lines, fake a new line or reorder what is
shown, or zero-width characters that make two different values print alike. `visible` turns
them into Python-style escapes; every other character, é or 東 alike, is left as it is.
Apply it to the data, never to a renderer's own colour codes."""

from __future__ import annotations

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_CONTROLS = (
    *range(0x00, 0x20),  # C0, with ESC
    *range(0x7F, 0xA0),  # DEL and C1, with CSI
    *range(0x202A, 0x202F),  # bidi embeddings and overrides
    *range(0x2066, 0x206A),  # bidi isolates
    # zero-width and invisible characters (the zero-width joiner is kept: emoji sequences use it)
    0x00AD,  # soft hyphen
    0x061C,  # Arabic letter mark
    0x180E,  # Mongolian vowel separator
    0x200B,  # zero-width space
    0x200C,  # zero-width non-joiner
    0x200E,  # left-to-right mark
    0x200F,  # right-to-left mark
    *range(0x2060, 0x2065),  # word joiner, invisible operators
    *range(0x206A, 0x2070),  # deprecated format characters
    0xFEFF,  # zero-width no-break space (BOM)
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


def workflow_data(text: str) -> str:
    """`text` as the message of a GitHub workflow command (`::error ...::message`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """`text` as a property value of a GitHub workflow command (`file=`, `title=`)."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def plural(n: int, word: str) -> str:
    """`1 error`, `2 errors`."""
    return f"{n} {word}{'' if n == 1 else 's'}"
