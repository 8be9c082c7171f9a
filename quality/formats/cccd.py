"""CCCD (căn cước công dân): 12 digits; digits 1-3 the province of birth registration; digit 4
the sex and century of birth; digits 5-6 the last two digits of the birth year. Read with the
record's date of birth and sex when the schema names them (``birth_date_field``, ``sex_field``)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from quality.formats import format_check

# Province codes of birth registration in a CCCD: the 63 provinces before the 2025 reform
# (Thông tư 59/2021/TT-BCA, Phụ lục I), written with a leading 0.
CCCD_PROVINCES = frozenset("0" + c for c in (
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 44 45 46 48 "
    "49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 89 91 92 93 94 95 96").split())
# Digit 4: (sex, first year of the century). 0/1 = 20th century, 2/3 = 21st, ... male first.
CENTURY = {0: ("male", 1900), 1: ("female", 1900), 2: ("male", 2000), 3: ("female", 2000),
           4: ("male", 2100), 5: ("female", 2100), 6: ("male", 2200), 7: ("female", 2200),
           8: ("male", 1800), 9: ("female", 1800)}
TWELVE_DIGITS = re.compile(r"^\d{12}$")


def _masked(v: str) -> str:
    from schemas.pii import mask

    return mask(v)


@format_check("cccd", rule="valid_cccd", related=("birth_date_field", "sex_field"))
def cccd_problem(value: object, birth: object = None, sex: object = None) -> str | None:
    """Why a citizen ID is wrong (naming the value), or None when it is right."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    v = str(value)
    shown = _masked(v)  # a reason is kept and shown: the value it quotes is a citizen's ID, masked
    if not TWELVE_DIGITS.match(v):
        return f"citizen ID {shown!r} is not 12 digits"
    if v[:3] not in CCCD_PROVINCES:
        return f"citizen ID {shown!r} starts with {v[:3]}, which is not a province code of birth registration"
    code_sex, century = CENTURY[int(v[3])]
    if sex is not None and not pd.isna(sex) and str(sex) != code_sex:
        return f"citizen ID {shown!r}: digit 4 ({v[3]}) means {code_sex}, but sex is {sex}"
    if birth is not None and not pd.isna(birth):
        year = pd.Timestamp(birth).year
        if not century <= year < century + 100:
            return (f"citizen ID {shown!r}: digit 4 ({v[3]}) means born {century}-{century + 99}, "
                    f"but the date of birth is in {year}")
        if v[4:6] != f"{year % 100:02d}":
            return f"citizen ID {shown!r}: digits 5-6 ({v[4:6]}) should be the birth year's last two digits ({year % 100:02d})"
    return None
