"""Drive a real headless Chromium over the DevTools protocol (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on fds 3 and 4), so the browser test needs no websocket client.

It opens a page, records every JavaScript exception, console error and log error, waits until a
probe expression is true (or a deadline passes), evaluates it, and takes a screenshot. Every
read has a deadline, so a stuck browser fails the test instead of hanging it.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--mute-audio", "--window-size=1280,2400",
]


def chromium_path() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageResult:
    errors: list[str] = field(default_factory=list)
    probe: Any = None
    screenshot_png: bytes = b""
    shots: dict[str, bytes] = field(default_factory=dict)  # CSS selector -> screenshot there


class Browser:
    """One headless Chromium process talking DevTools protocol over two pipes."""

    def __init__(self, exe: str, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        cmd_r, self._cmd_w = os.pipe()  # we write commands, Chromium reads them on fd 3
        self._res_r, res_w = os.pipe()  # Chromium writes replies on fd 4, we read them

        def wire_fds() -> None:  # runs in the child, before exec
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=wire_fds,  # noqa: PLW1509 (test-only helper)
        )
        os.close(cmd_r)
        os.close(res_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- protocol
    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from chromium before the deadline")
            ready, _, _ = select.select([self._res_r], [], [], left)
            if ready:
                chunk = os.read(self._res_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        while True:
            ev = self._read_message(deadline)
            if ev.get("method") == method:
                return ev
            self.events.append(ev)

    def close(self) -> None:
        try:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for fd in (self._cmd_w, self._res_r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    # ---------------------------------------------------------------- one page
    def open_and_probe(self, url: str, probe_js: str, ready_js: str,
                       settle_timeout: float = 30.0, shots: tuple[str, ...] = ()) -> PageResult:
        """Open ``url``; wait until ``ready_js`` is truthy; return errors, probe and screenshots
        (the top of the page, then one scrolled to each CSS selector in ``shots``)."""
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = self.send("Target.attachToTarget",
                            {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", timeout=settle_timeout)
        deadline = time.monotonic() + settle_timeout
        while time.monotonic() < deadline:
            ok = self.send("Runtime.evaluate", {"expression": ready_js, "returnByValue": True},
                           session=session)["result"].get("value")
            if ok:
                break
            time.sleep(0.2)
        probe = self.send("Runtime.evaluate", {"expression": probe_js, "returnByValue": True},
                          session=session)["result"].get("value")
        shot = self.send("Page.captureScreenshot", {"format": "png"}, session=session)
        result = PageResult(probe=probe, screenshot_png=base64.b64decode(shot["data"]))
        for selector in shots:
            self.send("Runtime.evaluate", {"expression": "document.querySelector("
                                           f"{json.dumps(selector)}).scrollIntoView()"},
                      session=session)
            shot = self.send("Page.captureScreenshot", {"format": "png"}, session=session)
            result.shots[selector] = base64.b64decode(shot["data"])
        for ev in self.events:
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                result.errors.append(f"exception: {d.get('text')} "
                                     f"{d.get('exception', {}).get('description', '')}")
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", "")))
                                for a in p.get("args", []))
                result.errors.append(f"console.{p.get('type')}: {args}")
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                result.errors.append(f"log: {e.get('source')}: {e.get('text')} {e.get('url', '')}")
        return result
