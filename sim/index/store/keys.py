"""Search keys stored beside each name: a normalised form and a phonetic code.

Codes are computed once per distinct name, not once per row: England's 11 M children share a
few tens of thousands of names, so the cost is in the join, not in the encoder. Metaphone is
used because it groups the spelling variants practitioners type (Smith/Smyth, Catherine/
Katherine, Clark/Clarke) better than NYSIIS on British names.
"""

import re
from collections.abc import Iterable

import jellyfish
import polars as pl

# Characters that vary between spellings of the same name, dropped before comparing.
_IGNORED = r"[\s\-'.]"
_IGNORED_RE = re.compile(_IGNORED)  # compiled once: normalise_name runs on every lookup


def normalise_name(text: str) -> str:
    """Upper case without spaces, hyphens, apostrophes or dots: 'O'Brien-Ward' -> 'OBRIENWARD'."""
    return _IGNORED_RE.sub("", text.upper())


def phonetic_code(text: str) -> str:
    """The Metaphone code of a name (empty for a name with no letters)."""
    letters = "".join(ch for ch in text.upper() if "A" <= ch <= "Z")
    return jellyfish.metaphone(letters) if letters else ""


def normalise_postcode(text: str) -> str:
    """Upper case with no spaces, so 'bl7 1hr' and 'BL71HR' meet."""
    return "".join(text.split()).upper()


def _normalised(column: str) -> pl.Expr:
    return pl.col(column).str.to_uppercase().str.replace_all(_IGNORED, "")


def with_name_keys(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Add `<column>_norm` and `<column>_code`, encoding each distinct value once."""
    distinct = frame.select(pl.col(column).unique()).drop_nulls()
    normal = distinct.with_columns(_normalised(column).alias(f"{column}_norm"))
    codes = [phonetic_code(name) for name in normal[f"{column}_norm"].to_list()]
    keyed = normal.with_columns(pl.Series(f"{column}_code", codes, dtype=pl.String))
    return frame.join(keyed, on=column, how="left")


def name_keys(names: Iterable[str | None]) -> dict[str, tuple[str, str]]:
    """(`_norm`, `_code`) of each distinct name, as `with_name_keys` stores them, in one polars
    pass for all the names: a day's feed has a few rows, where a pass per column and a join
    cost more than the encoding."""
    distinct = pl.DataFrame({"name": list(set(names) - {None})}, schema={"name": pl.String})
    normal = distinct.select(_normalised("name").alias("norm"))["norm"].to_list()
    return {
        name: (norm, phonetic_code(norm))
        for name, norm in zip(distinct["name"].to_list(), normal, strict=True)
    }
