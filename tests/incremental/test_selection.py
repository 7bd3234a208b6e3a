"""Which items an incremental run lists, in which order, within a budget: the selection on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from poelis_pipelines.incremental import IncrementalSettings, freshness, parse_duration, select_items

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def catalog(*items: dict[str, object]) -> pd.DataFrame:
    """A catalog as `item_catalog` returns it; each item says only what differs from a fresh, live one."""
    rows = [
        {
            "item_id": f"item-{index:03}",
            "product_id": "product-a",
            "workspace_id": "ws",
            "updated_at": pd.Timestamp("2026-01-01", tz="UTC"),
            "name": "Part",
            "parent_item_id": None,
            "deleted": False,
            "listed_at": pd.Timestamp(NOW - timedelta(hours=1)),
            "listing_changed": False,
            "listed_by_run": "earlier",
            **item,
        }
        for index, item in enumerate(items)
    ]
    frame = pd.DataFrame(rows)
    frame["listed_at"] = pd.to_datetime(frame["listed_at"], utc=True)
    return frame


def never_listed(**item: object) -> dict[str, object]:
    return {"listed_at": pd.NaT, "listed_by_run": None, **item}


def listed(age: timedelta, **item: object) -> dict[str, object]:
    return {"listed_at": pd.Timestamp(NOW - age), **item}


def picked(
    items: pd.DataFrame, settings: IncrementalSettings, run_key: str = "this-run"
) -> list[tuple[str, str]]:
    return [
        (selected.item.item_id, selected.reason)
        for selected in select_items(items, NOW, settings, run_key=run_key).items
    ]


def test_new_items_come_first_then_hints_then_the_rotation_oldest_first() -> None:
    items = catalog(
        listed(3 * DAY),  # 000 due
        listed(2 * DAY, listing_changed=True),  # 001 hint
        never_listed(),  # 002 new
        listed(5 * DAY),  # 003 due, older
        listed(timedelta(hours=2)),  # 004 fresh
        listed(4 * DAY, listing_changed=True),  # 005 hint, listed longer ago
    )
    assert picked(items, IncrementalSettings(max_staleness=DAY)) == [
        ("item-002", "new"),
        ("item-005", "hint"),
        ("item-001", "hint"),
        ("item-003", "rotation"),
        ("item-000", "rotation"),
    ]


def test_a_staleness_of_zero_makes_every_item_due() -> None:
    items = catalog(listed(timedelta(seconds=1)), listed(timedelta(hours=5)))
    assert picked(items, IncrementalSettings(max_staleness=timedelta(0))) == [
        ("item-001", "rotation"),
        ("item-000", "rotation"),
    ]


def test_a_soft_deleted_item_is_listed_once_after_its_deletion_is_seen_then_left_alone() -> None:
    items = catalog(
        listed(9 * DAY, deleted=True, listing_changed=True),  # deletion not seen by a listing yet
        listed(9 * DAY, deleted=True),  # listed since its deletion
        never_listed(deleted=True),
    )
    assert picked(items, IncrementalSettings(max_staleness=DAY)) == [
        ("item-002", "new"),
        ("item-000", "hint"),
    ]


def test_the_rotation_keeps_its_floor_under_a_flood_of_hints() -> None:
    hints = [listed(DAY + timedelta(minutes=index), listing_changed=True) for index in range(100)]
    due = [listed(10 * DAY + timedelta(minutes=index)) for index in range(50)]
    items = catalog(*hints, *due)
    chosen = picked(items, IncrementalSettings(max_staleness=DAY, max_items=20, rotation_floor=0.25))

    assert [reason for _, reason in chosen] == ["hint"] * 15 + ["rotation"] * 5
    selection = select_items(
        items, NOW, IncrementalSettings(max_staleness=DAY, max_items=20, rotation_floor=0.25), run_key="r"
    )
    assert selection.backlog == {"new": 0, "hint": 85, "rotation": 45}
    oldest_due = [f"item-{index:03}" for index in range(149, 144, -1)]
    assert [item_id for item_id, reason in chosen if reason == "rotation"] == oldest_due
    oldest_hints = [f"item-{index:03}" for index in range(99, 84, -1)]
    assert [item_id for item_id, reason in chosen if reason == "hint"] == oldest_hints


def test_budget_the_hints_leave_goes_to_the_rotation() -> None:
    items = catalog(never_listed(), *(listed(2 * DAY) for _ in range(30)))
    chosen = picked(items, IncrementalSettings(max_staleness=DAY, max_items=10, rotation_floor=0.25))
    assert [reason for _, reason in chosen] == ["new"] + ["rotation"] * 9


def test_a_resumed_run_skips_the_items_it_listed_and_they_count_against_its_budget() -> None:
    items = catalog(
        listed(timedelta(minutes=1), listed_by_run="this-run"),
        listed(timedelta(minutes=1), listed_by_run="this-run"),
        *(listed(2 * DAY) for _ in range(10)),
    )
    selection = select_items(
        items, NOW, IncrementalSettings(max_staleness=timedelta(0), max_items=5), run_key="this-run"
    )
    assert selection.listed_by_this_run == 2
    assert len(selection.items) == 3
    assert all(selected.item.item_id not in ("item-000", "item-001") for selected in selection.items)


def test_freshness_reports_staleness_and_what_is_left_due() -> None:
    items = catalog(
        never_listed(),
        *(listed(timedelta(hours=hours)) for hours in range(1, 21)),  # 1 h .. 20 h
        listed(30 * DAY, deleted=True),  # left alone: not counted
    )
    report = freshness(items, NOW, timedelta(hours=10), run_key="this-run")
    assert report.live_items == 21
    assert report.never_listed == 1
    assert report.backlog == {"new": 1, "hint": 0, "rotation": 11}  # listed 10 h ago or more
    assert report.max_staleness == timedelta(hours=20)
    assert report.p95_staleness == timedelta(hours=19)


@pytest.mark.parametrize(
    "arguments",
    [
        {"max_staleness": -DAY},
        {"max_staleness": DAY, "max_items": -1},
        {"max_staleness": DAY, "rotation_floor": 1.5},
    ],
)
def test_settings_refuse_impossible_values(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must|share"):
        IncrementalSettings(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        ("90m", timedelta(minutes=90)),
        ("0", timedelta(0)),
        ("1.5", timedelta(hours=1.5)),
        ("45s", timedelta(seconds=45)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_a_staleness_bound_reads_as_people_write_it(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "-1h", "6 hours", "h"])
def test_a_staleness_bound_that_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_a_scheduled_run_lists_now_the_items_that_would_pass_the_bound_before_the_next_run() -> None:
    items = catalog(
        listed(DAY - timedelta(minutes=30)),  # 000 past the bound in 30 minutes
        listed(DAY - timedelta(hours=2)),  # 001 past it in two hours
        listed(DAY + timedelta(minutes=5)),  # 002 past it already
    )
    assert picked(items, IncrementalSettings(max_staleness=DAY)) == [("item-002", "rotation")]
    next_run_in_an_hour = IncrementalSettings(max_staleness=DAY, due_within=timedelta(hours=1))
    assert picked(items, next_run_in_an_hour) == [("item-002", "rotation"), ("item-000", "rotation")]


def test_due_within_is_never_negative() -> None:
    with pytest.raises(ValueError, match="due_within"):
        IncrementalSettings(max_staleness=DAY, due_within=timedelta(minutes=-1))
