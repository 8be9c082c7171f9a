"""A real headless Chromium driven over the DevTools protocol (a websocket on 127.0.0.1).

Debian's ``chromium`` is installed by the Makefile's test set-up; this opens pages one by one
in a 1366 px wide window and records what a person would notice: console errors, uncaught
exceptions, failed or outside requests, a page wider than the window, a JavaScript dialog.
"""
from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

import websocket

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "--remote-allow-origins=*"]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium is missing: `make test` installs it (apt-get install -y chromium)"
    return found


class Chromium:
    def __init__(self, width: int = 1366, height: int = 768):
        self.profile = tempfile.mkdtemp(prefix="lienthong-chromium-")
        self.proc = subprocess.Popen([chromium_path(), *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert time.monotonic() < deadline and self.proc.poll() is None, "chromium did not start"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.loads(urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(method)
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params):
        n = next(self.ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == n:
                assert "error" not in message, (method, message["error"])
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            assert time.monotonic() < deadline, f"no {method} within {timeout}s"
            self.events.append(json.loads(self.ws.recv()))

    def open(self, url: str) -> dict:
        """Load a page; what went wrong on it, its width and its text."""
        self.events = []
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        width = self.call("Runtime.evaluate", expression="[document.documentElement.scrollWidth, window.innerWidth,"
                          " document.body.scrollWidth]", returnByValue=True)["result"]["value"]
        text = self.call("Runtime.evaluate", expression="document.body.innerText", returnByValue=True)["result"]["value"]
        events = self.events
        return {
            "errors": [e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"
                       or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
                       or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")],
            "failed": [e["params"] for e in events if e.get("method") == "Network.loadingFailed"
                       or (e.get("method") == "Network.responseReceived" and e["params"]["response"]["status"] >= 400)],
            "requests": [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"],
            "dialogs": [e["params"] for e in events if e.get("method") == "Page.javascriptDialogOpening"],
            "scroll_width": width[0], "window_width": width[1], "text": text,
        }

    def visible_text(self) -> str:
        """The text of what is on the first screen (elements whose top is inside the window)."""
        script = ("Array.from(document.querySelectorAll('h1,h2,h3,p,li,td,th,span,strong,a,code'))"
                  ".filter(e => e.getBoundingClientRect().top < window.innerHeight && e.offsetParent !== null)"
                  ".map(e => e.innerText).join('\\n')")
        return self.call("Runtime.evaluate", expression=script, returnByValue=True)["result"]["value"]

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)
