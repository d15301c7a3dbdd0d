"""`GET /v1/videos`: one page of the jobs, OpenAI's cursor pagination (`limit`, `after`, `order`).

Jobs are ordered by creation time (then id, so that jobs created in the same instant keep one
order); `desc`, the newest first, is the default, as in OpenAI's lists. `after` is the id of
the last job of the previous page; `has_more` says whether another page follows.
"""

from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec

from mockcore.errors import RequestError
from mockcore.media.video import VideoJob

ListOrder = Literal["asc", "desc"]

DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 100


class VideoListQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The checked query of a list request."""

    limit: int = DEFAULT_LIST_LIMIT
    order: ListOrder = "desc"
    after: str | None = None


class VideoPage(msgspec.Struct, frozen=True, kw_only=True):
    """The jobs of one page, in order, and whether more follow."""

    jobs: tuple[VideoJob, ...]
    has_more: bool


def _checked_limit(text: str) -> int:
    limit = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= limit <= MAX_LIST_LIMIT:
        msg = f"Invalid value {text!r} for `limit`: expected an integer from 1 to {MAX_LIST_LIMIT}."
        raise RequestError(msg, "limit", "invalid_value")
    return limit


def _checked_order(text: str) -> ListOrder:
    if text == "asc":
        return "asc"
    if text == "desc":
        return "desc"
    msg = f"Invalid value {text!r} for `order`: expected 'asc' or 'desc'."
    raise RequestError(msg, "order", "invalid_value")


def video_list_query(params: Mapping[str, str]) -> VideoListQuery:
    """The query parameters checked; RequestError (400) naming a bad one."""
    limit = params.get("limit")
    order = params.get("order")
    after = params.get("after")
    return VideoListQuery(
        limit=DEFAULT_LIST_LIMIT if limit is None else _checked_limit(limit),
        order="desc" if order is None else _checked_order(order),
        after=after or None,
    )


def video_page(jobs: Iterable[VideoJob], query: VideoListQuery) -> VideoPage:
    """The page `query` asks for; RequestError (400) if `after` names no job."""
    ordered = sorted(jobs, key=lambda job: (job.created_at_unix, job.id), reverse=query.order == "desc")
    start = 0
    if query.after is not None:
        position = next((index for index, job in enumerate(ordered) if job.id == query.after), None)
        if position is None:
            msg = f"No video with id {query.after!r} to list after."
            raise RequestError(msg, "after", "invalid_value")
        start = position + 1
    page = ordered[start : start + query.limit]
    return VideoPage(jobs=tuple(page), has_more=start + query.limit < len(ordered))
