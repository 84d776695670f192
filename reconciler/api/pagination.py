"""Cursor pagination that fails closed: every page of a list is checked (`items`, and a
`next_cursor` that is null on the last page), a cursor seen before or a list longer than any
organization holds is refused, and a page that fails raises: never a partial list."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.api.limits import MAX_ITEMS_ENV, SHORT_PAGE_FACTOR, Limits
from reconciler.api.responses import invalid_response
from reconciler.errors import ApiError

GetPage = Callable[[str, Mapping[str, str | int]], dict[str, Any]]


@dataclass
class ListResult:
    """Every item of a paginated list; `extra` holds the first page's other top-level keys."""

    items: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)
    pages: int = 0


def read_list(
    get: GetPage,
    path: str,
    *,
    page_size: int,
    limits: Limits,
    on_page: Callable[[str, int], None] | None = None,
) -> ListResult:
    """Every item of the list at `path`, read with `get`, following `next_cursor` until null;
    `on_page` is told `(path, items so far)` after each page."""
    items: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    seen: set[str] = set()
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": page_size}
        if cursor is not None:
            params["cursor"] = cursor
        page = get(path, params)
        pages += 1
        page_items, next_cursor = _check_page(path, pages, page)
        if pages == 1:
            extra = {k: v for k, v in page.items() if k not in ("items", "next_cursor")}
        items.extend(page_items)
        _check_list_size(path, limits, pages, len(items), page_size, next_cursor is None)
        if on_page is not None:
            on_page(path, len(items))
        if next_cursor is None:
            return ListResult(items=items, extra=extra, pages=pages)
        if next_cursor in seen:
            raise ApiError(
                f"GET {path}: the API returned a cursor it had already returned "
                f"(page {pages + 1} would repeat an earlier page); stopping instead of "
                "looping",
                code="cursor_loop",
                hint="The API implementation's pagination is broken; report it.",
            )
        seen.add(next_cursor)
        cursor = next_cursor


def _check_page(
    path: str, pages: int, page: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """The page's items and next cursor, once both are what the contract says."""
    page_items = page.get("items")
    next_cursor = page.get("next_cursor")
    if not isinstance(page_items, list) or not all(isinstance(i, dict) for i in page_items):
        raise invalid_response(path, f"page {pages} has no `items` list of objects")
    if "next_cursor" not in page:
        # The last page says `null`; a missing key is no proof that nothing follows.
        raise invalid_response(path, f"page {pages} has no `next_cursor` (null on the last)")
    if next_cursor is not None and not (isinstance(next_cursor, str) and next_cursor):
        raise invalid_response(path, f"page {pages} has a `next_cursor` that is not a string")
    return page_items, next_cursor


def _check_list_size(
    path: str, limits: Limits, pages: int, items: int, page_size: int, last: bool
) -> None:
    """A list longer than any organization holds, or one whose pages never end, is refused
    before it fills memory or loops: the server's pagination is broken or hostile."""
    max_items = limits.max_list_items
    max_pages = limits.max_pages(page_size)
    if items > max_items:
        what = f"more than {max_items:,} items"
    elif pages >= max_pages and not last:
        what = f"{pages:,} pages and still a `next_cursor` ({items:,} items so far)"
    else:
        return
    raise ApiError(
        f"GET {path}: the list does not end: {what}; stopped instead of reading on",
        code="list_too_long",
        hint=f"The API's pagination is broken, or the list really is this long: then raise "
        f"${MAX_ITEMS_ENV} (pages are capped at {SHORT_PAGE_FACTOR} per {page_size} items "
        "allowed).",
    )
