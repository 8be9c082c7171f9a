"""What the province's stand-in systems share: an HTTP server on 127.0.0.1 in a thread of its own,
started and stopped by ``with``, and reached as an Airflow connection (address and credentials)."""
from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from urllib.parse import quote


class LocalServer:
    """A subclass sets ``handler`` (a request handler reading ``self.app``), ``thread_name`` and
    ``credentials`` (login, password), and ``port`` (0: a free one)."""

    handler: type
    thread_name = "stand-in-server"
    port = 0
    _httpd: ThreadingHTTPServer | None = None

    @property
    def credentials(self) -> tuple[str, str]:
        raise NotImplementedError

    def start(self):
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), type("Handler", (self.handler,), {"app": self}))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        threading.Thread(target=self._httpd.serve_forever, name=self.thread_name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def connection_uri(self) -> str:
        """The server as an Airflow connection (``AIRFLOW_CONN_<ID>``): its address and credentials."""
        host, port = self._httpd.server_address[:2]
        login, password = self.credentials
        return f"http://{quote(login, safe='')}:{quote(password, safe='')}@{host}:{port}"
