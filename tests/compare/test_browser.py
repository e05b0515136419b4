"""The report in a real browser: headless Chromium renders it with no console error, every
image loads, every drawing is there, and nothing is fetched from a network.

Needs Debian's `chromium` and `chromium-driver` (`make browser` installs them when run as root)
and the `selenium` package (the `test` extra). Skipped, with the reason, when any is missing.
The driver's path is given explicitly, so Selenium Manager never tries to download one.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from compare import report
from tests.compare.test_report import sample_sections

BROWSERS = ("chromium", "chromium-browser")
DRIVERS = ("chromedriver", "/usr/lib/chromium/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1280,1000")


def _find(names) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    binary, driver_path = _find(BROWSERS), _find(DRIVERS)
    if binary is None:
        pytest.skip("no chromium on PATH: run `make browser` as root, or "
                    "`sudo apt-get install chromium chromium-driver`")
    if driver_path is None:
        pytest.skip("no chromedriver: `sudo apt-get install chromium-driver`")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    with tempfile.TemporaryDirectory(prefix="report-browser-") as profile:
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            yield driver
        finally:
            driver.quit()


def open_page(browser, path: Path) -> dict:
    """Load the page from file:// and return what the checks need, read in the page."""
    browser.get(path.resolve().as_uri())
    browser.get_log("browser")  # entries before the load belong to no page of ours
    browser.refresh()
    return browser.execute_script("""
        const images = Array.from(document.images).map(image => ({
            src: image.currentSrc.slice(0, 40), complete: image.complete,
            width: image.naturalWidth}));
        const columns = Array.from(document.querySelectorAll('.side-by-side')).map(pair => {
            const [left, right] = Array.from(pair.children).map(c => c.getBoundingClientRect());
            const widest = Math.max(0, ...Array.from(pair.querySelectorAll('svg, img'))
                .map(e => e.getBoundingClientRect().right - e.closest('.column')
                    .getBoundingClientRect().right));
            return {left: left.left, right: right.left, leftWidth: left.width, overflow: widest};
        });
        const svgs = Array.from(document.querySelectorAll('.picture > svg')).map(svg => {
            const box = svg.getBoundingClientRect();
            return {width: box.width, height: box.height};
        });
        return {images, columns, svgs,
                sections: document.querySelectorAll('main > section').length,
                resources: performance.getEntriesByType('resource').map(entry => entry.name),
                title: document.title};
    """)


def severe(browser) -> list:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def check_page(browser, page: dict) -> None:
    assert severe(browser) == []
    assert page["images"], "no images on the page"
    for image in page["images"]:
        assert image["src"].startswith("data:image/"), image
        assert image["complete"] and image["width"] > 0, image
    assert all(svg["width"] > 0 and svg["height"] > 0 for svg in page["svgs"])
    assert [name for name in page["resources"] if not name.startswith("data:")] == []
    for pair in page["columns"]:  # eager left, graph right, and nothing spills over
        assert pair["left"] < pair["right"] and pair["overflow"] <= 1


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's `dot` is not installed")
def test_a_sample_report_renders(browser, tmp_path):
    path = report.write_report(sample_sections(with_drawings=True), tmp_path / "sample.html")
    page = open_page(browser, path)
    check_page(browser, page)
    assert page["sections"] == 2 and len(page["svgs"]) == 2 and len(page["images"]) == 2


@pytest.mark.slow
def test_the_report_of_small_demo_runs_renders(browser, tmp_path):
    sections = report.collect(small=True)
    assert [section.key for section in sections if section.failed] == []
    path = report.write_report(sections, tmp_path / "report.html")
    page = open_page(browser, path)
    check_page(browser, page)
    assert page["sections"] == len(report.REPORT_DEMOS)
    if shutil.which("dot"):
        assert page["svgs"], "the demos' drawings are missing"
