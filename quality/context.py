"""One ephemeral Great Expectations context per process, analytics off, nothing on disk."""
from __future__ import annotations

import logging
import threading
from functools import cache

import quality  # noqa: F401  (sets GX_ANALYTICS_ENABLED=false before the import below)
import great_expectations as gx
from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                       ProgressBarsConfig)

logging.getLogger("great_expectations").setLevel(logging.WARNING)

# Great Expectations fingerprints every pandas batch with an md5 of the whole frame, twice per
# validation: about 2 s per million rows, half the cost of the suite, for a marker we never read.
from great_expectations.execution_engine import pandas_execution_engine as _engine  # noqa: E402

if hasattr(_engine, "HASH_THRESHOLD"):
    _engine.HASH_THRESHOLD = 0
_lock = threading.Lock()


@cache
def gx_context():
    with _lock:
        config = DataContextConfig(analytics_enabled=False,
                                   progress_bars=ProgressBarsConfig(globally=False),
                                   store_backend_defaults=InMemoryStoreBackendDefaults())
        return gx.get_context(mode="ephemeral", project_config=config)


@cache
def batch_definition():
    """A dataframe asset reused for every batch: its setup costs more than a small batch."""
    asset = gx_context().data_sources.add_pandas("hub").add_dataframe_asset("batch")
    return asset.add_batch_definition_whole_dataframe("whole")
