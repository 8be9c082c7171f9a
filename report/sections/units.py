"""Administrative units: pass rate and quarantine count per unit, per level, on the map of the
period each record belongs to (legacy units before 2025-07-01, the 2025 units after).

A record's unit is its schema's unit field (``admin_unit_at``), read on the date that field
names: codes were reused by the reform, so a code alone says nothing. Loaded records are
counted in ``core``, refused ones in ``quarantine`` (open ones: a replayed row counts once, as
loaded), each under its unit and every unit above it on the same map. A quarantined record's
date is read from its raw text with the source's date formats; one that can't be read leaves
the period, and so the map, unknown.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Date, func, literal, select

from report.figures import pct, plain
from quarantine.worklist import columns_of, raw_value
from report.sections import Page, register
from schemas import all_schemas
from warehouse.tables import admin_unit, schema_tables

REFORM = date(2025, 7, 1)
VIETNAM = timezone(timedelta(hours=7))
LEVELS = ("commune", "district", "province")


def unit_fields():
    """(schema, unit field, date field) for each schema that names an administrative unit."""
    for s in all_schemas():
        for f in s.fields:
            if f.admin_unit_at:
                yield s, f.name, s.field(f.admin_unit_at)
                break


def era_of(day: date | None) -> str | None:
    return None if day is None else ("legacy" if day < REFORM else "2025")


def parse_day(text: str | None, formats: tuple[str, ...]) -> date | None:
    if not text:
        return None
    text = str(text).strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def counts(fig) -> tuple[dict, dict, dict]:
    """(era, code) -> rows loaded, -> Counter of checks, -> per source [loaded, quarantined], with examples."""
    from pipeline.config import DEFAULT_DATE_FORMATS

    loaded: Counter = Counter()
    checks: dict = defaultdict(Counter)
    by_source: dict = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    examples: dict = {}
    for schema, unit, day in unit_fields():
        core, _, quarantine = schema_tables(schema)
        column = core.c[day.name]
        cutoff = literal(REFORM, Date) if day.type == "date" else literal(datetime(2025, 7, 1, tzinfo=VIETNAM))
        era = func.coalesce((column < cutoff), None)
        for source, code, legacy, n in fig.conn.execute(
                select(core.c.source, core.c[unit], era, func.count()).group_by(core.c.source, core.c[unit], era)):
            key = ("legacy" if legacy else "2025" if legacy is not None else None, code)
            loaded[key] += n
            by_source[key][source][0] += n
        for source, raw, failed, reason, position, batch_id in fig.conn.execute(
                select(quarantine.c.source, quarantine.c.raw_record, quarantine.c.failed_checks,
                       quarantine.c.reason, quarantine.c.source_position, quarantine.c.batch_id)
                .where(quarantine.c.loaded_batch_id.is_(None))):
            config = fig.sources.get(source)
            columns = columns_of(schema, config)
            formats = config.date_formats if config else DEFAULT_DATE_FORMATS
            code = raw_value(raw, columns[unit])
            key = (era_of(parse_day(raw_value(raw, columns[day.name]), formats)),
                   str(code).strip() if code not in (None, "") else None)
            by_source[key][source][1] += 1
            for check in failed:
                checks[key][check] += 1
                examples.setdefault((key, check), {"reason": reason, "position": position, "batch_id": batch_id})
    return loaded, checks, by_source, examples


class Units:
    name, title, page = "units", "Units", "units.html"

    def collect(self, fig) -> dict[str, Any]:
        loaded, checks, by_source, examples = counts(fig)
        ref = {}
        for r in fig.conn.execute(select(admin_unit.c.era, admin_unit.c.code, admin_unit.c.name, admin_unit.c.level,
                                         admin_unit.c.parent_code, admin_unit.c.type)
                                  .where(admin_unit.c.superseded_at.is_(None))
                                  .order_by(admin_unit.c.valid_from.nulls_first())).mappings():
            ref[(r["era"], r["code"])] = dict(r)
        units: dict = {}

        def add(key, era, code, n_loaded, n_quarantined, found_checks, sources, direct):
            u = units.setdefault((era, code), {
                "era": era, "code": code, "name": (ref.get((era, code)) or {}).get("name"),
                "level": (ref.get((era, code)) or {}).get("level"), "loaded": 0, "quarantined": 0,
                "checks": Counter(), "sources": defaultdict(lambda: [0, 0]), "direct": False, "examples": {}})
            u["loaded"] += n_loaded
            u["quarantined"] += n_quarantined
            u["checks"].update(found_checks)
            for s, (a, b) in sources.items():
                u["sources"][s][0] += a
                u["sources"][s][1] += b
            u["direct"] = u["direct"] or direct
            for check in found_checks:
                u["examples"].setdefault(check, examples.get((key, check)))

        for key in set(loaded) | set(by_source):
            era, code = key
            n_q = sum(q for _, q in by_source[key].values())
            add(key, era, code, loaded[key], n_q, checks[key], by_source[key], True)
            parent = (ref.get((era, code)) or {}).get("parent_code")
            while parent and (era, parent) in ref and ref[(era, parent)]["level"] in LEVELS:
                add(key, era, parent, loaded[key], n_q, checks[key], by_source[key], False)
                parent = ref[(era, parent)]["parent_code"]
        rows = []
        for u in units.values():
            read = u["loaded"] + u["quarantined"]
            top = u["checks"].most_common(5)
            rows.append({
                "era": u["era"] or "unknown", "code": u["code"], "name": u["name"], "level": u["level"] or "unknown",
                "known": u["name"] is not None, "read": read, "loaded": u["loaded"], "quarantined": u["quarantined"],
                "pass_rate": pct(u["loaded"], read),
                "top_reasons": [{"check": c, "rows": n, **(u["examples"].get(c) or {})} for c, n in top],
                "sources": sorted(({"source": s, "loaded": a, "quarantined": b, "pass_rate": pct(a, a + b)}
                                   for s, (a, b) in u["sources"].items()), key=lambda s: s["source"]),
                "page": f"units/{u['era'] or 'unknown'}-{u['code'] or 'none'}.html",
            })
        rows.sort(key=lambda u: (u["pass_rate"] if u["pass_rate"] is not None else 101, -u["quarantined"],
                                 u["era"], u["code"] or ""))
        known = [u for u in rows if u["known"] and u["quarantined"]]
        worst = [u for u in known if u["level"] == "commune"][:5] or known[:5]
        maps = {era: {level: [u for u in rows if u["era"] == era and u["level"] == level] for level in LEVELS}
                for era in ("legacy", "2025")}
        return plain({"units": rows, "worst": worst, "maps": maps,
                      "unknown": [u for u in rows if not u["known"]]})

    def pages(self, data, fig):
        from report import charts

        drawn = {}
        for era, levels in data["maps"].items():
            communes = [u for u in levels["commune"] if u["quarantined"]][:15]
            if communes:
                drawn[era] = charts.bars([f"{u['name']} ({u['code']})" for u in communes],
                                         [u["pass_rate"] for u in communes],
                                         f"Communes with quarantined records, {era} map: pass rate",
                                         "pass rate (% of records loaded)", [True] * len(communes))
        yield Page(self.page, "units.html", {"data": data, "charts": drawn}, self.title)
        for u in data["units"]:
            yield Page(u["page"], "unit.html", {"unit": u}, f"{u['name'] or u['code']}")


register(Units())
