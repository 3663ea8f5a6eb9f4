"""Faults a rehearsal can inject, each at a named point, to prove the gates hold.

A fault is a hook run before a step's `run` or between its `run` and `verify`. None of them
touches the library's code paths: they change the world (a probe that gets in, a corrupted
archive file, a key copy left behind) or swap a step's tool, as a real failure would. Every fault
but `unlisted-extract` must stop the run with nothing destroyed before the archive validated and
no certificate issued; `unlisted-extract` must be found by the scan, destroyed and certified.
"""

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from decommission.destruction import KeyNotErased
from decommission.step import Context, Step
from decommission.verification import canaries_path, load_canaries

Hook = Callable[[Context, dict[str, Step]], None]


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    step: str
    when: str  # "before" run, or "after" run (before verify)
    hook: Hook
    stops_at: str | None  # the step whose gate must stop the run; None if the run completes


def _probe_gets_in(ctx: Context, steps: dict[str, Step]) -> None:
    shutdown = steps["switch_off"]
    shutdown.probes = {**shutdown.probes, "login": lambda: "session-after-switch-off"}


def _corrupt_archive(ctx: Context, steps: dict[str, Step]) -> None:
    target = ctx.evidence / "archive/data/statistics/aggregate.json"
    content = bytearray(target.read_bytes())
    content[len(content) // 2] ^= 0x01
    target.write_bytes(bytes(content))


def _unlisted_extract(ctx: Context, steps: dict[str, Step]) -> None:
    rows = [",".join(c.values()) for c in load_canaries(canaries_path(ctx.deployment))]
    path = ctx.deployment / "extracts" / "E08000099-2010-08-05.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(rows) + "\n")


def _missing_backup(ctx: Context, steps: dict[str, Step]) -> None:
    for backup in sorted((ctx.deployment / "backups").iterdir())[:1]:
        shutil.rmtree(backup)


def _inventory_only(ctx: Context, steps: dict[str, Step]) -> None:
    steps["destroy"].scope = "inventory"


def _key_not_erased(ctx: Context, steps: dict[str, Step]) -> None:
    def refuse(keystore: Path, key_ids: list[str]) -> None:
        raise KeyNotErased(f"{keystore}: key store refused to erase {', '.join(key_ids)}")

    steps["destroy"].erase = refuse


def _key_copy_left(ctx: Context, steps: dict[str, Step]) -> None:
    keys = {f"copy-{n}": k.hex() for n, k in enumerate(ctx.state["keys"])}
    (ctx.deployment / "keys").mkdir(exist_ok=True)
    (ctx.deployment / "keys" / "escrow-copy.json").write_text(json.dumps(keys))


def _canary_in_wal(ctx: Context, steps: dict[str, Step]) -> None:
    canary = load_canaries(canaries_path(ctx.deployment))[0]
    (ctx.deployment / "replica").mkdir(exist_ok=True)
    frame = b"\x37\x7f\x06\x82" + bytes(28) + canary["surname"].encode() + bytes(64)
    (ctx.deployment / "replica" / "index.db-wal").write_bytes(frame)


FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault(
            "probe-gets-in",
            "the login probe gets in after switch-off",
            "switch_off",
            "before",
            _probe_gets_in,
            "switch_off",
        ),
        Fault(
            "corrupt-archive",
            "one bit of an archive payload file flips after bagging",
            "archive",
            "after",
            _corrupt_archive,
            "archive",
        ),
        Fault(
            "unlisted-extract",
            "an authority extract of canaries not in the inventory",
            "inventory",
            "before",
            _unlisted_extract,
            None,
        ),
        Fault(
            "missing-backup",
            "a backup generation listed in the inventory is missing",
            "inventory",
            "before",
            _missing_backup,
            "inventory",
        ),
        Fault(
            "inventory-only",
            "destruction works from the inventory only (the 2010 way)",
            "destroy",
            "before",
            _inventory_only,
            "verify",
        ),
        Fault(
            "key-not-erased",
            "the key store refuses to erase the backup data keys",
            "destroy",
            "before",
            _key_not_erased,
            "destroy",
        ),
        Fault(
            "key-copy-left",
            "a copy of the keys is left in the key directory",
            "destroy",
            "after",
            _key_copy_left,
            "verify",
        ),
        Fault(
            "canary-in-wal",
            "a replica process reopens its database: a WAL file with a canary reappears",
            "destroy",
            "after",
            _canary_in_wal,
            "verify",
        ),
    )
}
