"""Email rules that look at the characters: an address that mixes scripts in one part, or one
that looks like another declared address (`exаmple` with a Cyrillic `а` beside `example`), is
warned about as `confusable_email`. Invisible characters are refused earlier, by the schema."""

from __future__ import annotations

from reconciler import emails
from reconciler.config.merge import MergedOrg, UserEntry
from reconciler.config.rules._common import diag
from reconciler.findings import Finding


def check_confusables(orgs: list[MergedOrg], diags: list[Finding]) -> None:
    """Lookalikes across every organization (one email is one person everywhere), reported at
    the later declaration and naming the first; else mixed scripts in one part of an address."""
    first: dict[str, UserEntry] = {}  # skeleton -> the first declaration with it
    for org in orgs:
        for entry in org.users:
            email = entry.user.email
            ascii_only = email.isascii()  # the common case: ASCII is its own skeleton
            other = first.setdefault(email if ascii_only else emails.skeleton(email), entry)
            if other is not entry and other.user.email != email:
                diags.append(lookalike(entry, other.user.email, str(other.locate("email"))))
            elif not ascii_only and (scripts := emails.mixed_scripts(email)) is not None:
                diags.append(
                    diag(
                        entry.locate("email"),
                        "confusable_email",
                        f"`{emails.escape(email)}` mixes {' and '.join(s.title() for s in scripts)}"
                        " letters in one part of the address",
                        f"check it letter by letter: as ASCII it reads `{emails.as_ascii(email)}`",
                        severity="warning",
                    )
                )


def lookalike(entry: UserEntry, other: str, where: str) -> Finding:
    """`confusable_email` for `entry`, which looks like the address `other` found at `where`."""
    email = entry.user.email
    return diag(
        entry.locate("email"),
        "confusable_email",
        f"`{emails.escape(email)}` looks like `{emails.escape(other)}` ({where}) but is another "
        "address",
        f"as ASCII they read `{emails.as_ascii(email)}` and `{emails.as_ascii(other)}`: retype "
        "the one meant to be the other",
        severity="warning",
    )
