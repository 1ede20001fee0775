"""Headless Chromium driven over the Chrome DevTools protocol (no extra Python package: the
``websockets`` client Airflow already brings). Debian's ``chromium`` and ``fonts-noto-cjk`` are
installed when missing and we are root; otherwise the browser tests are skipped.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

# the browser and its CJK fonts; the Data Docs pages use bootstrap and jQuery from Debian
PACKAGES = ("chromium", "fonts-noto-cjk", "libjs-bootstrap4", "libjs-jquery")


def ensure_chromium() -> str | None:
    """The chromium binary, installing Debian's packages when missing; None if impossible."""
    found = shutil.which("chromium")
    fonts = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").exists()
    if found and fonts:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
                   check=False, capture_output=True, env={**os.environ,
                                                          "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("chromium")


class Browser:
    """One headless Chromium page: navigate, read, type, click, screenshot."""

    def __init__(self, binary: str, profile: Path, width: int = 1360, height: int = 1000) -> None:
        from websockets.sync.client import connect

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", f"--remote-debugging-port={port}",
             f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "--lang=zh-CN", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while True:
            try:
                pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
                page = next(p for p in pages if p["type"] == "page")
                break
            except (httpx.HTTPError, StopIteration, ValueError):
                if time.time() > deadline:
                    self.close()
                    raise
                time.sleep(0.5)
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self._id = 0
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=120))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def eval(self, script: str) -> Any:
        result = self.send("Runtime.evaluate", expression=script, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{script}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, script: str, seconds: float = 60) -> Any:
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                value = self.eval(script)
            except RuntimeError:
                value = None
            if value:
                return value
            time.sleep(0.3)
        raise TimeoutError(f"not true after {seconds} s: {script}\nat {self.url}: "
                           f"{(self.text or '')[:500]}")

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    @property
    def url(self) -> str:
        return self.eval("location.href")

    @property
    def text(self) -> str:
        return self.eval("document.body ? document.body.innerText : ''")

    def type_into(self, selector: str, text: str) -> None:
        self.wait_for(f"!!document.querySelector({json.dumps(selector)})")
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def click(self, selector: str) -> None:
        self.wait_for(f"!!document.querySelector({json.dumps(selector)})")
        self.eval(f"document.querySelector({json.dumps(selector)}).click()")

    def screenshot(self, path: Path) -> Path:
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
