"""The index ID: a NINO-shaped identifier with an ISO 7064 MOD 37,36 check character.

`AB123456X`: two prefix letters allotted to the issuing authority (as the DfE Unique Pupil
Number carries its authority's code), six serial digits, and a check character over the first
eight that catches every single mistyped character and 99.6% of adjacent transpositions (measured
in tests/test_identifiers.py; a hybrid MOD 37,36 system cannot catch them all). Serials are
issued through an affine permutation modulo a prime, so an authority can keep issuing unique
IDs for births without storing the ones it has used.
"""

import re
from functools import cache
from string import ascii_uppercase

import numpy as np
import polars as pl
from stdnum.iso7064 import mod_37_36

from sim.population.parameters import identifier_rules

ALPHABET = "0123456789" + ascii_uppercase
SERIALS_PER_PREFIX = 1_000_000
_ID_PATTERN = re.compile(r"^[A-Z]{2}\d{6}[0-9A-Z]$")


@cache
def valid_prefixes() -> tuple[str, ...]:
    """Every NINO-valid prefix pair in alphabetical order (HMRC NIM39110, data/rules)."""
    rule = identifier_rules().prefix
    return tuple(
        first + second
        for first in ascii_uppercase
        if first not in rule.excluded_first
        for second in ascii_uppercase
        if second not in rule.excluded_second and first + second not in rule.excluded_pairs
    )


def authority_prefixes(ordinal: int) -> tuple[str, ...]:
    """The prefixes allotted to the authority at this position in data/reference/authorities.csv."""
    per = identifier_rules().prefix.prefixes_per_authority
    prefixes = valid_prefixes()
    if (ordinal + 1) * per > len(prefixes):
        raise ValueError(f"no prefixes left for authority ordinal {ordinal}")
    return prefixes[ordinal * per : (ordinal + 1) * per]


@cache
def serial_modulus() -> int:
    """The largest prime below an authority's serial capacity: the permutation's modulus."""
    candidate = identifier_rules().prefix.prefixes_per_authority * SERIALS_PER_PREFIX - 1
    while any(candidate % p == 0 for p in range(2, int(candidate**0.5) + 1)):
        candidate -= 1
    return candidate


def permutation_keys(rng: np.random.Generator) -> tuple[int, int]:
    """A random (multiplier, offset) pair: serial(k) = (multiplier * k + offset) mod p."""
    modulus = serial_modulus()
    return int(rng.integers(1, modulus)), int(rng.integers(0, modulus))


def serials(ordinals: np.ndarray, multiplier: int, offset: int) -> np.ndarray:
    """Serial numbers for the k-th, k+1-th... IDs an authority issues: distinct for k < p."""
    modulus = serial_modulus()
    if len(ordinals) and int(ordinals.max()) >= modulus:
        raise ValueError("authority has issued every serial it has")
    return (ordinals.astype(np.int64) * multiplier + offset) % modulus


def check_indices(payload: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 37,36 check character (as alphabet index) for rows of alphabet indices."""
    modulus = len(ALPHABET)
    check = np.full(payload.shape[0], modulus // 2, dtype=np.int64)
    for column in range(payload.shape[1]):
        check = np.where(check == 0, modulus, check)
        check = ((check * 2) % (modulus + 1) + payload[:, column]) % modulus
    check = np.where(check == 0, modulus, check)
    return (1 - (check * 2) % (modulus + 1)) % modulus


def index_ids(ordinal: int, serial_numbers: np.ndarray) -> np.ndarray:
    """IDs as a numpy bytes array (`S9`) for an authority's serial numbers."""
    prefixes = authority_prefixes(ordinal)
    lookup = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
    prefix_codes = np.array([[ALPHABET.index(c) for c in p] for p in prefixes], dtype=np.int64)
    chosen = prefix_codes[serial_numbers // SERIALS_PER_PREFIX]
    digits = serial_numbers % SERIALS_PER_PREFIX
    payload = np.empty((len(serial_numbers), 8), dtype=np.int64)
    payload[:, :2] = chosen
    for place in range(6):
        payload[:, 7 - place] = (digits // 10**place) % 10
    characters = np.empty((len(serial_numbers), 9), dtype=np.uint8)
    characters[:, :8] = lookup[payload]
    characters[:, 8] = lookup[check_indices(payload)]
    return characters.view("S9").ravel()


def is_valid_index_id(text: str) -> bool:
    """True when `text` has the ID's shape, a NINO-valid prefix and a correct check character."""
    if not _ID_PATTERN.match(text) or text[:2] not in valid_prefixes():
        return False
    return bool(mod_37_36.is_valid(text))


def valid_index_ids(ids: pl.Series | np.ndarray | list[str]) -> np.ndarray:
    """Vectorised `is_valid_index_id`: one bool per ID, for checking millions at once."""
    series = pl.Series(ids, dtype=pl.String)
    shaped = series.str.contains(_ID_PATTERN.pattern).fill_null(False).to_numpy()
    result = np.zeros(len(series), dtype=bool)
    if not shaped.any():
        return result
    raw = np.array(series.filter(pl.Series(shaped)).to_list(), dtype="S9")
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[np.frombuffer(ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(ALPHABET))
    values = lookup[np.frombuffer(raw.tobytes(), dtype=np.uint8).reshape(-1, 9)]
    allowed = np.zeros((36, 36), dtype=bool)
    for prefix in valid_prefixes():
        allowed[ALPHABET.index(prefix[0]), ALPHABET.index(prefix[1])] = True
    good = allowed[values[:, 0], values[:, 1]] & (check_indices(values[:, :8]) == values[:, 8])
    result[shaped] = good
    return result
