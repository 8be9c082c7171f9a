"""``mart.kpi_*``: one table per figure group, what departments and the IOC query.

Every table is keyed by (period, geography, unit, level, dimensions) and refreshed whole by
``kpi.refresh``. The database keeps the definitions' arithmetic: a dossier table row's dossiers
to handle are received + carried over, and each is completed on time, completed late, in
progress not yet due or in progress overdue (CHECK constraints), whatever code wrote the row.
"""
from __future__ import annotations

from sqlalchemy import (CheckConstraint, Column, DateTime, Integer, MetaData, Numeric, PrimaryKeyConstraint,
                        String, Table, Text)

metadata = MetaData(schema="mart")


def _keys(*dims: str, geographic: bool = True) -> list[Column]:
    cols = [Column("period", String(7), nullable=False, comment="YYYY-MM"),
            Column("geography", String(6), nullable=False,
                   comment="legacy: the month on its own map; 2025: on the 2025 map; any: not a map figure")]
    if geographic:
        cols += [Column("unit_code", String(5), nullable=False), Column("level", String(10), nullable=False)]
    return cols + [Column(d, Text, nullable=False, comment="'*': all") for d in dims]


def _pk(name: str, *dims: str, geographic: bool = True) -> PrimaryKeyConstraint:
    keys = ["period", "geography"] + (["unit_code", "level"] if geographic else []) + list(dims)
    return PrimaryKeyConstraint(*keys, name=f"kpi_{name}_pkey")


def _counts(*names: str) -> list[Column]:
    return [Column(n, Integer, nullable=False) for n in names]


def _numbers(*names: str) -> list[Column]:
    return [Column(n, Numeric) for n in names]


REFRESHED = lambda: Column("refreshed_at", DateTime(timezone=True), nullable=False)  # noqa: E731

kpi_dossier = Table(
    "kpi_dossier", metadata, *_keys("receiving_agency", "procedure_code"),
    *_counts("received", "carried_over", "to_handle", "completed_on_time", "completed_late", "in_progress_not_due",
             "in_progress_overdue", "about_to_be_late", "received_online"),
    *_numbers("late_rate", "on_time_rate", "online_rate"), Column("about_to_be_late_days", Integer, nullable=False),
    REFRESHED(), _pk("dossier", "receiving_agency", "procedure_code"),
    CheckConstraint("to_handle = received + carried_over", name="kpi_dossier_to_handle"),
    CheckConstraint("to_handle = completed_on_time + completed_late + in_progress_not_due + in_progress_overdue",
                    name="kpi_dossier_partition"),
    CheckConstraint("about_to_be_late <= in_progress_not_due", name="kpi_dossier_about_to_be_late"),
    comment="One-stop dossiers per unit, receiving agency and procedure (the published definitions: "
            "late rate = (in progress overdue + completed late) / to handle; on-time rate = 100 - late rate)")

kpi_document = Table(
    "kpi_document", metadata, *_keys("sender_agency", "receiver_agency", geographic=False),
    *_counts("documents", "deliveries", "acknowledged", "never_acknowledged", "refusals", "recalls"),
    *_numbers("acceptance_hours_median", "acceptance_hours_p90", "completion_hours_median", "completion_hours_p90"),
    Column("reasons", Text), REFRESHED(), _pk("document", "sender_agency", "receiver_agency", geographic=False),
    CheckConstraint("acknowledged + never_acknowledged = deliveries", name="kpi_document_deliveries"),
    comment="edXML documents per sending and receiving agency and month (of promulgation); times in working "
            "hours (office hours of working days, refdata/holidays.yaml) from arrival (01) to acceptance (03) "
            "and to completion (06)")

kpi_social = Table(
    "kpi_social", metadata, *_keys("benefit_type"), *_counts("beneficiaries", "double_listed"), REFRESHED(),
    _pk("social", "benefit_type"),
    CheckConstraint("double_listed <= beneficiaries", name="kpi_social_double"),
    comment="Beneficiaries on the communes' monthly lists per unit and benefit type; double_listed: people "
            "also on another commune's list of the same month")

kpi_reporting = Table(
    "kpi_reporting", metadata, *_keys("unit_level"), *_counts("expected", "reported", "on_time"),
    *_numbers("reported_share", "on_time_share"), Column("report_due_days", Integer, nullable=False), REFRESHED(),
    _pk("reporting", "unit_level"),
    CheckConstraint("on_time <= reported AND reported <= expected", name="kpi_reporting_counts"),
    comment="Reporting discipline: units (of unit_level, under unit_code) that sent their indicator report "
            "for the month, and within report_due_days working days of its end")

kpi_telemedicine = Table(
    "kpi_telemedicine", metadata, *_keys("facility_code", "specialty"),
    *_counts("consultations", "held", "concluded_remotely"), *_numbers("concluded_share", "duration_minutes_median"),
    REFRESHED(), _pk("telemedicine", "facility_code", "specialty"),
    CheckConstraint("concluded_remotely <= held AND held <= consultations", name="kpi_telemedicine_counts"),
    comment="Remote consultations per requesting unit, facility and specialty; concluded_share = concluded "
            "remotely / held (not cancelled)")

kpi_meeting = Table(
    "kpi_meeting", metadata, *_keys("role", "unit_level"), *_counts("meetings", "invited", "connected"),
    *_numbers("participation_rate"), REFRESHED(), _pk("meeting", "role", "unit_level"),
    CheckConstraint("connected <= invited", name="kpi_meeting_connected"),
    comment="Online meetings: role host (meetings hosted by units of unit_level) or participant "
            "(invitations of units of unit_level and how many connected); participation = connected / invited")

TABLES = {t.name.removeprefix("kpi_"): t for t in metadata.tables.values()}


def mart_table(name: str) -> Table:
    return TABLES[name]
