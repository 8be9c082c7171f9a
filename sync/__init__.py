"""Reconcile: where the four administrative levels meet, find where they disagree.

Upward (totals add up from commune to central), across (documents sent between levels
arrive; a person is paid once) and downward (every level holds the hub's version of the
shared catalogues, which ``sync.publish`` versions and sends). Each check is one file in
``sync/checks/``; findings go to ``audit.reconciliation``.
"""
