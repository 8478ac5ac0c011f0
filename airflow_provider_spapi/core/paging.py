"""Following next-page tokens: every page once, in order, and never a loop.

Each platform says how a page is fetched for a token and where the next token sits in a page; the
loop is the same for both. A page that fails is retried inside ``fetch`` (the platform's client
retries with the same token), so nothing is skipped or repeated; when it cannot be fetched the error
propagates and no later page is requested. A token the server already returned stops the loop with an
error rather than paging forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from airflow_provider_spapi.core.errors import ErrorFamily

Page = TypeVar("Page")


def follow_pages(
    fetch: Callable[[str | None], Page],
    next_token: Callable[[Page], str | None],
    *,
    describe: str,
    errors: ErrorFamily,
) -> Iterator[Page]:
    """Yield ``fetch(None)``, then ``fetch(token)`` for each next-page token, until a page has none."""
    seen: set[str] = set()
    token: str | None = None
    while True:
        page = fetch(token)
        yield page
        token = next_token(page)
        if not token:
            return
        if token in seen:
            raise errors.server(f"{describe} returned a next-page token it had already returned; stopping rather than loop.")
        seen.add(token)
