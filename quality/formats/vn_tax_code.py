"""Tax code (mã số thuế): 10 digits with the check digit of python-stdnum's ``stdnum.vn.mst``,
or a branch as 10 digits + '-' + 3 digits."""
from __future__ import annotations

import re

import pandas as pd
from stdnum.vn import mst

from quality.formats import format_check

TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")


@format_check("vn_tax_code", check="tax_code", rule="valid_vn_tax_code")
def tax_code_problem(value: object) -> str | None:
    if value is None or pd.isna(value):
        return None
    v = str(value)
    if not TAX_CODE.match(v):
        return f"tax code {v!r} is neither 10 digits nor 10 digits + '-' + 3 digits"
    if not mst.is_valid(v):
        return f"tax code {v!r} has a wrong check digit (10th digit)"
    return None
