"""The upload page in a real headless browser: Debian's chromium driven by selenium.

Uploads a real report through the file picker of `fazhi serve`, then checks the result
page and its area filter. Leaves a screenshot of the result page at /tmp/fazhi-result.png.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = Path("/tmp/fazhi-result.png")
PAGE_TIMEOUT = 30

MISSING_BROWSER = ("needs /usr/bin/chromium and /usr/bin/chromedriver: "
                   "apt-get install chromium chromium-driver (bash .ci/run installs them)")
HAS_BROWSER = CHROMIUM.exists() and CHROMEDRIVER.exists()
if not HAS_BROWSER and os.environ.get("CI"):
    # CI installs the browser (.ci/run): its absence there is a failure, not a skip.
    raise RuntimeError(f"the browser test cannot run: {MISSING_BROWSER}")
# Elsewhere the skip says why in pytest's summary (addopts has -rs).
pytestmark = pytest.mark.skipif(not HAS_BROWSER, reason=MISSING_BROWSER)


# data-area of the sentences, all or only those rendered (one round trip instead of one per element).
SENTENCE_AREAS = """
    return Array.from(document.querySelectorAll('#sentences .sentence'))
        .filter(el => !arguments[0] || el.getClientRects().length > 0)
        .map(el => el.dataset.area);
"""


def visible_areas(browser) -> list[str]:
    return browser.execute_script(SENTENCE_AREAS, True)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,1600", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


def test_upload_through_the_file_picker_and_filter_by_area(live_server, browser, report_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server}/")
    browser.find_element(By.ID, "file").send_keys(str(report_path.resolve()))
    browser.find_element(By.ID, "submit").click()

    score = WebDriverWait(browser, PAGE_TIMEOUT).until(ec.visibility_of_element_located((By.ID, "score")))
    assert "/reports/" in browser.current_url
    assert 0 < float(score.text) <= 100
    areas = browser.execute_script(SENTENCE_AREAS, False)
    assert len(areas) > 50 and visible_areas(browser) == areas
    assert browser.find_element(By.CSS_SELECTOR, "#sentences .sentence").is_displayed()
    assert browser.find_element(By.ID, "area-chart").is_displayed()
    browser.save_screenshot(str(SCREENSHOT))

    # Filter on the area with the most sentences other than "none", then back to all.
    area_filter = Select(browser.find_element(By.ID, "area-filter"))
    chosen = max((a for a in set(areas) if a != "none"), key=areas.count)
    area_filter.select_by_value(chosen)
    assert visible_areas(browser) == [chosen] * areas.count(chosen)
    assert "显示" in browser.find_element(By.ID, "filter-count").text

    area_filter.select_by_value("")
    assert visible_areas(browser) == areas
