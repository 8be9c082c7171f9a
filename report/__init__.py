"""What the hub shows auditors: the data-quality report and the lineage of a row."""
from report.lineage import lineage
from report.quality_report import build_report, report_dir

__all__ = ["build_report", "lineage", "report_dir"]
