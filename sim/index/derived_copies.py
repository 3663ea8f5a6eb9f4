"""Authority extracts follow shielding: a copy made before a shield never shows what it hides.

A management team's extract (`extracts/*.csv`, made at deploy) is a copy of its children's
records. When a shield is approved the index hides the child's fields at once (sim.index.view);
the extracts must too, or the copy leaks what the index withholds. So, before the shield takes
effect (a kill between the two leaves a copy that hides too much, never too little), every
extract is rewritten (the workbench's atomic writer, owner-only) with the child's hidden columns
emptied (everything but the identity fields data/index/record.toml shielded_visible_fields
names) and the address columns of any row at the child's address emptied too (a sibling shares
that address: docs/index-design.md 10). The facade audits each rewrite. The DR replica, the
other copy of the index kept in the deployment, is given the same decision through the store
seam, also before the live index (`shield_in_replica`): one request and one decision, not a copy
of the whole index (gigabytes at England scale) per shield.
"""

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.index.layout import Layout
from sim.index.records import record_rules
from sim.index.store import StoredRequest
from sim.index.store.backends import open_index
from sim.outputs import replace_file

EXTRACTS = "extracts"
# An extract's columns for each record field a shielded record still shows.
IDENTITY_COLUMNS = {
    "index_id": ("child_id",),
    "name": ("forename", "middle_names", "surname"),
    "date_of_birth": ("date_of_birth",),
    "gender": ("gender",),
}
ADDRESS_COLUMNS = ("address_line", "town", "postcode")


@dataclass(frozen=True)
class Withheld:
    """One extract rewritten: its path inside the deployment and the rows changed."""

    file: str
    rows: int


def visible_columns() -> set[str]:
    shown = record_rules().shielded_visible_fields.value
    return {column for name in shown for column in IDENTITY_COLUMNS.get(name, ())}


def _at(frame: pl.DataFrame, line: str | None, postcode: str | None) -> pl.Expr:
    if not (line and postcode) or not set(ADDRESS_COLUMNS) <= set(frame.columns):
        return pl.lit(False)
    key = pl.col("address_line").str.to_lowercase().str.strip_chars()
    same_postcode = pl.col("postcode").str.replace_all(" ", "").str.to_uppercase()
    return (key == line.lower().strip()) & (same_postcode == postcode.replace(" ", "").upper())


def withhold_in_extracts(
    root: Path, child_id: str, address: tuple[str | None, str | None]
) -> list[Withheld]:
    """Empty a newly shielded child's hidden columns, and the address of every row at its
    `address` (line, postcode), in each extract of the deployment at `root`."""
    found = []
    visible = visible_columns()
    for path in sorted((Path(root) / EXTRACTS).glob("*.csv")):
        frame = pl.read_csv(path, infer_schema=False)  # every value as the text it was
        if "child_id" not in frame.columns:
            continue
        own = pl.col("child_id") == child_id
        line, postcode = address
        if line is None:  # the child's address as the extract has it
            row = frame.filter(own)
            if row.height and set(ADDRESS_COLUMNS) <= set(frame.columns):
                line, postcode = row["address_line"][0], row["postcode"][0]
        shared = _at(frame, line, postcode)
        hidden = [c for c in frame.columns if c not in visible]
        address_columns = [c for c in ADDRESS_COLUMNS if c in frame.columns]
        changed = frame.select(
            (own & pl.any_horizontal([pl.col(c).is_not_null() for c in hidden] or [False]))
            | (shared & pl.any_horizontal([pl.col(c).is_not_null() for c in address_columns]))
        ).to_series()
        count = int(changed.fill_null(False).sum())
        if count == 0:
            continue
        frame = frame.with_columns(
            [pl.when(own).then(None).otherwise(pl.col(c)).alias(c) for c in hidden]
        ).with_columns(
            [pl.when(shared).then(None).otherwise(pl.col(c)).alias(c) for c in address_columns]
        )
        text = io.StringIO()
        frame.write_csv(text)
        replace_file(path, text.getvalue().encode(), private=True)
        found.append(Withheld(str(path.relative_to(root)), count))
    return found


def shield_in_replica(root: Path, request: StoredRequest, decided_by: str, at: dt.datetime) -> bool:
    """Record an approved shield in the DR replica too (its request, then its approval); False
    if the deployment keeps no replica or the replica predates the child (nothing to hide)."""
    replica = Layout(Path(root)).replica
    if not replica.exists():
        return False
    store = open_index(replica)
    try:
        number = store.add_shielding_request(
            request.child_id, request.criterion, request.requested_by, request.requested_at
        )
        store.decide_shielding_request(number, True, decided_by, at)
    except InputError:
        return False
    finally:
        store.close()
    return True


@dataclass(frozen=True)
class DerivedCopies:
    """The copies of child data a deployment keeps beside its live index, kept in step with
    shielding by the facade (ContactPoint.open gives it one; an index alone has none)."""

    root: Path

    def withhold(self, child_id: str, address: tuple[str | None, str | None]) -> list[Withheld]:
        return withhold_in_extracts(self.root, child_id, address)

    def shield_replica(self, request: StoredRequest, decided_by: str, at: dt.datetime) -> bool:
        return shield_in_replica(self.root, request, decided_by, at)
