"""The strict BagIt 1.0 validator catches what bagit-python lets through.

The leniencies, by row: docs/decommissioning-standards.md 3.3.
"""

import shutil
import tempfile
from pathlib import Path

import bagit
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decommission.bagcheck import (
    ArchiveInvalid,
    strict_problems,
    validate_strict,
    write_tag_manifests,
)

INFO = {
    "Source-Organization": "test",
    "External-Description": "test bag",
    "Bagging-Date": "2010-08-06",
}


def make_bag(root: Path) -> Path:
    (root / "audit").mkdir(parents=True)
    (root / "audit" / "seal.json").write_text('{"sha256":"00"}')
    (root / "statistics.json").write_text('{"children": 205}')
    (root / "evidence.json").write_bytes(b"\x00\x01evidence\xff")
    bagit.make_bag(str(root), bag_info=dict(INFO), checksums=["sha256", "sha512"])
    write_tag_manifests(root)
    return root


@pytest.fixture
def bag(tmp_path) -> Path:
    return make_bag(tmp_path / "bag")


def bagit_accepts(root: Path) -> bool:
    return bagit.Bag(str(root)).is_valid()


def test_fresh_bag_is_valid_and_declares_1_0(bag):
    """A bag we write passes both validators and says BagIt-Version: 1.0."""
    assert strict_problems(bag) == []
    validate_strict(bag)
    assert (bag / "bagit.txt").read_text().startswith("BagIt-Version: 1.0\n")


def test_file_missing_from_one_manifest_only(bag):
    """bagit-python accepts a file absent from manifest-sha512; strict does not.

    docs/decommissioning-standards.md 3.3 row 2."""
    manifest = bag / "manifest-sha512.txt"
    manifest.write_text("".join(manifest.read_text().splitlines(True)[1:]))
    write_tag_manifests(bag)
    assert bagit_accepts(bag)
    assert any("on disk but not listed" in p for p in strict_problems(bag))


def test_tag_manifests_deleted(bag):
    """Without tag manifests bagit-python still says valid (3.3 row 4); strict requires them."""
    for path in bag.glob("tagmanifest-*.txt"):
        path.unlink()
    assert bagit_accepts(bag)
    assert "tagmanifest-sha512.txt: missing" in strict_problems(bag)


def test_unlisted_tag_file(bag):
    """An extra tag file outside every tag manifest is refused.

    docs/decommissioning-standards.md 3.3 row 8."""
    (bag / "notes.txt").write_text("hello")
    assert bagit_accepts(bag)
    assert any("notes.txt: on disk but not listed" in p for p in strict_problems(bag))


def test_same_size_tamper_caught_where_fast_validation_misses(bag):
    """A same-size change passes bagit's Oxum-only `fast` check (3.3 row 5), never ours."""
    target = bag / "data" / "statistics.json"
    target.write_text(target.read_text().replace("205", "206"))
    assert bagit.Bag(str(bag)).is_valid(fast=True)
    assert any("sha256 mismatch" in p for p in strict_problems(bag))


def _set_version(bag: Path) -> None:
    (bag / "bagit.txt").write_text("BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n")


def _add_bom(bag: Path) -> None:
    (bag / "bagit.txt").write_bytes(b"\xef\xbb\xbf" + (bag / "bagit.txt").read_bytes())


def _add_fetch(bag: Path) -> None:
    (bag / "fetch.txt").write_text("http://example.org/y 1 data/y\n")


def _add_md5(bag: Path) -> None:
    (bag / "manifest-md5.txt").write_text("")


def _bad_oxum(bag: Path) -> None:
    info = bag / "bag-info.txt"
    info.write_text(info.read_text().replace("Payload-Oxum: ", "Payload-Oxum: 1"))


def _traversal(bag: Path) -> None:
    with (bag / "manifest-sha256.txt").open("a") as handle:
        handle.write(f"{'0' * 64}  ../../etc/passwd\n")


@pytest.mark.parametrize(
    ("mutation", "retag", "expected"),
    [
        (_set_version, False, "bagit.txt"),
        (_add_bom, False, "bagit.txt"),
        (_add_fetch, True, "fetch.txt"),
        (_add_md5, True, "algorithm not allowed"),
        (_bad_oxum, True, "Payload-Oxum"),
        (_traversal, True, "outside the bag"),
    ],
    ids=["version-0.97", "bom", "fetch", "md5-manifest", "oxum", "path-traversal"],
)
def test_profile_violations_are_refused(bag, mutation, retag, expected):
    """Each departure from BagIt 1.0 or the profile is named, even when the tags are redone."""
    mutation(bag)
    if retag:
        write_tag_manifests(bag)
    problems = strict_problems(bag)
    assert any(expected in p for p in problems), problems
    with pytest.raises(ArchiveInvalid):
        validate_strict(bag)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_bag(tmp_path_factory.mktemp("pristine") / "bag")


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), action=st.sampled_from(["change", "remove", "add"]))
def test_any_single_byte_edit_is_rejected(pristine, data, action):
    """Changing, removing or inserting one byte anywhere (outside tag manifests) is caught."""
    with tempfile.TemporaryDirectory() as scratch:
        bag = Path(scratch) / "bag"
        shutil.copytree(pristine, bag)
        candidates = [f for f in _files(bag) if not f.startswith("tagmanifest-")]
        target = bag / data.draw(st.sampled_from(candidates))
        content = bytearray(target.read_bytes())
        at = data.draw(st.integers(0, len(content) - (0 if action == "add" else 1)))
        if action == "change":
            content[at] = data.draw(st.integers(0, 255).filter(lambda b: b != content[at]))
        elif action == "remove":
            del content[at]
        else:
            content.insert(at, data.draw(st.integers(0, 255)))
        target.write_bytes(bytes(content))
        assert strict_problems(bag)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_digest_digit_change_in_a_tag_manifest_is_rejected(pristine, data):
    """Replacing one hex digit of a tag-manifest digest with a different value is caught."""
    with tempfile.TemporaryDirectory() as scratch:
        bag = Path(scratch) / "bag"
        shutil.copytree(pristine, bag)
        target = bag / data.draw(
            st.sampled_from(["tagmanifest-sha256.txt", "tagmanifest-sha512.txt"])
        )
        lines = target.read_text().splitlines(True)
        row = data.draw(st.integers(0, len(lines) - 1))
        digest, rest = lines[row].split(" ", 1)
        at = data.draw(st.integers(0, len(digest) - 1))
        digit = data.draw(
            st.sampled_from("0123456789abcdef").filter(lambda d: d != digest[at].lower())
        )
        lines[row] = digest[:at] + digit + digest[at + 1 :] + " " + rest
        target.write_text("".join(lines))
        assert strict_problems(bag)


def test_added_payload_file_is_rejected(bag):
    """A file slipped into data/ after bagging is not in any manifest."""
    (bag / "data" / "extra.csv").write_text("child_id\nCP1\n")
    assert any("data/extra.csv: on disk but not listed" in p for p in strict_problems(bag))
