"""Mutation testing of named target sets with mutmut 3: which mutants do the chosen tests let live?

    .venv/bin/python bench/mutation.py metrics              # one set
    .venv/bin/python bench/mutation.py metrics matching     # several, one after the other
    .venv/bin/python bench/mutation.py --list               # the sets, their files and tests

Each target set names the files to mutate, optionally only some of their functions, and the
test files that must kill the mutants (only those run, to keep the run bounded). A set runs in
a scratch copy of the repository (WORKDIR/<set>/, default mutants/, which git ignores) with its
own mutmut configuration, so pyproject.toml carries none and sets do not disturb each other.
Each mutant runs in a worker forked from a fork server that has only collected the tests: a
worker forked from a process that has already run polars queries can deadlock, and mutmut then
reports a timeout instead of a verdict.

Prints every mutant that was not killed, per file, with its diff, then a summary per file.
Exits 1 when a file marked strict has a mutant that survived, timed out, had no test or was not
checked; 2 when mutmut itself fails (a clean test run that does not pass, for instance).

To add a set, add a TargetSet to TARGETS: files, tests, and if need be the functions (a bare
name, or Class.method) and the files that must be strict. A mutant that cannot change behaviour
is best removed by simplifying the code; one that cannot be (SQL in another letter case) is
named in the set's `equivalent`, with why, and reported as equivalent rather than killed.
"""

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).with_name("mutmut")
PACKAGES = ("sim", "decommission")  # importable from the copy; only `files` are mutated
ALSO_COPY = ("data",)
SEPARATOR = "ǁ"  # mutmut's separator between a class and its method in a mutant's name

# mutmut's exit codes per mutant (mutmut/stats.py), in the words this report uses
STATUS = {
    1: "killed",
    3: "killed",
    37: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    None: "not checked",
}


@dataclass(frozen=True)
class Equivalent:
    """A kind of mutant that cannot change what `function` does, told by its diff, and why.

    A mutant of `function` (as named in TargetSet.functions) is equivalent when its mutated
    line contains `added` (if given) and, with `case_only`, differs from the original line
    only in letter case. Such a mutant is reported as equivalent, with `why`, not as a survivor.
    """

    function: str
    why: str
    added: str | None = None
    case_only: bool = False

    def matches(self, files: tuple[str, ...], mutant: str, diff: str) -> bool:
        if not any(fnmatch.fnmatch(mutant, p) for p in _patterns(files, (self.function,))):
            return False
        removed = [line[1:] for line in diff.splitlines() if line.startswith("- ")]
        added = [line[1:] for line in diff.splitlines() if line.startswith("+ ")]
        if len(removed) != 1 or len(added) != 1:
            return False
        if self.added is not None and self.added not in added[0]:
            return False
        return not self.case_only or (
            removed[0] != added[0] and removed[0].lower() == added[0].lower()
        )


@dataclass(frozen=True)
class TargetSet:
    """What to mutate and which tests must notice.

    `functions`, when given, restricts mutation to those functions of `files` (a bare name for
    a module-level function, Class.method for a method); `strict` files fail the run on any
    mutant not killed."""

    description: str
    files: tuple[str, ...]
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()
    strict: tuple[str, ...] = field(default=())
    equivalent: tuple[Equivalent, ...] = field(default=())


TARGETS: dict[str, TargetSet] = {
    "metrics": TargetSet(
        "the run's metrics: the lost-child rate (strict), costs and the metrics table",
        files=(
            "sim/metrics/lost.py",
            "sim/metrics/costs.py",
            "sim/metrics/table.py",
        ),
        tests=(
            "tests/metrics/test_lost.py",
            "tests/metrics/test_costs.py",
            "tests/metrics/test_cost_overrides.py",
            "tests/metrics/test_exposure.py",
        ),
        strict=("sim/metrics/lost.py",),
    ),
    "lost": TargetSet(
        "the lost-child rate alone, against its own tests (the quick strict check)",
        files=("sim/metrics/lost.py",),
        tests=("tests/metrics/test_lost.py",),
        strict=("sim/metrics/lost.py",),
    ),
    "matching": TargetSet(
        "record matching: standardising, blocking, comparison, weights, linking, resolution",
        files=(
            "sim/feeds/matching/standardise.py",
            "sim/feeds/matching/blocking.py",
            "sim/feeds/matching/comparison.py",
            "sim/feeds/matching/weights.py",
            "sim/feeds/matching/linking.py",
            "sim/feeds/matching/resolve.py",
            "sim/feeds/matching/merge.py",
            "sim/feeds/matching/update.py",
            "sim/feeds/matching/evaluate.py",
        ),
        tests=("tests/index/test_matching.py",),
    ),
    "decommission": TargetSet(
        "decommissioning, broadly: destruction, verification, certificates and custody "
        "(informative; decommission-destroy is the strict check)",
        files=(
            "decommission/destruction.py",
            "decommission/destroy_steps.py",
            "decommission/certificate.py",
            "decommission/verification.py",
            "decommission/custody.py",
        ),
        tests=(
            "tests/decommission/test_destruction.py",
            "tests/decommission/test_overwrite_proofs.py",
            "tests/decommission/test_destroy_files.py",
            "tests/decommission/test_certificate.py",
            "tests/decommission/test_certificate_checks.py",
            "tests/decommission/test_destroy_certify_steps.py",
            "tests/decommission/test_verification.py",
            "tests/decommission/test_verifier_mutations.py",
            "tests/decommission/test_custody.py",
        ),
        functions=(
            "crypto_erase",
            "clear_sqlite",
            "overwrite_and_unlink",
            "_overwrite_in_place",
            "destroy_files",
            "DestroyStep.run",
            "DestroyStep.verify",
            "CertifyStep.run",
            "CertifyStep.verify",
            "issue_certificates",
            "sign",
            "verify_certificate",
            "_recheck",
            "_digest_matches",
            "verify_destruction",
            "residue_files",
            "_has_keys",
            "wrap_keys",
            "unwrap_keys",
        ),
    ),
    "decommission-destroy": TargetSet(
        "the functions that overwrite, erase keys, certify and verify certificates (all strict)",
        files=(
            "decommission/destruction.py",
            "decommission/destroy_steps.py",
            "decommission/certificate.py",
        ),
        tests=(
            "tests/decommission/test_overwrite_proofs.py",
            "tests/decommission/test_destroy_files.py",
            "tests/decommission/test_destruction.py",
            "tests/decommission/test_certificate.py",
            "tests/decommission/test_certificate_checks.py",
            "tests/decommission/test_destroy_certify_steps.py",
            "tests/decommission/test_crash_safety.py",
        ),
        functions=(
            "_overwrite_in_place",
            "overwrite_and_unlink",
            "crypto_erase",
            "clear_sqlite",
            "destroy_files",
            "_overwrite_sidecars",
            "DestroyStep.run",
            "DestroyStep.verify",
            "CertifyStep.run",
            "CertifyStep.verify",
            "CertifyStep._publish",
            "canonical",
            "sign",
            "certificate_sha256",
            "issue_certificates",
            "_item",
            "verify_certificate",
            "_recheck",
            "_digest_matches",
        ),
        strict=(
            "decommission/destruction.py",
            "decommission/destroy_steps.py",
            "decommission/certificate.py",
        ),
        equivalent=(
            Equivalent(
                "clear_sqlite",
                "SQL keywords, pragma names and values, and LIKE patterns are case-insensitive "
                "in SQLite, so a statement in other letter case is the same statement",
                case_only=True,
            ),
            Equivalent(
                "canonical",
                "json.dumps tests ensure_ascii for truth: None is False, the value given",
                added="ensure_ascii=None",
            ),
        ),
    ),
}


def module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def mutant_patterns(target: TargetSet) -> list[str]:
    """mutmut mutant-name patterns for the chosen functions (empty: every function)."""
    return _patterns(target.files, target.functions)


def _patterns(files: tuple[str, ...], functions: tuple[str, ...]) -> list[str]:
    patterns = []
    for path in files:
        for function in functions:
            cls, _, name = function.rpartition(".")
            mangled = f"x{SEPARATOR}{cls}{SEPARATOR}{name}" if cls else f"x_{name}"
            patterns.append(f"{module_of(path)}.{mangled}__mutmut_*")
    return patterns


def setup_cfg(target: TargetSet) -> str:
    def block(key: str, values: tuple[str, ...] | list[str]) -> str:
        return f"{key}=\n" + "".join(f"    {v}\n" for v in values)

    return (
        "[mutmut]\n"
        + block("source_paths", PACKAGES)
        + block("only_mutate", target.files)
        + block("also_copy", ALSO_COPY)
        + block("pytest_add_cli_args_test_selection", target.tests)
        + block("pytest_add_cli_args", ["-p", "no:cacheprovider", "-q"])
        + "process_isolation=forkserver\n"
    )


def tracked_files() -> list[str]:
    """The repository's files, committed or not, without what git ignores (data stays, since
    the generated data never lives under data/)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def prepare(name: str, target: TargetSet, workdir: Path) -> Path:
    """A fresh copy of the repository for one set, with the set's mutmut configuration."""
    missing = [p for p in (*target.files, *target.tests) if not (ROOT / p).exists()]
    if missing:
        raise SystemExit(f"mutation.py: target set {name!r} names missing path(s): {missing}")
    copy = workdir / name
    if copy.exists():
        shutil.rmtree(copy)
    for relative in tracked_files():
        if relative.startswith("mutants/"):
            continue
        destination = copy / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, destination)
    (copy / "setup.cfg").write_text(setup_cfg(target))
    return copy


def run_mutmut(copy: Path, patterns: list[str], workers: int, log: Path) -> int:
    env = {**os.environ, "POLARS_MAX_THREADS": "1", "PYTHONHASHSEED": "0"}
    with log.open("w") as out:
        done = subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(workers), *patterns],
            cwd=copy,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return done.returncode


def results(copy: Path, target: TargetSet, patterns: list[str]) -> dict[str, dict[str, str]]:
    """Status of every selected mutant, by file."""
    by_file: dict[str, dict[str, str]] = {}
    for path in target.files:
        meta = copy / "mutants" / f"{path}.meta"
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        by_file[path] = {
            mutant: STATUS.get(code, "suspicious")
            for mutant, code in sorted(codes.items(), key=lambda kv: _order(kv[0]))
            if not patterns or any(fnmatch.fnmatch(mutant, p) for p in patterns)
        }
    return by_file


def _order(mutant: str) -> tuple[str, int]:
    stem, _, number = mutant.rpartition("__mutmut_")
    return stem, int(number) if number.isdigit() else 0


def diff_of(copy: Path, mutant: str) -> str:
    shown = subprocess.run(
        [str(MUTMUT), "show", mutant], cwd=copy, capture_output=True, text=True, check=False
    )
    return shown.stdout.strip() or shown.stderr.strip()


def report(name: str, target: TargetSet, copy: Path, statuses: dict[str, dict[str, str]]) -> bool:
    """Print the mutants not killed and a summary; True if every strict file is clean.

    A survivor that matches one of the set's `equivalent` kinds is counted as equivalent (and
    listed with the reason), never as killed."""
    clean = True
    print(f"\n== {name}: {target.description}")
    for path, mutants in statuses.items():
        left = {m: s for m, s in mutants.items() if s != "killed"}
        if not left:
            continue
        print(f"\n-- {path}: {len(left)} not killed")
        for mutant, status in left.items():
            diff = diff_of(copy, mutant)
            why = next(
                (e.why for e in target.equivalent if e.matches(target.files, mutant, diff)), None
            )
            if status == "survived" and why:
                mutants[mutant] = "equivalent"
                print(f"\nequivalent ({why}): {mutant}")
            else:
                print(f"\n{status}: {mutant}")
            print(diff)
    header = f"{'file':<40} {'mutants':>8} {'killed':>7} {'equiv':>6} {'survived':>9} {'other':>6}"
    print(f"\n{header}  strict")
    for path, mutants in statuses.items():
        counts = Counter(mutants.values())
        other = len(mutants) - counts["killed"] - counts["equivalent"] - counts["survived"]
        strict = path in target.strict
        failed = strict and (not mutants or other + counts["survived"] > 0)
        clean &= not failed
        verdict = ("FAIL" if failed else "ok") if strict else ""
        print(
            f"{path:<40} {len(mutants):>8} {counts['killed']:>7} {counts['equivalent']:>6} "
            f"{counts['survived']:>9} {other:>6}  {verdict}"
        )
    return clean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", help=f"target sets: {', '.join(TARGETS)}")
    parser.add_argument("--list", action="store_true", help="list the target sets and exit")
    parser.add_argument("--workers", type=int, default=2, help="mutants tested at once")
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / "mutants", help="where the copies go"
    )
    args = parser.parse_args()
    if args.list or not args.sets:
        for name, target in TARGETS.items():
            strict = f"; strict: {', '.join(target.strict)}" if target.strict else ""
            print(f"{name}: {target.description}{strict}")
            print(f"  files: {' '.join(target.files)}")
            print(f"  tests: {' '.join(target.tests)}")
            if target.functions:
                print(f"  functions: {' '.join(target.functions)}")
        return 0
    unknown = [s for s in args.sets if s not in TARGETS]
    if unknown:
        parser.exit(2, f"mutation.py: unknown target set(s) {unknown}; known: {list(TARGETS)}\n")
    clean = True
    for name in args.sets:
        target = TARGETS[name]
        start = time.perf_counter()
        copy = prepare(name, target, args.workdir)
        patterns = mutant_patterns(target)
        log = args.workdir / f"{name}.log"
        status = run_mutmut(copy, patterns, args.workers, log)
        statuses = results(copy, target, patterns)
        unchecked = sum(s == "not checked" for m in statuses.values() for s in m.values())
        if status != 0 and (unchecked or not any(statuses.values())):
            print(f"mutation.py: mutmut failed for {name!r} (exit {status}); see {log}")
            return 2  # (mutmut 3.8 may exit 1 after a complete run: its results are used)
        clean &= report(name, target, copy, statuses)
        total = sum(len(m) for m in statuses.values())
        print(f"{name}: {total} mutants in {time.perf_counter() - start:.0f} s (log: {log})")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
