"""bench/mutation.py's target table names files, tests and functions that exist, and its
function filter turns into the mutant names mutmut gives (a set that names a missing function
would silently test nothing)."""

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("mutation", ROOT / "bench" / "mutation.py")
mutation = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(mutation)


def functions_in(path: Path) -> set[str]:
    """Module-level functions by name and methods as Class.method."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            found |= {f"{node.name}.{n.name}" for n in node.body if isinstance(n, ast.FunctionDef)}
    return found


def test_every_target_names_existing_files_tests_and_functions():
    assert {"metrics", "matching", "decommission"} <= set(mutation.TARGETS)
    assert "sim/metrics/lost.py" in mutation.TARGETS["metrics"].strict
    destroy = mutation.TARGETS["decommission-destroy"]
    assert set(destroy.strict) == set(destroy.files)  # every overwrite, erasure, certificate
    assert {"_overwrite_in_place", "crypto_erase", "issue_certificates", "verify_certificate"} <= (
        set(destroy.functions)
    )
    for name, target in mutation.TARGETS.items():
        for path in (*target.files, *target.tests):
            assert (ROOT / path).exists(), f"{name}: {path}"
        assert set(target.strict) <= set(target.files), name
        defined = set().union(*(functions_in(ROOT / path) for path in target.files))
        missing = [f for f in target.functions if f not in defined]
        assert missing == [], f"{name}: no such function(s) {missing}"


def test_functions_become_mutmut_mutant_names():
    """A function and a method map to mutmut's mangled names (x_name, xǁClassǁname)."""
    target = mutation.TargetSet(
        "example", files=("decommission/destroy_steps.py",), tests=(), functions=("f", "C.m")
    )
    assert mutation.mutant_patterns(target) == [
        "decommission.destroy_steps.x_f__mutmut_*",
        "decommission.destroy_steps.xǁCǁm__mutmut_*",
    ]
    whole = mutation.TargetSet("all", files=("sim/metrics/lost.py",), tests=())
    assert mutation.mutant_patterns(whole) == []


def test_the_configuration_mutates_only_the_set_and_runs_only_its_tests():
    config = mutation.setup_cfg(mutation.TARGETS["metrics"])
    assert "only_mutate=\n    sim/metrics/lost.py\n" in config
    assert "pytest_add_cli_args_test_selection=\n    tests/metrics/test_lost.py\n" in config
    assert "process_isolation=forkserver" in config


def test_an_equivalent_kind_matches_only_its_own_function_and_change():
    """A case-only change in the named function is equivalent; another change, or the same
    change in another function, is not (it must still be killed)."""
    files = ("decommission/destruction.py",)
    sql = mutation.Equivalent("clear_sqlite", "SQL is case-insensitive", case_only=True)
    case = '-        db.execute("PRAGMA x = ON")\n+        db.execute("pragma x = on")'
    other = '-        db.execute("PRAGMA x = ON")\n+        db.execute("XXPRAGMA x = ONXX")'
    assert sql.matches(files, "decommission.destruction.x_clear_sqlite__mutmut_3", case)
    assert not sql.matches(files, "decommission.destruction.x_clear_sqlite__mutmut_4", other)
    assert not sql.matches(files, "decommission.destruction.x_crypto_erase__mutmut_3", case)
    flag = mutation.Equivalent("canonical", "falsy", added="ensure_ascii=None")
    none = "-    dumps(d, ensure_ascii=False)\n+    dumps(d, ensure_ascii=None)"
    true = "-    dumps(d, ensure_ascii=False)\n+    dumps(d, ensure_ascii=True)"
    assert flag.matches(
        ("decommission/certificate.py",), "decommission.certificate.x_canonical__mutmut_4", none
    )
    assert not flag.matches(
        ("decommission/certificate.py",), "decommission.certificate.x_canonical__mutmut_5", true
    )
