"""The HTML report in a real headless Chromium: charts are drawn, nothing is fetched.

Network proof: Chromium runs with every request sent through a local recording proxy
(`--proxy-server`, loopback not bypassed). Chromium's own background services still call
a few Google endpoints even with the --disable-* flags; those hosts are listed below and
ignored, any other request counts as the page loading something. A positive control (a
page with one external image and one external stylesheet) proves that the proxy sees
page requests. The HTML and the DOM Chromium built are scanned for external references too.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from tests.test_report import AS_OF, KB, report, store  # noqa: F401 (fixtures)
from worker.report.charts import CLASSIFIED, CONTENTION, LOCK_PERMISSION, UNCLASSIFIED
from worker.report.html import render_html

pytestmark = pytest.mark.chromium

CHROMIUM_OWN_HOSTS = {"clients2.google.com", "update.googleapis.com", "accounts.google.com",
                      "optimizationguide-pa.googleapis.com", "content-autofill.googleapis.com",
                      "safebrowsingohttpgateway.googleapis.com", "redirector.gvt1.com"}
EXTERNAL_REF = re.compile(
    r"""(?:\bsrc\s*=\s*["']?\s*(?:https?:)?//|\burl\(\s*["']?\s*(?:https?:)?//|@import|<link\b"""
    r"""|<script\b|<iframe\b|<object\b|<embed\b|\bsrcset\s*=|<base\b)""", re.IGNORECASE)
HREF = re.compile(r"<(\w+)[^>]*\bhref\s*=", re.IGNORECASE)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("headless Chromium not found (looked for `chromium`, /usr/bin/chromium): "
                    "run `make deps` to install it")
    return path


class RecordingProxy:
    """Accepts proxy connections on loopback and records each request line."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                self.requests.append(conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1"))
            conn.close()

    def page_hosts(self) -> set[str]:
        hosts = set()
        for line in self.requests:
            parts = line.split()
            if len(parts) < 2:
                continue
            target = re.sub(r"^https?://", "", parts[1]).split("/")[0].split(":")[0]
            hosts.add(target)
        return hosts - CHROMIUM_OWN_HOSTS

    def close(self) -> None:
        self.sock.close()


def run_chromium(page: Path, tmp: Path, *extra: str, proxy: RecordingProxy | None = None) -> str:
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp / 'profile'}", "--window-size=1280,2000"]
    if proxy:
        args += [f"--proxy-server=http://127.0.0.1:{proxy.port}", "--proxy-bypass-list=<-loopback>"]
    done = subprocess.run([*args, *extra, page.as_uri()], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(page: Path, tmp: Path, proxy: RecordingProxy | None = None) -> np.ndarray:
    png = tmp / "shot.png"
    run_chromium(page, tmp, f"--screenshot={png}", proxy=proxy)
    assert png.exists(), "Chromium wrote no screenshot"
    return mpimg.imread(png)[:, :, :3]  # floats 0..1, RGB


def colour_mask(pixels: np.ndarray, hex_colour: str, tol: float = 0.03) -> np.ndarray:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.all(np.abs(pixels - rgb) < tol, axis=2)


@pytest.fixture
def page(report, tmp_path):  # noqa: F811
    path = tmp_path / "weekly.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def test_html_has_no_external_references(page):
    html = page.read_text(encoding="utf-8")
    assert not EXTERNAL_REF.findall(html)
    assert {tag.lower() for tag in HREF.findall(html)} <= {"a"}  # plain links never load
    images = re.findall(r'<img src="([^"]*)"', html)
    assert len(images) == 3 and all(i.startswith("data:image/png;base64,") for i in images)
    assert "<style>" in html and "@media print" in html and "<script" not in html


def test_chromium_renders_charts_and_fetches_nothing(page, tmp_path):
    proxy = RecordingProxy()
    try:
        pixels = screenshot(page, tmp_path, proxy)
        dom = run_chromium(page, tmp_path / "dom", "--dump-dom", proxy=proxy)
    finally:
        proxy.close()
    assert proxy.page_hosts() == set(), proxy.requests
    assert "tfpulse weekly report — 2024-W24" in dom
    assert not re.search(r"<img[^>]+src=\"https?:|<link\b|<script\b", dom, re.IGNORECASE)
    assert dom.count('<img src="data:image/png;base64,') == 3

    assert pixels.shape[:2] == (2000, 1280)
    non_white = np.any(pixels < 0.94, axis=2)
    assert non_white.mean() > 0.08, f"page looks blank: {non_white.mean():.3f} non-white"
    distinct = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(distinct) > 300, f"only {len(distinct)} distinct colours"
    # the weekly chart: both bar colours drawn, in sizeable areas
    assert colour_mask(pixels, CLASSIFIED).sum() > 20_000
    assert colour_mask(pixels, UNCLASSIFIED).sum() > 4_000
    rows = np.flatnonzero(colour_mask(pixels, CLASSIFIED).any(axis=1))
    chart = non_white[rows.min():rows.max() + 1]
    assert chart.mean() > 0.15
    # the heatmap: the YlOrRd extremes (0 = pale yellow, max = dark red) fill its cells
    assert colour_mask(pixels, "#ffffcc").sum() > 20_000
    assert colour_mask(pixels, "#800026").sum() > 5_000


def test_state_lock_chart_is_drawn(page, tmp_path):
    """The third chart sits below the fold: screenshot a tall window."""
    png = tmp_path / "tall.png"
    run_chromium(page, tmp_path, f"--screenshot={png}", "--window-size=1280,7000")
    pixels = mpimg.imread(png)[:, :, :3]
    assert colour_mask(pixels, CONTENTION).sum() > 10_000
    assert colour_mask(pixels, LOCK_PERMISSION).sum() > 5_000


def test_proxy_sees_page_requests(tmp_path):
    """Positive control: the harness does catch a page that loads from the network."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="http://tfpulse-test.invalid/x.png">'
                   '<link rel="stylesheet" href="https://cdn.tfpulse-test.invalid/a.css">'
                   "</body></html>")
    assert EXTERNAL_REF.findall(bad.read_text())
    proxy = RecordingProxy()
    try:
        screenshot(bad, tmp_path, proxy)
    finally:
        proxy.close()
    assert {"tfpulse-test.invalid", "cdn.tfpulse-test.invalid"} <= proxy.page_hosts()
