"""Việt Nam's time zone, the one every local day and time in the hub is read in (UTC+7, no DST
now; history matters for old dates, so it is the zone, not an offset)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

TIMEZONE = "Asia/Ho_Chi_Minh"
VIETNAM = ZoneInfo(TIMEZONE)
