"""Departments' access to their data: the registry, PostgreSQL roles and row-level security,
the mart views, data-sharing requests and tokens, the access log and the data-sharing API.

Visibility is decided in one place, the database's policies (``policies.py``); the API and a
department's SQL users both go through them.
"""
