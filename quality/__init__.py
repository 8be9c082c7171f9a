"""Validate: Great Expectations suites derived from the schema files.

Usage analytics are switched off here, in code, before Great Expectations is imported: a
government hub sends nothing anywhere.
"""
import os

os.environ["GX_ANALYTICS_ENABLED"] = "false"

import logging

# Great Expectations logs at INFO every API function it skips registering when imported (about 214
# of a load task's 250 log lines in Airflow, whose task loggers are at INFO): nothing a reader uses.
logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
