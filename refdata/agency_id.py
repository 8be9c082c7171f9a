"""Electronic identifiers of agencies (mã định danh điện tử của cơ quan, tổ chức), read the way
QCVN 102:2016/BTTTT (Thông tư 10/2016/TT-BTTTT) and its amendment Sửa đổi 1:2022 (Thông tư
01/2022/TT-BTTTT) write them, and Decision 20/2020/QĐ-TTg keeps them (see refdata/README.md).

An identifier is four groups, ``V1V2V3.Z1Z2.Y1Y2.MX1X2``, read right to left:

- ``MX1X2``: the level-1 unit (a ministry, a province's People's Committee ...): one capital
  letter for the group (G: Government bodies, H: provincial People's Committees, K: provincial
  People's Councils, A: Party bodies ...) and two digits (G22 Văn phòng Chính phủ, H06 ...);
- ``Y1Y2``: the level-2 unit under it (a department, before 2025 a district), ``00`` for none;
- ``Z1Z2``: the level-3 unit (a commune, an office of a department), ``00`` for none;
- ``V1V2V3``: the level-4 unit, ``000`` for none.

So ``000.00.00.H41`` is a provincial People's Committee itself and ``000.00.12.H53`` a level-2
unit under another. The structure is checked, not the hierarchy: real identifiers skip a level
(``002.00.20.H13`` in a public SDK's sample), so a lower group set under an empty higher one is
accepted. Anything else, ``vxp.saas.03`` (a document-exchange platform's system id, not an
agency), ``28.22.H17`` (a group missing) or ``null`` (a missing value some systems write as the
word), is not an agency identifier.
"""
from __future__ import annotations

import re

AGENCY_ID = re.compile(r"^(?P<v>[0-9]{3})\.(?P<z>[0-9]{2})\.(?P<y>[0-9]{2})\.(?P<m>[A-Z][0-9]{2})$")
MISSING = frozenset({"", "null", "none", "nil", "undefined"})
"""What systems write for "no value": never a code (``null`` reached a recipient list in a real SDK)."""


def is_missing(value: str | None) -> bool:
    return value is None or value.strip().lower() in MISSING


def agency_level(code: str) -> int | None:
    """1-4 for a well-formed identifier (the deepest group that is set), None otherwise."""
    m = AGENCY_ID.match(code or "")
    if not m:
        return None
    return 4 if m["v"] != "000" else 3 if m["z"] != "00" else 2 if m["y"] != "00" else 1


def agency_problem(code: str | None) -> str | None:
    """Why ``code`` is not an agency identifier, in words naming it; None when it is one (or missing)."""
    if is_missing(code):
        return None
    code = code.strip()
    if AGENCY_ID.match(code) is None:
        return (f"{code!r} is not an agency identifier (QCVN 102:2016 mã định danh: "
                "V1V2V3.Z1Z2.Y1Y2.MX1X2, e.g. 000.00.00.H06)")
    return None
