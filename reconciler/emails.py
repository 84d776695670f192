"""What an email address may hold, and which ones look alike (Unicode TR 39, in small).

An address is compared in NFC, lower case: `josé` typed with a composed `é` and with `e` plus a
combining accent is one mailbox. An address may not hold a character that cannot be seen or
that changes how text around it is shown (controls, zero-width and bidi format characters,
fillers): two addresses that print the same would reach two people. Addresses that merely look
like another (`exаmple` with a Cyrillic `а`) are allowed, since real ones exist, but are warned
about: `skeleton` maps the common Cyrillic and Greek lookalikes of Latin letters and digits to
them, so two addresses with one skeleton are confusable.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Invisible letters and marks that are not in a "C" or "Z" category: fillers, the combining
# grapheme joiner, Mongolian and standard variation selectors.
_INVISIBLE = frozenset(
    (
        0x034F,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x3164,
        0xFFA0,
        *range(0x180B, 0x1810),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    )
)
# Cc control, Cf format (zero-width, bidi, soft hyphen), Cs/Co surrogates and private use,
# Cn unassigned, Zs/Zl/Zp separators (U+00A0, U+2028, ...).
_HIDDEN_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"))

# Cyrillic and Greek letters that look like a Latin letter or a digit (from Unicode's
# confusables.txt), lower case: addresses are compared lower-cased.
_LOOKALIKES = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "с": "c",
    "ԁ": "d",
    "е": "e",
    "ё": "e",
    "һ": "h",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "к": "k",
    "ӏ": "l",
    "м": "m",
    "п": "n",
    "о": "o",
    "р": "p",
    "ԛ": "q",
    "г": "r",
    "ѕ": "s",
    "т": "t",
    "ц": "u",
    "ѵ": "v",
    "ԝ": "w",
    "х": "x",
    "у": "y",
    "з": "3",
    # Greek
    "α": "a",
    "β": "b",
    "ϲ": "c",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "γ": "y",
    "ω": "w",
    # a Latin letter that reads as another
    "ı": "i",
}
_SKELETON = str.maketrans(_LOOKALIKES)
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE")


def normalise(value: str) -> str:
    """The form addresses are compared in: no surrounding space, lower case, NFC."""
    value = value.strip().lower()
    return value if value.isascii() else unicodedata.normalize("NFC", value)


def code_point(char: str) -> str:
    """`U+200B ZERO WIDTH SPACE`."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def hidden_character(value: str) -> str | None:
    """The first character of `value` that cannot be seen or reorders text, or None."""
    if value.isascii():
        if value.isprintable():  # nearly every address: no walk over its characters
            return None
        return next((c for c in value if not c.isprintable()), None)
    for char in value:
        if ord(char) in _INVISIBLE or unicodedata.category(char) in _HIDDEN_CATEGORIES:
            return char
    return None


def escape(value: str) -> str:
    """`value` with every hidden character written as its escape (`\\u200b`), so a message
    shows what the address really holds."""
    if value.isascii() and value.isprintable():
        return value
    out = []
    for char in value:
        if hidden_character(char) is None:
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def as_ascii(email: str) -> str:
    """The address with every non-ASCII character as its `\\u` escape: how to tell two
    lookalikes apart."""
    return email.encode("ascii", "backslashreplace").decode("ascii")


def skeleton(value: str) -> str:
    """`value`, normalised, with each lookalike replaced by the Latin letter it imitates.
    Accents are kept: `josé` and `jose` are told apart by anyone who reads them."""
    value = normalise(value)
    return value if value.isascii() else value.translate(_SKELETON)


def _script(char: str) -> str | None:
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return next((script for script in _SCRIPTS if name.startswith(script)), "OTHER")


def mixed_scripts(value: str) -> list[str] | None:
    """The scripts mixed in one part of the address (the local part or one domain label), when
    a part mixes Latin, Cyrillic, Greek, ... letters; None when every part keeps to one."""
    if value.isascii():
        return None
    local, _, domain = value.rpartition("@")
    for part in (local, *domain.split(".")):
        scripts = {s for s in map(_script, part) if s is not None}
        if len(scripts) > 1:
            return sorted(scripts)
    return None


def confusables(emails: Iterable[str]) -> dict[str, list[str]]:
    """For each skeleton shared by more than one distinct address: those addresses, in the order
    given."""
    groups: dict[str, list[str]] = {}
    for email in emails:
        group = groups.setdefault(skeleton(email), [])
        if email not in group:
            group.append(email)
    return {key: group for key, group in groups.items() if len(group) > 1}
