"""JSON-encoded record storage shared by the dataset and the server.

Each record is encoded to JSON bytes once, when it is created or changed, so that serving a page is a
slice and a join; the dicts themselves are not kept, which keeps the `large` scale memory-lean.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, overload

Record = dict[str, Any]

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode(record: Record) -> bytes:
    """The exact bytes the fake API sends for `record` (compact UTF-8 JSON, key order preserved)."""
    return _ENCODER.encode(record).encode()


class StoredRecord(NamedTuple):
    """One record with the few fields the server filters on, next to its encoded body."""

    id: str
    parent_id: str | None
    deleted: bool
    type: str | None
    body: bytes


class Children(NamedTuple):
    """The records under one parent in creation order: all of them, and those not soft-deleted."""

    all: list[StoredRecord]
    live: list[StoredRecord]


_NO_CHILDREN = Children([], [])


class RecordStore:
    """One resource kind: records in creation order, indexed by id and by parent id.

    Readers never take a lock: a change replaces a parent's `Children` lists instead of editing them in
    place, so a page being served always sees one consistent list.
    """

    def __init__(self, parent_key: str | None) -> None:
        self.parent_key = parent_key
        self._by_id: dict[str, StoredRecord] = {}
        self._children: dict[str | None, Children] = {}

    def stored(self, record: Record) -> StoredRecord:
        parent_id = record.get(self.parent_key) if self.parent_key else None
        return StoredRecord(
            id=record["id"],
            parent_id=parent_id,
            deleted=bool(record.get("deleted", False)),
            type=record.get("type") if self.parent_key == "item_id" else None,
            body=encode(record),
        )

    def append(self, record: Record) -> StoredRecord:
        """Add a new record at the end of the creation order (used while building, before serving)."""
        return self.append_stored(self.stored(record))

    def append_stored(self, stored: StoredRecord) -> StoredRecord:
        self._by_id[stored.id] = stored
        children = self._children.get(stored.parent_id)
        if children is None:
            children = self._children[stored.parent_id] = Children([], [])
        children.all.append(stored)
        if not stored.deleted:
            children.live.append(stored)
        return stored

    def add(self, record: Record) -> None:
        """Add a record while the server may be reading (copy-on-write of the parent's lists)."""
        stored = self.stored(record)
        self._by_id[stored.id] = stored
        self._set_children(stored.parent_id, [*self.children(stored.parent_id).all, stored])

    def replace(self, record: Record) -> None:
        """Store a changed version of an existing record, keeping its place in the order."""
        stored = self.stored(record)
        old = self._by_id[stored.id]
        if old.parent_id != stored.parent_id:
            raise ValueError(f"record {stored.id} cannot move to another parent")
        self._by_id[stored.id] = stored
        members = self.children(old.parent_id).all
        self._set_children(
            old.parent_id, [stored if member.id == stored.id else member for member in members]
        )

    def remove(self, record_id: str) -> None:
        """Delete a record outright (not a soft delete)."""
        old = self._by_id.pop(record_id)
        members = self.children(old.parent_id).all
        self._set_children(old.parent_id, [member for member in members if member.id != record_id])

    def _set_children(self, parent_id: str | None, members: list[StoredRecord]) -> None:
        self._children[parent_id] = Children(members, [member for member in members if not member.deleted])

    def get(self, record_id: str) -> StoredRecord | None:
        return self._by_id.get(record_id)

    def children(self, parent_id: str | None) -> Children:
        return self._children.get(parent_id, _NO_CHILDREN)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[StoredRecord]:
        return iter(list(self._by_id.values()))


class RecordView(Sequence[Record]):
    """A read-only list of API-shaped dicts, decoded on access.

    The dicts are fresh copies: editing one does not change what the server sends (use
    `FakePoelisServer.mutate` for that).
    """

    def __init__(self, records: Callable[[], Iterable[StoredRecord]], lookup: RecordStore) -> None:
        self._records = records
        self._lookup = lookup

    def _members(self) -> list[StoredRecord]:
        return list(self._records())

    def __len__(self) -> int:
        return len(self._members())

    def __iter__(self) -> Iterator[Record]:
        for stored in self._members():
            yield json.loads(stored.body)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        members = self._members()
        if isinstance(index, slice):
            return [json.loads(stored.body) for stored in members[index]]
        return json.loads(members[index].body)  # type: ignore[no-any-return]

    def get(self, record_id: str) -> Record | None:
        """The record with this id, or None."""
        self._members()  # materialises lazily built records first
        stored = self._lookup.get(record_id)
        return None if stored is None else json.loads(stored.body)

    def __repr__(self) -> str:
        return f"<{len(self)} records>"
