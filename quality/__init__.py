"""Validate: Great Expectations suites derived from the schema files.

Usage analytics are switched off here, in code, before Great Expectations is imported: a
government hub sends nothing anywhere.
"""
import os

os.environ["GX_ANALYTICS_ENABLED"] = "false"
