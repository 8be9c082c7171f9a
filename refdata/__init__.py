"""Reference data every record points at: administrative units through time, code lists.

The hub is the source of truth for these shared catalogues; departments' records are
checked against them at the record's own date.
"""
