"""Deterministic, API-shaped Poelis organizations (SPEC sections 1.6, 1.7, 2, 3, 5 and 6).

`generate_organization(seed, scale)` builds a realistic engineering organization: workspaces, products,
item trees several levels deep and properties of all six types, with the awkward parts a real client
meets (soft-deleted records, optional keys missing, legacy and unknown fields, unicode, a 100 KB text,
published versions whose changed copies carry new ids). Same seed, same bytes.
"""

from __future__ import annotations

import bisect
import functools
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from poelis_pipelines import settings
from poelis_pipelines.fake_api.store import Record, RecordStore, RecordView, StoredRecord

# The invented category/unit table of SPEC section 6 (not documented by Poelis; used for realism only).
UNITS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "POWER": ("W", "kW", "MW", "hp"),
    "MASS": ("g", "kg", "t", "lb"),
    "LENGTH": ("mm", "cm", "m", "km", "in", "ft"),
    "PRESSURE": ("Pa", "kPa", "bar", "psi"),
    "TEMPERATURE": ("K", "°C", "°F"),
    "TIME": ("s", "min", "h"),
    "DIMENSIONLESS": ("-", "%"),
}


@dataclass(frozen=True)
class ScalePreset:
    """How big a generated organization is."""

    workspaces: int
    products_per_workspace: int
    items_per_product: tuple[int, int]
    properties_per_item: tuple[int, int]
    users: int
    wide_items: int  # items with more than one 200-record page of properties
    wide_products: int  # products with more than one 200-record page of items


SCALES: dict[str, ScalePreset] = {
    "tiny": ScalePreset(2, 3, (10, 25), (5, 10), 4, wide_items=2, wide_products=1),
    "small": ScalePreset(3, 4, (20, 50), (5, 12), 8, wide_items=2, wide_products=1),
    "medium": ScalePreset(5, 8, (60, 120), (5, 12), 20, wide_items=3, wide_products=1),
    "large": ScalePreset(10, 15, (150, 250), (6, 14), 40, wide_items=5, wide_products=2),
}

_WIDE_ITEM_PROPERTIES = (201, 260)
_WIDE_PRODUCT_ITEMS = (201, 240)
_WIDE_PRODUCT_PROPERTIES_PER_ITEM = (1, 4)
_MAX_ITEM_DEPTH = 4
_START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z
_BIG_TEXT_BYTES = 100_000

T = TypeVar("T")


class ProductVersion:
    """One published version of a product, materialised as the API serves it for `version=N`.

    Unchanged records are the draft's own (same id and bytes); changed ones are copies with a new `id`
    and `draft_item_id` / `draft_property_id` pointing at the draft. Parent links (`parent_item_id`,
    `item_id`) are draft-scoped ids (SPEC 11 #8), so properties are indexed by the draft item id.
    """

    def __init__(self, product_id: str, number: int) -> None:
        self.product_id = product_id
        self.number = number
        self.item_store = RecordStore("product_id")
        self.property_store = RecordStore("item_id")
        self._draft_item_ids: dict[str, str] = {}
        self._by_draft_id: dict[str, StoredRecord] = {}

    @property
    def items(self) -> RecordView:
        return RecordView(lambda: self.item_store, self.item_store)

    @property
    def properties(self) -> RecordView:
        return RecordView(lambda: self.property_store, self.property_store)

    def add_item(self, stored: StoredRecord, draft_item_id: str) -> None:
        self.item_store.append_stored(stored)
        self._draft_item_ids[stored.id] = draft_item_id
        self._draft_item_ids[draft_item_id] = draft_item_id
        self._by_draft_id[draft_item_id] = stored

    def add_property(self, stored: StoredRecord, draft_property_id: str) -> None:
        self.property_store.append_stored(stored)
        self._by_draft_id[draft_property_id] = stored

    def draft_item_id(self, item_id: str) -> str | None:
        """The draft-scoped id of an item of this version, given its version id or its draft id."""
        return self._draft_item_ids.get(item_id)

    def find_item(self, item_id: str) -> StoredRecord | None:
        """This version's record of an item, by its id in the version or by its draft id."""
        return self.item_store.get(item_id) or self._by_draft_id.get(item_id)

    def find_property(self, property_id: str) -> StoredRecord | None:
        return self.property_store.get(property_id) or self._by_draft_id.get(property_id)


class FakeDataset:
    """One organization's data, exactly as the API returns it for the draft (soft-deleted included).

    `.workspaces`, `.products`, `.items`, `.properties` and `.users` are read-only sequences of dicts
    (items grouped by product, properties by item, each in creation order); `.versions[product_id][n]` are
    the published versions. A generated product's items, properties and versions are built on first use
    (`materialise`), each from its own seed, so `large` starts in a moment and stays deterministic.
    """

    def __init__(self, *, organization_id: str, name: str, seed: int | None, scale: str) -> None:
        self.organization_id = organization_id
        self.name = name
        self.seed = seed
        self.scale = scale
        self.workspace_store = RecordStore(None)
        self.product_store = RecordStore("workspace_id")
        self.item_store = RecordStore("product_id")
        self.property_store = RecordStore("item_id")
        self.user_store = RecordStore(None)
        self._versions: dict[str, dict[int, ProductVersion]] = {}
        self.baselines: dict[str, int | None] = {}
        self.clock_ms = _START_MS
        self._pending: dict[str, Callable[[], None]] = {}
        self.people: list[Record] = []  # PublicUser dicts for createdBy / updatedBy
        self.version_copy_products: dict[str, str] = {}  # id of a changed copy in a version -> product id
        self.lock = threading.RLock()  # held while building products, mutating and writing
        self.write_rng = random.Random(f"writes:{organization_id}")  # ids of records created by writes

    @property
    def workspaces(self) -> RecordView:
        return RecordView(lambda: self.workspace_store, self.workspace_store)

    @property
    def products(self) -> RecordView:
        return RecordView(lambda: self.product_store, self.product_store)

    @property
    def items(self) -> RecordView:
        return RecordView(self._all_items, self.item_store)

    @property
    def properties(self) -> RecordView:
        return RecordView(self._all_properties, self.property_store)

    @property
    def users(self) -> RecordView:
        """Organization users, as `GET /organization/users` returns them."""
        return RecordView(lambda: self.user_store, self.user_store)

    @property
    def versions(self) -> dict[str, dict[int, ProductVersion]]:
        self.materialise()
        return self._versions

    def _all_items(self) -> Iterator[StoredRecord]:
        self.materialise()
        for product in self.product_store:
            yield from self.item_store.children(product.id).all

    def _all_properties(self) -> Iterator[StoredRecord]:
        for item in self._all_items():
            yield from self.property_store.children(item.id).all

    def materialise(self, product_id: str | None = None) -> None:
        """Build the items, properties and versions of one product (or of all) if not built yet."""
        if not self._pending or (product_id is not None and product_id not in self._pending):
            return  # a product leaves `_pending` only once it is fully built
        with self.lock:
            for pending_id in [product_id] if product_id else list(self._pending):
                build = self._pending.get(pending_id)
                if build is not None:
                    build()
                    del self._pending[pending_id]

    def now(self, step_ms: int = 1_000) -> str:
        """Advance the dataset's own clock and return it: changes get later, reproducible timestamps."""
        self.clock_ms += step_ms
        return iso_timestamp(self.clock_ms)

    def add_product(self, record: Record, build_subtree: Callable[[], None] | None = None) -> None:
        self.product_store.append(record)
        self.baselines[record["id"]] = record.get("baseline_version_number")
        if build_subtree is not None:
            self._pending[record["id"]] = build_subtree

    def add_version(self, version: ProductVersion) -> None:
        self._versions.setdefault(version.product_id, {})[version.number] = version
        for stored in [*version.item_store, *version.property_store]:
            if stored.id not in self.item_store and stored.id not in self.property_store:
                self.version_copy_products[stored.id] = version.product_id

    def product_of_item(self, item_id: str) -> str | None:
        """The product holding an item, given a draft id or a version copy's id (builds all on a miss)."""
        for attempt in range(2):
            stored = self.item_store.get(item_id)
            if stored is not None:
                return stored.parent_id
            if item_id in self.version_copy_products:
                return self.version_copy_products[item_id]
            if attempt == 0:
                self.materialise()
        return None

    def product_of_property(self, property_id: str) -> str | None:
        """The product holding a property, given a draft id or a version copy's id."""
        self.materialise_on_miss(self.property_store, property_id)
        stored = self.property_store.get(property_id)
        if stored is not None and stored.parent_id is not None:
            return self.product_of_item(stored.parent_id)
        return self.version_copy_products.get(property_id)

    def materialise_on_miss(self, store: RecordStore, record_id: str) -> None:
        """An id nobody has listed yet may live in a product not built yet: build them all once."""
        if record_id not in store and record_id not in self.version_copy_products:
            self.materialise()

    def version(self, product_id: str, requested: int | str) -> ProductVersion | None:
        """The published version `requested` (a number or "baseline") of a product, or None."""
        self.materialise(product_id)
        number = self.baselines.get(product_id) if requested == "baseline" else requested
        if not isinstance(number, int):
            return None
        return self._versions.get(product_id, {}).get(number)

    def __repr__(self) -> str:
        return f"<FakeDataset {self.name!r} seed={self.seed} scale={self.scale}>"

    @classmethod
    def from_examples(cls, directory: str | Path, *, name: str = "Examples") -> FakeDataset:
        """Serve a fixed fixture: the list payloads `workspaces.json`, `products.json`, `items.json`,
        `properties.json` and `organization_users.json` (as in /work/shared/poelis-api/examples), in file
        order. Missing files mean empty collections."""
        folder = Path(directory)

        def load(file_name: str) -> list[Record]:
            path = folder / file_name
            if not path.exists():
                return []
            payload = json.loads(path.read_text(encoding="utf-8"))
            records = payload.get("items") if isinstance(payload, dict) else payload
            if not isinstance(records, list):
                raise ValueError(f"{path}: expected a list envelope {{'items': [...], 'count': n}}")
            return records

        dataset = cls(
            organization_id=str(uuid.uuid5(uuid.NAMESPACE_URL, str(folder.resolve()))),
            name=name,
            seed=None,
            scale="examples",
        )
        for record in load("workspaces.json"):
            dataset.workspace_store.append(record)
        for record in load("products.json"):
            dataset.add_product(record)
        for record in load("items.json"):
            dataset.item_store.append(record)
        for record in load("properties.json"):
            dataset.property_store.append(record)
        for record in load("organization_users.json"):
            dataset.user_store.append(record)
            dataset.people.append({"id": record["id"], "userName": record.get("name"), "imageUrl": None})
        return dataset


_DAY_MS = 86_400_000


@functools.lru_cache(maxsize=4096)
def _iso_date(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))


def iso_timestamp(milliseconds: int) -> str:
    """`2026-04-01T10:11:12.123Z`, the API's timestamp form."""
    day, rest = divmod(milliseconds, _DAY_MS)
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_iso_date(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    """`rng.choice` without its rejection sampling: generation time is mostly such draws."""
    return options[int(rng.random() * len(options))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """`rng.randint(low, high)`, the cheap way (see `_pick`)."""
    return low + int(rng.random() * (high - low + 1))


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from `rng` (so ids are reproducible by seed)."""
    digits = f"{rng.getrandbits(128):032x}"
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def api_key_for(seed: int | str) -> str:
    """A deterministic key of the documented shape: `poelis_api_` + 43 URL-safe characters."""
    rng = random.Random(f"poelis-api-key:{seed}")
    return settings.API_KEY_PREFIX + "".join(rng.choices(settings.API_KEY_ALPHABET, k=43))


@functools.lru_cache(maxsize=65536)
def slug(text: str, separator: str = "_") -> str:
    """A readable_id from a name (cached: generated names repeat a lot)."""
    return re.sub(r"[^a-z0-9]+", separator, text.lower()).strip(separator) or "x"


# --- content pools: an engineering organization ---

_ORGANIZATION_NAMES = ("Acme Aerospace", "Nordwind Propulsion", "Helios Space Systems", "Vela Mobility")
_WORKSPACE_NAMES = (
    "Aerospace Engineering",
    "Ground Systems",
    "Propulsion",
    "Avionics",
    "Power Systems",
    "Structures & Materials",
    "Test and Validation",
    "Thermal Control",
    "R&D — Zürich",
    "Manufacturing",
)
_PRODUCT_THEMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Jet Engine",
        (
            "Fan",
            "Compressor Stage",
            "Combustor",
            "Turbine Stage",
            "Nozzle",
            "Gearbox",
            "Fuel Pump",
            "Bearing",
        ),
    ),
    (
        "Satellite Bus",
        ("Solar Array", "Battery Pack", "Reaction Wheel", "Star Tracker", "Thruster", "Propellant Tank"),
    ),
    (
        "Electric Drive Unit",
        ("Stator", "Rotor", "Inverter", "Cooling Jacket", "Gear Set", "Housing", "Resolver"),
    ),
    ("Landing Gear", ("Strut", "Shock Absorber", "Wheel", "Brake", "Retraction Actuator", "Torque Link")),
    ("Hydraulic Pump", ("Piston", "Swash Plate", "Valve Block", "Shaft Seal", "Housing", "Filter")),
    ("Battery System", ("Cell Module", "Busbar", "BMS Board", "Cooling Plate", "Enclosure", "Contactor")),
)
_PRODUCT_STATUSES = (("In Progress", "#3b82f6"), ("Review", "#f59e0b"), ("Released", "#10b981"))
_FIRST_NAMES = (
    "Jane",
    "John",
    "José",
    "Zoë",
    "Anaïs",
    "Wei",
    "Priya",
    "Seán",
    "Björn",
    "Aiko",
    "Kwame",
    "Olga",
)
_LAST_NAMES = (
    "Doe",
    "Smith",
    "Álvarez",
    "Müller",
    "O'Brien",
    "Li",
    "Nakamura",
    "Okafor",
    "Ivanova",
    "Kowalski",
)

# numeric: (name, category, unit, low, high)
_NUMERIC_TEMPLATES = (
    ("Maximum Power", "POWER", "kW", 1.0, 5000.0),
    ("Rated Power", "POWER", "hp", 10.0, 2000.0),
    ("Dry Mass", "MASS", "kg", 0.1, 2500.0),
    ("Payload Mass", "MASS", "t", 0.5, 40.0),
    ("Length", "LENGTH", "mm", 1.0, 5000.0),
    ("Diameter", "LENGTH", "in", 0.5, 120.0),
    ("Operating Pressure", "PRESSURE", "bar", 0.5, 350.0),
    ("Burst Pressure", "PRESSURE", "psi", 100.0, 20000.0),
    ("Max Temperature", "TEMPERATURE", "°C", -60.0, 1600.0),
    ("Min Temperature", "TEMPERATURE", "K", 4.0, 300.0),
    ("Cycle Time", "TIME", "s", 0.01, 3600.0),
    ("Design Life", "TIME", "h", 100.0, 100000.0),
    ("Efficiency", "DIMENSIONLESS", "%", 10.0, 99.9),
    ("Safety Factor", "DIMENSIONLESS", "-", 1.1, 4.0),
)
_MATRIX_TEMPLATES = (
    ("Pressure Map", "PRESSURE", "bar"),
    ("Temperature Profile", "TEMPERATURE", "K"),
    ("Stiffness Matrix", "DIMENSIONLESS", "-"),
    ("Dimension Table", "LENGTH", "mm"),
    ("Power Curve", "POWER", "kW"),
)
_FORMULA_TEMPLATES = (("Power to Mass", "kW/kg"), ("Total Mass", "kg"), ("Margin", "%"), ("Heat Load", "W"))
_TEXT_TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Material", ("Ti-6Al-4V", "Inconel 718", "AlSi10Mg", "CFRP T800/M21", "17-4PH stainless")),
    (
        "Supplier",
        ("Müller Präzisionstechnik GmbH", "Société Générale d'Usinage", "株式会社 精密", "Acme Corp."),
    ),
    ("Part Number", ("PN-1001-A", "PN-2203-B", "JE200-CMP-01", "SB3/RW/004")),
    (
        "Notes",
        (
            "Said \"nominal\" after the test; see 'Appendix B'.",
            "Line 1\nLine 2\r\nTabbed\tvalue",
            "Résistance «thermique» — ±5 %",
            "🚀 launch-ready ✔",
            "Path C:\\temp\\specs and a trailing backslash \\",
            "",
        ),
    ),
)
_DATE_NAMES = ("Design Freeze", "Qualification Date", "Delivery Date", "Next Inspection")
_STATUS_NAMES = ("Review State", "Approval Status", "Verification Status")
_PROPERTY_TYPES = ("numeric", "text", "status", "date", "matrix", "formula")
_PROPERTY_TYPE_CUMULATIVE = (0.40, 0.58, 0.68, 0.78, 0.88)  # shares 40/18/10/10/10/12 %
_EXTRA_FIELDS = (
    ("unit_system", "SI"),
    ("x_internal_rank", 7),
    ("tags", ["flight", "critical"]),
    ("metadata", {"source": "import", "rev": 3}),
)


class _Generator:
    """Builds an organization into a `FakeDataset`, every choice drawn from a seeded RNG.

    The organization skeleton (users, workspaces, products) comes from one RNG; each product's subtree
    from its own RNG and clock, so products can be built lazily, in any order, with the same result.
    """

    def __init__(
        self, seed: str, preset: ScalePreset, dataset: FakeDataset, people: list[Record], clock_ms: int
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.preset = preset
        self.dataset = dataset
        self.people = people
        self.clock_ms = clock_ms
        self.total_products = preset.workspaces * preset.products_per_workspace

    def uuid(self) -> str:
        return random_uuid(self.rng)

    def tick(self, max_seconds: int = 600) -> str:
        """Advance the clock and return the new time (so creation order is time order)."""
        self.clock_ms += _between(self.rng, 1_000, max_seconds * 1_000)
        return iso_timestamp(self.clock_ms)

    def later(self, max_days: int = 30) -> str:
        """A time after the current clock, without advancing it (for `updatedAt`)."""
        return iso_timestamp(self.clock_ms + _between(self.rng, 0, max_days * _DAY_MS))

    def person(self) -> Record:
        return _pick(self.rng, self.people)

    def build(self) -> None:
        rng = self.rng
        for index in range(self.preset.users):
            name = f"{_FIRST_NAMES[index % len(_FIRST_NAMES)]} {_pick(rng, _LAST_NAMES)}"
            image = None if rng.random() < 0.3 else f"https://avatars.example.com/{index}.png"
            self.people.append({"id": f"auth0|{self.uuid()}", "userName": name, "imageUrl": image})
        self.dataset.people = self.people
        workspace_names = rng.sample(_WORKSPACE_NAMES, k=min(self.preset.workspaces, len(_WORKSPACE_NAMES)))
        workspaces = []
        for index in range(self.preset.workspaces):
            name = workspace_names[index] if index < len(workspace_names) else f"Workspace {index + 1}"
            workspace: Record = {"id": self.uuid(), "readable_id": slug(name), "name": name}
            if index == 1:
                workspace["orgId"] = self.dataset.organization_id  # an unknown extra field (SPEC 11 #1)
            self.dataset.workspace_store.append(workspace)
            workspaces.append(workspace)
        per_workspace = self.preset.products_per_workspace
        products = [
            self.product(workspace, number=index * per_workspace + offset)
            for index, workspace in enumerate(workspaces)
            for offset in range(per_workspace)
        ]
        self.users(workspaces, products)
        self.dataset.clock_ms = self.clock_ms + 120 * _DAY_MS  # "now": after every generated timestamp

    def users(self, workspaces: list[Record], products: list[Record]) -> None:
        rng = self.rng
        for index, person in enumerate(self.people):
            local_part = slug(person["userName"], ".")
            workspace_access = [
                {
                    "workspace_id": ws["id"],
                    "workspace_name": ws["name"],
                    "role": _pick(rng, ("editor", "viewer")),
                }
                for ws in rng.sample(workspaces, k=_between(rng, 0, len(workspaces)))
            ]
            product_access = [
                {
                    "product_id": product["id"],
                    "product_name": product["name"],
                    "workspace_id": product["workspace_id"],
                    "role": _pick(rng, ("editor", "viewer")),
                }
                for product in rng.sample(products, k=min(len(products), _between(rng, 0, 3)))
            ]
            self.dataset.user_store.append(
                {
                    "id": person["id"],
                    "name": person["userName"],
                    "email": f"{local_part}.{index}@example.com",
                    "org_role": "admin" if index == 0 else "member",
                    "workspaceAccess": workspace_access,
                    "productAccess": product_access,
                }
            )

    def product(self, workspace: Record, number: int) -> Record:
        rng = self.rng
        theme, nouns = _PRODUCT_THEMES[number % len(_PRODUCT_THEMES)]
        code = f"{theme.split()[0][:2].upper()}-{100 + number}"
        name = f"{theme} {code}"
        created_by = self.person()
        record: Record = {
            "id": self.uuid(),
            "readable_id": slug(name, "-") if number % 5 == 3 else slug(name),
            "workspace_id": workspace["id"],
            "name": name,
            "description": f"Top-level specification for the {code} {theme.lower()}",
            "baseline_version_number": None,
            "archived": number % 7 == 6,
            "status": None,
            "excludedStatusIds": [],
            "owner": created_by,
            "createdBy": created_by,
            "createdAt": self.tick(86_400),
            "updatedAt": self.later(),
            "updatedBy": self.person(),
        }
        version_count = _between(rng, 1, 3) if rng.random() < 0.4 else 0
        if version_count:
            record["baseline_version_number"] = _between(rng, 1, version_count)
        if rng.random() < 0.7:
            status_name, color = _pick(rng, _PRODUCT_STATUSES)
            record["status"] = {"id": self.uuid(), "name": status_name, "color": color, "groupKey": "started"}
        if number % 4 == 1:  # like the docs' second product: optional keys left out
            for key in ("description", "archived", "status", "excludedStatusIds", "updatedAt", "updatedBy"):
                record.pop(key)
            if not version_count:
                record.pop("baseline_version_number")
        subtree = _Generator(
            f"{self.seed}:product:{number}", self.preset, self.dataset, self.people, self.clock_ms
        )
        self.dataset.add_product(
            record, functools.partial(subtree.product_subtree, record["id"], number, version_count, nouns)
        )
        return record

    def product_subtree(
        self, product_id: str, number: int, version_count: int, nouns: tuple[str, ...]
    ) -> None:
        """The product's item tree, their properties and its published versions."""
        rng = self.rng
        wide_product = number >= self.total_products - self.preset.wide_products
        item_count = _between(rng, *(_WIDE_PRODUCT_ITEMS if wide_product else self.preset.items_per_product))
        per_item = _WIDE_PRODUCT_PROPERTIES_PER_ITEM if wide_product else self.preset.properties_per_item
        wide_item = rng.randrange(item_count) if number < self.preset.wide_items else -1
        items: list[Record] = []
        properties: list[Record] = []
        depths: dict[str, int] = {}
        readable_ids: set[tuple[str | None, str]] = set()
        for index in range(item_count):
            item = self.item(product_id, nouns, index, items, depths, readable_ids)
            items.append(item)
            count = _between(rng, *_WIDE_ITEM_PROPERTIES) if index == wide_item else _between(rng, *per_item)
            properties.extend(self.properties_of(item["id"], count, big_text=number == 0 and index == 0))
        for version in range(1, version_count + 1):
            self.publish(product_id, version, version_count, items, properties)

    def item(
        self,
        product_id: str,
        nouns: tuple[str, ...],
        index: int,
        siblings: list[Record],
        depths: dict[str, int],
        readable_ids: set[tuple[str | None, str]],
    ) -> Record:
        rng = self.rng
        parent_id: str | None = None
        if siblings and rng.random() > 0.06:
            candidates = [item for item in siblings[-8:] if depths[item["id"]] < _MAX_ITEM_DEPTH]
            if candidates:
                parent_id = _pick(rng, candidates)["id"]
        name = f"{_pick(rng, nouns)} {index + 1}"
        readable_id = slug(name, "-") if rng.random() < 0.05 else slug(name)
        while (parent_id, readable_id) in readable_ids:
            readable_id += "_b"
        readable_ids.add((parent_id, readable_id))
        item_id = self.uuid()
        depths[item_id] = 1 if parent_id is None else depths[parent_id] + 1
        record: Record = {
            "id": item_id,
            "readable_id": readable_id,
            "product_id": product_id,
            "name": name,
            "deleted": rng.random() < 0.03,
            "parent_item_id": parent_id,
            "draft_item_id": None,
            "createdBy": self.person(),
            "createdAt": self.tick(),
            "updatedAt": self.later(),
            "updatedBy": self.person(),
        }
        self.vary(record, ("draft_item_id", "updatedBy", "updatedAt", "createdBy"))
        self.dataset.item_store.append(record)
        return record

    def vary(self, record: Record, optional_keys: tuple[str, ...]) -> None:
        """Make some records awkward the way real payloads are: keys missing, legacy or unknown fields."""
        roll = self.rng.random()
        if roll < 0.05:
            for key in optional_keys:
                record.pop(key, None)
        elif roll < 0.10:
            record["position"] = _between(self.rng, 0, 1000) / 4
            record["has_changes"] = self.rng.random() < 0.5
            record["owner"] = _pick(self.rng, ("Engineering Team", "Propulsion Group", None))
        elif roll < 0.13:
            key, value = _pick(self.rng, _EXTRA_FIELDS)
            record[key] = value

    def properties_of(self, item_id: str, count: int, *, big_text: bool) -> list[Record]:
        rng = self.rng
        records: list[Record] = []
        numeric_ids: list[str] = []
        used_readable_ids: set[str] = set()
        for index in range(count):
            property_type = _PROPERTY_TYPES[bisect.bisect(_PROPERTY_TYPE_CUMULATIVE, rng.random())]
            if property_type == "formula" and not numeric_ids:
                property_type = "numeric"
            name, value, category, unit, expression = random_value(self.rng, property_type, numeric_ids)
            if big_text and index == 0:
                property_type, name, value = "text", "Specification Notes", _big_text()
                category = unit = expression = None
            readable_id = slug(name, "-") if rng.random() < 0.03 else slug(name)
            if readable_id in used_readable_ids:
                readable_id = f"{readable_id}_{index}"
            used_readable_ids.add(readable_id)
            property_id = self.uuid()
            if property_type == "numeric":
                numeric_ids.append(property_id)
            record: Record = {
                "id": property_id,
                "readable_id": readable_id,
                "item_id": item_id,
                "name": name,
                "type": property_type,
                "value": value,
                "deleted": rng.random() < 0.03,
                "category": category,
                "display_unit": unit,
                "draft_property_id": None,
                "references": (
                    [{"item_document_id": self.uuid(), "page": _between(rng, 1, 300)}]
                    if rng.random() < 0.15
                    else []
                ),
                "formula_expression": expression,
                "createdBy": self.person(),
                "createdAt": self.tick(120),
                "updatedAt": self.later(),
                "updatedBy": self.person(),
            }
            self.vary(record, ("draft_property_id", "references", "createdBy", "updatedBy"))
            if "position" in record and property_type == "formula":
                record["has_formula_dependency_changes"] = rng.random() < 0.5
            self.dataset.property_store.append(record)
            records.append(record)
        return records

    def publish(
        self, product_id: str, number: int, count: int, items: list[Record], properties: list[Record]
    ) -> None:
        """Materialise published version `number`: an older cut of the product, some records changed since.

        Records deleted in the draft since, and 15% of the others, are copies with new ids in the version.
        """
        rng = self.rng
        version = ProductVersion(product_id, number)
        cut = max(1, round(len(items) * (0.5 + 0.4 * number / count)))
        included = {item["id"] for item in items[:cut]}
        for item in items[:cut]:
            if item["deleted"] or rng.random() < 0.15:
                copy = {**item, "id": self.uuid(), "draft_item_id": item["id"], "deleted": False}
                copy["name"] = f"{item['name']} (v{number})"
                version.add_item(version.item_store.stored(copy), item["id"])
            else:
                version.add_item(self.dataset.item_store.get(item["id"]), item["id"])  # type: ignore[arg-type]
        for prop in properties:
            if prop["item_id"] not in included:
                continue
            if prop["deleted"] or rng.random() < 0.15:
                older = (
                    prop["value"]
                    if prop["type"] == "formula"
                    else random_value(self.rng, prop["type"], [])[1]
                )
                copy = {
                    **prop,
                    "id": self.uuid(),
                    "draft_property_id": prop["id"],
                    "deleted": False,
                    "value": older,
                }
                version.add_property(version.property_store.stored(copy), prop["id"])
            else:
                version.add_property(self.dataset.property_store.get(prop["id"]), prop["id"])  # type: ignore[arg-type]
        self.dataset.add_version(version)


def random_value(
    rng: random.Random, property_type: str, numeric_ids: Sequence[str] = ()
) -> tuple[str, Any, str | None, str | None, str | None]:
    """(name, value, category, display_unit, formula_expression) for a new property of this type.

    A formula refers to up to two of `numeric_ids` (properties of the same item).
    """
    if property_type == "numeric":
        name, category, unit, low, high = _pick(rng, _NUMERIC_TEMPLATES)
        value: Any = round(rng.uniform(low, high), _pick(rng, (0, 1, 2, 3)))
        return name, int(value) if rng.random() < 0.2 else value, category, unit, None
    if property_type == "matrix":
        name, category, unit = _pick(rng, _MATRIX_TEMPLATES)
        return name, matrix_value(rng), category, unit, None
    if property_type == "formula":
        name, unit = _pick(rng, _FORMULA_TEMPLATES)
        operands = rng.sample(list(numeric_ids), k=min(2, len(numeric_ids)))
        expression = " / ".join(f"@{{{operand}}}" for operand in operands)
        value = None if rng.random() < 0.1 else f"{round(rng.uniform(0.01, 500), 2)} {unit}"
        return name, value, None, None, expression
    if property_type == "text":
        name, choices = _pick(rng, _TEXT_TEMPLATES)
        return name, _pick(rng, choices), None, None, None
    if property_type == "date":
        return _pick(rng, _DATE_NAMES), date_value(rng), None, None, None
    return _pick(rng, _STATUS_NAMES), _pick(rng, settings.STATUS_VALUES), None, None, None


def matrix_value(rng: random.Random) -> str:
    """A JSON-encoded 2-D array, as the API returns matrix values."""
    rows, columns = _between(rng, 1, 4), _between(rng, 1, 4)
    matrix = [[round(rng.uniform(0, 100), 2) for _ in range(columns)] for _ in range(rows)]
    return json.dumps(matrix, separators=(",", ":"))


def date_value(rng: random.Random) -> str:
    return f"{_between(rng, 2023, 2028)}-{_between(rng, 1, 12):02d}-{_between(rng, 1, 28):02d}"


def _big_text() -> str:
    """About 100 KB of text with every character class a warehouse must round-trip."""
    line = "Section {n}: \"quoted\" 'single' — ünïcödé 日本語 🚀 tab\there, backslash \\ end.\n"
    text = "".join(line.format(n=n) for n in range(1, 1400))
    return text[:_BIG_TEXT_BYTES]


def generate_organization(
    seed: int = 0, scale: str | ScalePreset = "small", *, name: str | None = None
) -> FakeDataset:
    """A realistic organization, identical for the same `seed` and `scale` (a `SCALES` name or a preset)."""
    if isinstance(scale, str) and scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    preset = SCALES[scale] if isinstance(scale, str) else scale
    rng = random.Random(f"organization:{seed}")
    dataset = FakeDataset(
        organization_id=random_uuid(rng),
        name=name or f"{_pick(rng, _ORGANIZATION_NAMES)} ({seed})",
        seed=seed,
        scale=scale if isinstance(scale, str) else "custom",
    )
    _Generator(f"{seed}:{scale}", preset, dataset, people=[], clock_ms=_START_MS).build()
    return dataset
