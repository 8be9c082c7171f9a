"""Reconcile: where the four administrative levels meet, find where they disagree.

Upward (totals add up from commune to central), across (documents sent between levels
arrive; a person is paid once) and, in ``sync.publish``, downward (every level holds the
hub's version of the shared catalogues). Findings go to ``audit.reconciliation``.
"""
