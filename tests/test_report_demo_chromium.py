"""The demo's report in headless Chromium at 1280 px: no table wider than the page,
"Fix these first" on top, and no zero-filled trailing weeks without a notice."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from tests.test_report_html import chromium
from worker.cli.main import main
from worker.cli.stats import latest_day
from worker.store.store import open_store

pytestmark = pytest.mark.chromium
ROOT = Path(__file__).parent.parent
PROBE = """<script>
const out = [], main = document.querySelector('main');
for (const t of document.querySelectorAll('table'))
  out.push(t.closest('section').id + ' ' + t.scrollWidth + ' ' + main.clientWidth);
out.push('page ' + document.documentElement.scrollWidth + ' ' + window.innerWidth);
document.body.setAttribute('data-widths', out.join(';'));
</script>"""


def widths(page: Path, tmp: Path) -> list[tuple[str, int, int]]:
    """(section, table scrollWidth, page content width) of every table, plus the page."""
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
                           "--window-size=1280,2000", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'data-widths="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    return [(name, int(a), int(b)) for name, a, b in
            (item.split(" ") for item in found.group(1).split(";"))]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    tmp = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{tmp / 'demo.db'}"
    report = tmp / "weekly-report.html"
    assert main(["replay", str(ROOT / "examples/sample-ci-stream.jsonl.gz"), "--store", url,
                 "--top", "0", "--no-progress", "--report", str(report)]) == 0
    return url, report


def test_no_table_is_wider_than_the_page(demo, tmp_path: Path) -> None:
    measured = widths(demo[1], tmp_path)
    tables = [m for m in measured if m[0] != "page"]
    assert len(tables) >= 12 and tables[0][0] == "fix_first"
    assert [m for m in tables if m[1] > m[2]] == []
    page = measured[-1]
    assert page[1] <= page[2], page


def test_fix_first_and_no_silent_zero_weeks(demo, tmp_path: Path) -> None:
    url, report = demo
    html = report.read_text(encoding="utf-8")
    assert "Fix these first" in html.split("Occurrences per week")[0]
    assert "Stale data" not in html  # the demo reports up to its own last day
    store = open_store(url)
    last = latest_day(store)
    store.close()
    assert last is not None
    stale = tmp_path / "stale.html"
    as_of = (last + timedelta(days=17)).isoformat()
    assert main(["report", "--store", url, "--as-of", as_of, "--out", str(stale)]) == 0
    text = stale.read_text(encoding="utf-8")
    assert "<b>Stale data</b>: the last occurrence is on " + last.isoformat() in text
    assert f"--as-of {last.isoformat()}" in text
