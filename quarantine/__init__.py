"""Quarantine: what the run does with the records that failed a check, and when it holds a batch.

The policy lives here, not in the run: which rows go to quarantine and with which reasons
(:func:`quarantine_rows`), when a batch is held whole as a broken source (:func:`hold_reason`,
one rule for the mapping's failures and for Great Expectations' results), how a raw record is
protected before it is kept (:func:`protector`), and which keys an earlier batch of the same read
already loaded (:func:`repeats`). ``warehouse.load.quarantine`` only writes what this hands it.

Afterwards the quarantine is a work list (``hub quarantine``): :mod:`quarantine.worklist` finds
and shows records (masked), :mod:`quarantine.replay` revalidates them once what refused them was
fixed. Those two import the run's check path, so they are imported by name, not from here.
"""
from quarantine.hold import hold_reason
from quarantine.records import Quarantined, adapter_failures, quarantine_rows, repeats, undecodable

__all__ = ["Quarantined", "adapter_failures", "hold_reason", "quarantine_rows", "repeats", "undecodable"]
