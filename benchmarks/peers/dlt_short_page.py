"""dlt's `rest_api` source configured as a careful user would: an offset paginator that stops on a short page.

The API sends no total and no has-more flag, so dlt's stock offset paginator can only stop on an empty
page, and lists every scope once more than needed (about twice the requests here). Ten lines of custom
paginator stop on the first page shorter than the limit, as this package's client does.
"""

from __future__ import annotations

from typing import Any

from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

from benchmarks.peers import dlt_rest_api

PAGE_SIZE = 200


class ShortPageOffsetPaginator(OffsetPaginator):
    """Offset paging that ends on a page shorter than the limit (or empty)."""

    def __init__(self) -> None:
        super().__init__(limit=PAGE_SIZE, total_path=None)

    def _stop_after_this_page(self, data: list[Any] | None = None) -> bool:
        return not data or len(data) < PAGE_SIZE


if __name__ == "__main__":
    dlt_rest_api.main(ShortPageOffsetPaginator())
