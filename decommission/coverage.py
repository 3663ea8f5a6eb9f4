"""Before anything is destroyed, the archive must cover every hold and pending request as it is now.

A run may stop after its archive step and stay down for days; a child-protection hold or a
subject access request may arrive meanwhile. Destruction trusts nothing from then: immediately
before it starts, on the first attempt and on every resume, the holds and pending requests of
the deployment are read again (decommission.held) and set against what the archive covers (the
archive step's `covers`, and each supplementary part's). The difference is archived as a
supplementary part, sealed under this attempt's hold key (wrapped for the custodian like the
first), added to the bag, and validated strictly before destruction may start; if the records
cannot be read any more, the run stops and says why. A part a dead attempt left half-added is
taken out again first: a part counts once its record is written (steps/archive-supplements.json).
"""

import json
from typing import Any

from decommission import atomic, journal
from decommission.archive import (
    SUPPLEMENT_HELD,
    SUPPLEMENT_KEYS,
    ArchiveKeys,
    add_to_bag,
    drop_from_bag,
    held_problems,
    held_rows,
    seal,
)
from decommission.bagcheck import file_digest, strict_problems
from decommission.custody import Recipient, wrap_keys
from decommission.held import held_now, held_records, readable
from decommission.step import Context, NoGo

PARTS_FILE = "steps/archive-supplements.json"
SUPPLEMENT_NOTE = "supplementary archive part"


def recheck_coverage(
    ctx: Context, step_id: str, archive_id: str, keys: ArchiveKeys, custodian: Recipient | None
) -> dict[str, Any] | None:
    """Archive the holds and requests the archive does not cover yet; return the new part's
    record (None if nothing was missing). Raises NoGo (for `step_id`) if it cannot."""
    bag = ctx.evidence / "archive"
    parts = recorded_parts(ctx)
    _drop_unrecorded(bag, len(parts))
    problems = strict_problems(bag)
    if problems:
        raise NoGo(step_id, f"the archive no longer validates: {problems[0]}")
    inventory = ctx.state["inventory"]
    _, coverage = held_now(ctx.deployment, inventory)
    covered = set(ctx.results[archive_id].get("covers", []))
    covered |= {key for part in parts for key in part["covers"]}
    gap = {key: child for key, child in coverage.items() if key not in covered}
    if not gap:
        return None
    unreadable = [
        store.path
        for store in inventory.of_kind("live-index")
        if not readable(ctx.deployment, store)
    ]
    children = sorted(set(gap.values()))
    destroyed = _destroyed(ctx, step_id)
    if unreadable and all(_within(path, destroyed) for path in unreadable):
        return _too_late(ctx, archive_id, parts, gap, children)
    if unreadable:
        raise NoGo(
            step_id,
            f"{len(gap)} hold(s) or request(s) arrived that the archive does not cover, and "
            f"{', '.join(unreadable)} can no longer be read to archive them: restore it, resume",
        )
    records = held_records(ctx.deployment, inventory, children)
    number = len(parts) + 1
    held_name, keys_name = (
        name.format(number=number) for name in (SUPPLEMENT_HELD, SUPPLEMENT_KEYS)
    )
    files = {held_name: seal(keys.holds, _canonical(records), held_name)}
    if custodian is not None:
        files[keys_name] = wrap_keys(keys, custodian)
    add_to_bag(bag, files, write=ctx.disk.write)
    problems = strict_problems(bag) + held_problems(bag, keys, set(children), held_name)
    if problems:
        raise NoGo(step_id, f"supplementary archive part invalid: {'; '.join(problems[:3])}")
    part = {
        "number": number,
        "file": held_name,
        "covers": sorted(gap),
        "held_children": len(children),
        "held_rows": held_rows(records),
        "archive_keys": f"age-encrypted to custodian {custodian} in {keys_name}"
        if custodian is not None
        else "given to the operator once; written nowhere",
        "tagmanifest_sha512": file_digest(bag / "tagmanifest-sha512.txt", "sha512"),
    }
    _write_parts(ctx, [*parts, part])
    ctx.progress(
        archive_id,
        "info",
        f"{SUPPLEMENT_NOTE} {number}: {len(gap)} hold(s) or request(s) that arrived after the "
        f"archive, {len(children)} child(ren), validated",
    )
    return part


def _destroyed(ctx: Context, step_id: str) -> set[str]:
    """Files this run's destruction announced or finished (its journal, decommission.journal)."""
    events = journal.read(ctx.evidence / "steps" / f"{step_id}.journal.jsonl")
    return {e[k]["path"] for e in events for k in ("intent", "done") if k in e}


def _within(store_path: str, destroyed: set[str]) -> bool:
    """A store's file, or a file of a store that is a directory (a server's data directory),
    among those destruction announced."""
    inside = store_path.rstrip("/") + "/"
    return any(path == store_path or path.startswith(inside) for path in destroyed)


def _too_late(
    ctx: Context, archive_id: str, parts: list[dict[str, Any]], gap: dict, children: list[str]
) -> dict[str, Any]:
    """Holds or requests that arrived after this run had destroyed the live index: there is no
    record left to keep. Recorded (so a later resume does not stop on them), never hidden."""
    part = {
        "number": len(parts) + 1,
        "file": None,
        "covers": sorted(gap),
        "held_children": len(children),
        "held_rows": 0,
        "too_late": "arrived after this run had destroyed the live index: no record left",
    }
    _write_parts(ctx, [*parts, part])
    ctx.progress(
        archive_id,
        "info",
        f"{len(gap)} hold(s) or request(s) arrived after the live index was destroyed: "
        "recorded, nothing left to archive",
    )
    return part


def recorded_parts(ctx: Context) -> list[dict[str, Any]]:
    path = ctx.evidence / PARTS_FILE
    return json.loads(path.read_text())["parts"] if path.is_file() else []


def _drop_unrecorded(bag: Any, recorded: int) -> None:
    """Take out what a dead attempt added for a part it never recorded, and stray temp files."""
    for stray in bag.rglob(f"*{atomic.PARTIAL}"):
        stray.unlink()
    listed = (
        (bag / "manifest-sha512.txt").read_text() if (bag / "manifest-sha512.txt").exists() else ""
    )
    names = []
    number = recorded + 1
    while True:
        found = [
            name.format(number=number)
            for name in (SUPPLEMENT_HELD, SUPPLEMENT_KEYS)
            if (bag / name.format(number=number)).exists() or name.format(number=number) in listed
        ]
        if not found:
            break
        names += found
        number += 1
    if names:
        drop_from_bag(bag, names)


def _write_parts(ctx: Context, parts: list[dict[str, Any]]) -> None:
    """The parts' record, replaced whole (decommission.atomic): the part's commit point."""
    content = json.dumps({"parts": parts}, indent=1, sort_keys=True).encode() + b"\n"
    ctx.disk.write(ctx.evidence / PARTS_FILE, content)


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()
