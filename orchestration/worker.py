"""What an Airflow worker does once, before it forks a process per task: import and warm
everything every load needs.

Airflow's task runner forks each task from the worker. Whatever the worker imported and cached
before the fork, a task has for free: Great Expectations alone costs about 3.6 s to import, and
the schemas, the adapters' registry, the expectation context and the warehouse's upgrade
fingerprint each cost a little more. A 3,000-row source then loads in well under a second
(bench case G) instead of about 5 s in a fresh interpreter. The worker's set-up calls
:func:`preload` (``python -c "from orchestration.worker import preload; preload()"`` in its
start-up, or an Airflow plugin that imports this module); nothing here opens a connection.
"""
from __future__ import annotations

import gc

from common.errors import HubError


def preload(engine=None) -> None:
    """Import the stages and fill the per-process caches a task would otherwise fill itself; with
    the warehouse's ``engine``, its catalogues and every schema's suite too (a task checks in one
    small query that the catalogues are still the same, and builds a suite again after a minute)."""
    import pipeline.run  # noqa: F401  (the run, its stages, the warehouse's tables)
    import quality.direct  # noqa: F401
    import quality.suite  # noqa: F401
    import quality.validate  # noqa: F401
    from adapters import get_adapter_class
    from quality.context import batch_definition
    from schemas import all_schemas
    from warehouse.migrate import fingerprint

    get_adapter_class("file")  # imports every adapter module, filling the registry
    schemas = all_schemas()
    fingerprint()
    batch_definition()
    if engine is not None:
        from quality import catalogs
        from quality.suite import suite_for

        cats = catalogs.load_current(engine)
        for schema in schemas:
            try:
                suite_for(schema, cats)
            except HubError:  # a code list the warehouse lacks: the task will say so itself
                continue
        engine.dispose()  # no connection crosses the fork
    # What the worker holds now is shared with each forked task page by page; a garbage collection
    # in the task would walk (and so copy) all of it, which measured 2 s. Frozen, the collector
    # leaves it alone.
    gc.freeze()
