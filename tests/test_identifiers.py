"""The index ID: NINO-shaped, authority-allotted prefixes, ISO 7064 MOD 37,36 check character."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.iso7064 import mod_37_36

from sim.population.identifiers import (
    ALPHABET,
    authority_prefixes,
    index_ids,
    is_valid_index_id,
    serial_modulus,
    serials,
    valid_index_ids,
    valid_prefixes,
)

ordinals = st.integers(min_value=0, max_value=151)
serial_numbers = st.integers(min_value=0, max_value=serial_modulus() - 1)


def make_id(ordinal: int, serial: int) -> str:
    return index_ids(ordinal, np.array([serial], dtype=np.int64))[0].decode()


@given(ordinals, serial_numbers)
def test_issued_ids_are_valid(ordinal, serial):
    """Every ID the scheme issues passes validation."""
    assert is_valid_index_id(make_id(ordinal, serial))


@given(ordinals, serial_numbers)
def test_vectorised_check_agrees_with_stdnum(ordinal, serial):
    """The numpy check character equals python-stdnum's ISO 7064 MOD 37,36 reference."""
    text = make_id(ordinal, serial)
    assert text[-1] == mod_37_36.calc_check_digit(text[:-1])


@settings(max_examples=300)
@given(ordinals, serial_numbers, st.integers(0, 8), st.sampled_from(ALPHABET))
def test_any_single_character_change_is_caught(ordinal, serial, position, replacement):
    """Changing any one character (letter, digit or check) to any other makes the ID invalid."""
    text = make_id(ordinal, serial)
    if text[position] == replacement:
        replacement = ALPHABET[(ALPHABET.index(replacement) + 1) % len(ALPHABET)]
    changed = text[:position] + replacement + text[position + 1 :]
    assert not is_valid_index_id(changed)


def test_adjacent_transpositions_are_almost_always_caught():
    """Over 40,000 swaps of two neighbouring, different characters, under 1% go unnoticed.

    A hybrid MOD 37,36 system catches every substitution but not every transposition (0.4% of
    them here), so this pins the measured rate rather than claiming all.
    """
    rng = np.random.default_rng(0)
    missed = total = 0
    for ordinal in range(0, 152, 7):
        for raw in index_ids(ordinal, rng.integers(0, serial_modulus(), 250)):
            text = raw.decode()
            for p in range(8):
                if text[p] != text[p + 1]:
                    total += 1
                    missed += is_valid_index_id(text[:p] + text[p + 1] + text[p] + text[p + 2 :])
    assert total > 35_000
    assert 0 < missed / total < 0.01


@given(st.integers(1, serial_modulus() - 1), st.integers(0, serial_modulus() - 1))
def test_serial_permutation_never_repeats(multiplier, offset):
    """An authority's first 100,000 serials are distinct for any keys (a bijection mod p)."""
    issued = serials(np.arange(100_000), multiplier, offset)
    assert len(np.unique(issued)) == len(issued)


def test_prefixes_follow_hmrc_rules_and_are_not_shared():
    """Prefixes exclude HMRC's barred letters and pairs, and no two authorities share one."""
    prefixes = valid_prefixes()
    assert "GB" not in prefixes and "QQ" not in prefixes and "AO" not in prefixes
    allotted = [p for ordinal in range(152) for p in authority_prefixes(ordinal)]
    assert len(allotted) == len(set(allotted)) == 304


def test_malformed_strings_are_invalid():
    """Wrong length, lower case, or a barred prefix never validate."""
    good = make_id(3, 12345)
    for bad in ["", good[:-1], good.lower(), "GB" + good[2:], good + "0", " " + good]:
        assert not is_valid_index_id(bad)


@settings(max_examples=200)
@given(st.lists(st.text(alphabet=ALPHABET + "azé -", min_size=0, max_size=11), max_size=20))
def test_vectorised_validation_agrees_with_scalar(texts):
    """valid_index_ids gives, string by string, what is_valid_index_id gives."""
    real = [make_id(o, s) for o, s in [(0, 1), (151, 1999992), (77, 424242)]]
    candidates = texts + real + [r + "0" for r in real] + [r.lower() for r in real]
    expected = [is_valid_index_id(t) for t in candidates]
    assert valid_index_ids(np.array(candidates, dtype=object)).tolist() == expected
