"""The claims report in a real browser: headless Chromium (through selenium and chromedriver) loads the page
at a 1280 x 900 window and checks what a reader sees: nothing wider than the window (the document, and every
element's right edge, also with every <details> opened), every plot image loaded, a section for every claim
of the JSON, and the per-claim summary on the first screen. Two documents: the synthetic one of
tests/test_report.py (title, errata, a beyond-the-paper record, a crash) and real records, the Figure 2,
eq. (4) and Theorem 4.1 modules of the committed full-profile baseline (long names, errata with three
records, single-point bands). Screenshots are kept in the test's tmp_path.

Needs selenium (the test extras) and a Chromium with its chromedriver: Debian's `chromium` and
`chromium-driver` packages, found on PATH, or the binaries named by NTKCHECK_CHROME / NTKCHECK_CHROMEDRIVER
(as CI sets them); skipped where they are absent, failed where they are named but do not start.
"""
import json
import os
import shutil
from pathlib import Path

import pytest

from ntkcheck import report

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")

from selenium.webdriver.chrome.options import Options  # noqa: E402  (after the importorskip)
from selenium.webdriver.chrome.service import Service  # noqa: E402

from test_report import document_fixture  # noqa: E402  (tests/ is on sys.path under pytest's rootdir)

pytestmark = pytest.mark.slow  # a browser and two reports with their plots: ~15 s

WIDTH, HEIGHT = 1280, 900
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BASELINE = Path(__file__).resolve().parents[1] / "baselines" / "claims-full.json"
BASELINE_MODULES = ("claims/test_fig2_left_lambda_min_vs_d.py", "claims/test_eq4_ntk_convergence.py",
                    "claims/test_thm4_1_finite_width_lambda_min.py")
# every element whose box reaches past the window's right edge (by more than rounding), as "tag#id.class: right"
OVERFLOWING = """
const limit = window.innerWidth + 0.5, out = [];
for (const element of document.querySelectorAll('body *')) {
  const box = element.getBoundingClientRect();
  if (box.width > 0 && box.right > limit) {
    out.push(`${element.tagName.toLowerCase()}#${element.id}.${element.className}: ${Math.round(box.right)}`);
  }
}
return out;
"""
IMAGES = "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth]);"
CLAIM_HEADINGS = "return [...document.querySelectorAll('section.claim h3')].map(h => h.textContent.trim());"


def _binaries():
    """(browser, driver) paths: from NTKCHECK_CHROME / NTKCHECK_CHROMEDRIVER, else found on PATH."""
    named = os.environ.get("NTKCHECK_CHROME"), os.environ.get("NTKCHECK_CHROMEDRIVER")
    if any(named):
        return named
    browser = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    return browser, shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    binary, driver_path = _binaries()
    named = bool(os.environ.get("NTKCHECK_CHROME") or os.environ.get("NTKCHECK_CHROMEDRIVER"))
    if not named and not (binary and driver_path):
        pytest.skip("no Chromium with chromedriver (apt-get install chromium chromium-driver)")
    options = Options()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_window_size(WIDTH, HEIGHT)
    yield driver
    driver.quit()


def _baseline_subset() -> dict:
    document = json.loads(BASELINE.read_text())
    document["records"] = [r for r in document["records"] if r["test"].split("::")[0] in BASELINE_MODULES]
    document["tests"] = {t: v for t, v in document["tests"].items() if t.split("::")[0] in BASELINE_MODULES}
    return document


DOCUMENTS = {"synthetic": document_fixture, "baseline": _baseline_subset}


@pytest.fixture(scope="module", params=sorted(DOCUMENTS))
def page(request, browser, tmp_path_factory):
    """(document, driver on its report, folder of the report): loaded at the top of the page."""
    document = DOCUMENTS[request.param]()
    out = tmp_path_factory.mktemp(f"report-{request.param}")
    files = report.build_report(document, out)
    browser.get(files.html.as_uri())
    browser.save_screenshot(str(out / "first-screen.png"))
    return document, browser, out


def test_the_window_is_1280_wide(page):
    assert page[1].execute_script("return window.innerWidth") == WIDTH


def test_nothing_overflows_the_window(page):
    _, driver, out = page
    widths = driver.execute_script("return [document.documentElement.scrollWidth, document.body.scrollWidth]")
    assert max(widths) <= WIDTH
    assert driver.execute_script(OVERFLOWING) == []
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")  # node ids shown
    try:
        assert max(driver.execute_script("return [document.documentElement.scrollWidth, "
                                         "document.body.scrollWidth]")) <= WIDTH
        assert driver.execute_script(OVERFLOWING) == []
        driver.save_screenshot(str(out / "details-open.png"))
    finally:
        driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = false)")


def test_every_image_loads(page):
    document, driver, _ = page
    images = driver.execute_script(IMAGES)
    plotted = [r for r in document["records"] if r["kind"] in report.PLOTTED_KINDS]
    assert len(images) == len(plotted) > 0
    assert [alt for alt, complete, width in images if not (complete and width > 0)] == []


def test_every_claim_has_its_section(page):
    document, driver, _ = page
    headings = driver.execute_script(CLAIM_HEADINGS)
    claims = dict.fromkeys((r.get("section", "paper"), r["claim"]) for r in document["records"])
    assert len(headings) == len(claims)
    for _, claim in claims:
        assert sum(h.startswith(claim + " ") for h in headings) >= 1, claim
    links = driver.execute_script("return [...document.querySelectorAll('a[href^=\"#\"]')]"
                                  ".map(a => a.getAttribute('href').slice(1))")
    assert [target for target in links if not driver.execute_script(
        "return document.getElementById(arguments[0]) !== null", target)] == []  # no dead link


def test_first_screen_shows_the_per_claim_summary(page):
    document, driver, _ = page
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return window.innerHeight")
    box = driver.execute_script("const rows = document.querySelectorAll('#summary-table tbody tr');"
                                "const r = rows[Math.min(rows.length, 5) - 1].getBoundingClientRect();"
                                "return [document.getElementById('summary-table').getBoundingClientRect().top,"
                                " r.bottom];")
    assert box[0] < height / 3 and box[1] <= height  # the table starts high, and its first rows are visible


def test_checks_catch_an_overflow_and_a_broken_image(browser, tmp_path):
    """Negative control of the checks above: a too wide element and an image that does not load."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><div id="wide" style="width:2000px">wide</div>'
                    '<img alt="missing" src="missing.png"></body></html>')
    browser.get(page.as_uri())
    assert browser.execute_script("return document.documentElement.scrollWidth") > WIDTH
    assert any(item.startswith("div#wide") for item in browser.execute_script(OVERFLOWING))
    assert browser.execute_script(IMAGES) == [["missing", True, 0]]
