"""The quarantine as a work list: find the records held back, read one (masked), and replay them
once the reference data, a code list or a mapping behind their reasons was fixed.

Nothing is ever deleted from quarantine: a record a replay loads keeps its row, which names the
batch that loaded it (``loaded_batch_id``), so the audit trail shows both what was refused and
what was later accepted.
"""
from quarantine.worklist import QuarantineError, find, list_records, record_id, show
from quarantine.replay import ReplayResult, replay

__all__ = ["QuarantineError", "ReplayResult", "find", "list_records", "record_id", "replay", "show"]
