"""Load: the PostgreSQL warehouse (schemas ref, core, staging, quarantine, audit)."""
