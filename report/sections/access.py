"""Access: who read what, and how much, from ``audit.access_log`` (issue 12).

Every API request and every grant, approval, refusal and revocation is a row of the log, which
``hub access verify-log`` checks as a hash chain; this section sums it by actor, action,
dataset and status. It names departments and token ids, never a token.
"""
from __future__ import annotations

from typing import Any

from access.log import summary
from report.figures import plain
from report.sections import Page, register


class Access:
    name, title, page = "access", "Access", "access.html"

    def collect(self, fig) -> dict[str, Any]:
        rows = summary(fig.conn)
        return plain({"by_actor": rows, "rows_returned": sum(r["rows"] for r in rows),
                      "requests": sum(r["requests"] for r in rows if r["action"] == "api")})

    def pages(self, data, fig):
        yield Page(self.page, "access.html", {"data": data}, self.title)


register(Access())
