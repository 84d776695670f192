"""Every diagnostic code `accessctl validate` can report, with a one-line meaning.

Codes are stable: CI scripts and editors match on them. Add new ones; never rename or reuse.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    # Reading files
    "path_not_found": "a path given on the command line does not exist",
    "no_config_files": "a folder holds no `.yaml`/`.yml` files",
    "file_unreadable": (
        "a file cannot be read, is not UTF-8 text, is not a regular file (a FIFO, device or "
        "socket) or is larger than 16 MiB"
    ),
    "file_unwritable": "`fmt` could not write a file (permissions, a full disk); it is unchanged",
    "fmt_unsafe": "`fmt` cannot reorder this file without moving a comment; it is unchanged",
    "empty_file": "a file holds no YAML document (every file must name its `organization`)",
    "yaml_syntax": "the file is not valid YAML",
    "yaml_unsupported": "a YAML feature accessctl does not accept (custom tags, recursive aliases)",
    "duplicate_key": "a mapping has the same key twice (both lines are named)",
    # Shape (schema)
    "unknown_field": "a key the format does not define (with the closest known key as a hint)",
    "invalid_type": "a value of the wrong type (a list where a mapping is expected, ...)",
    "invalid_value": "a value of the right type that is not allowed (pattern, choice, range)",
    "missing_field": "a required key is absent (every user declares `stores`)",
    "missing_organization": "a file does not name its `organization`",
    "invalid_email": (
        "a user's `email` is not an email address, or holds an invisible, control or bidi "
        "character (its code point in the hint)"
    ),
    "unknown_role": "a role that does not exist (roles are case-sensitive; with a suggestion)",
    "inline_secret": "a credential written in the YAML (use `api.token_env` instead)",
    # Files of one organization
    "duplicate_section": "`api`, `settings` or `policy` set in two files of one organization",
    "duplicate_store": "one store id declared in two files of one organization",
    # IP ranges
    "cidr_invalid": "an IP range's `cidr` is not a network in CIDR notation",
    "cidr_host_bits": "an IP range's `cidr` has host bits set (with the network to use)",
    "too_many_ranges": "more than 50 IP ranges in one organization",
    "duplicate_range_name": "two IP ranges of one organization share a name",
    "overlapping_ranges": "warning: two IP ranges of one organization overlap",
    # Users
    "duplicate_email": "one email declared twice in an organization (case-insensitive, NFC)",
    "confusable_email": (
        "warning: an email that mixes scripts, or looks like another declared or live one "
        "(a Cyrillic `а` for a Latin `a`)"
    ),
    "role_conflict_across_orgs": "one email with different roles in two organizations",
    "missing_role": "an internal user without a `role`",
    "external_without_expiry": "an external user without an `expires` date",
    "expiry_in_past": (
        "warning: an external user whose access has ended (`expires` is today or earlier)"
    ),
    "expiry_soon": "warning: an external user whose access ends within 14 days",
    "internal_with_expiry": "an internal user with an `expires` date",
    "external_role": (
        "an external user with a role other than `External User`, or an internal user with it"
    ),
    "terminated_declared": "a user declared as `Terminated`, a role only the platform assigns",
    "undeclared_store": "a user granted a store missing from the organization's `stores:` map",
    "duplicate_store_grant": "warning: a user lists the same store twice",
}


def describe(code: str) -> str:
    """The one-line meaning of a code (the code itself when unknown)."""
    return CODES.get(code, code)
