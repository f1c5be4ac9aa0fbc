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


# --- review -------------------------------------------------------------------------------

ACTIVE_UNIT = """
    var unit = document.activeElement;
    if (!unit || !unit.classList.contains('unit')) { return null; }
    return {index: Number(unit.dataset.index), kind: unit.dataset.kind, area: unit.dataset.area,
            category: unit.dataset.category, decided: unit.classList.contains('decided')};
"""
REVIEWER, PASSWORD = "审核员", "a long enough password"
# A form post from the page the browser has open, with that page's CSRF token; calls back with the status.
ANONYMOUS_POST = """
    var done = arguments[arguments.length - 1];
    var form = new FormData();
    form.append("csrf_token", document.querySelector("meta[name=csrf-token]").content);
    form.append("action", "confirm");
    fetch(arguments[0], {method: "POST", body: form, credentials: "same-origin"}).then(r => done(r.status));
"""
HOSTILE_LINE = "区司法局开展执法检查3次<script>window.hacked=1</script><img src=x onerror=window.hacked=2>，整改问题12个。"


def _post_json(url: str, payload: dict, headers: dict | None = None) -> tuple[int, dict]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_reviewer_walks_the_least_certain_queue_with_the_keyboard(live_server, browser, report_text, tmp_path):
    import urllib.error
    import urllib.request

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from fazhi.storage import ReportStore

    status, scored = _post_json(f"{live_server}/api/v1/score", {"text": report_text + "\n" + HOSTILE_LINE})
    assert status == 200
    report_id = scored["id"]
    store = ReportStore(tmp_path / "live.db")  # the server's database (conftest.live_server)
    store.add_reviewer(REVIEWER, PASSWORD)

    # Anonymous writes are refused, on the page route and on the API.
    status, body = _post_json(f"{live_server}/api/v1/reports/{report_id}/units/0", {"action": "confirm"})
    assert status == 403 and body["error"]["code"] == "forbidden"
    # An anonymous visitor's browser, with a valid CSRF token from the page it has open.
    browser.get(f"{live_server}/reports/{report_id}")
    status = browser.execute_async_script(ANONYMOUS_POST, f"/reports/{report_id}/review/units/0")
    assert status == 403

    # Log in through the form; the review page opens least certain first.
    browser.get(f"{live_server}/reports/{report_id}/review")
    wait = WebDriverWait(browser, PAGE_TIMEOUT)
    wait.until(ec.visibility_of_element_located((By.ID, "login-form")))
    browser.find_element(By.ID, "name").send_keys(REVIEWER)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(ec.visibility_of_element_located((By.ID, "review-units")))
    assert f"/reports/{report_id}/review" in browser.current_url
    model_cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#figures-model td")]
    assert [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#figures-reviewed td")] == ["—"] * 3

    def active():
        return browser.execute_script(ACTIVE_UNIT)

    def press(key):
        ActionChains(browser).send_keys(key).perform()

    def wait_decided(index):
        try:
            wait.until(lambda b: "decided" in b.find_element(By.ID, f"unit-{index}").get_attribute("class"))
        except Exception:
            raise AssertionError(browser.find_element(By.ID, "review-status").text + str(browser.get_log("browser")))

    # Walk the queue with j; flip the category of the first two body sentences, confirm the third.
    decided = []
    for step in range(200):
        unit = active()
        assert unit is not None, "the keyboard focus left the units"
        if unit["kind"] == "body" and unit["category"]:
            index = unit["index"]
            if len(decided) < 2:
                press("s" if unit["category"] == "concrete" else "c")
            else:
                press(Keys.ENTER)
            wait_decided(index)
            decided.append(index)
            if len(decided) == 3:
                break
            assert active()["index"] != index  # the focus moved on by itself
        else:
            press("j")
    assert len(decided) == 3
    wait.until(lambda b: b.find_element(By.ID, "decided-count").text == "3")
    reviewed_cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#figures-reviewed td")]
    assert "—" not in reviewed_cells and reviewed_cells[2] != model_cells[2]  # specificity moved

    decisions = store.decisions(report_id)
    assert sorted(decisions) == sorted(decided)
    changed = [d for d in decisions.values() if d["old_category"] != d["new_category"]]
    assert len(changed) == 2 and all(d["reviewer"] == REVIEWER for d in decisions.values())

    # The result page shows the reviewed figures beside the model's.
    browser.get(f"{live_server}/reports/{report_id}")
    assert browser.find_element(By.ID, "reviewed-specificity").text == reviewed_cells[2]

    # A forged form: the reviewer's own session cookie, but no CSRF token.
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    forged = urllib.request.Request(f"{live_server}/reports/{report_id}/review/units/{decided[0]}", method="POST",
                                    data=b"action=confirm", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                                     "Cookie": cookie})
    with pytest.raises(urllib.error.HTTPError) as csrf:
        urllib.request.urlopen(forged, timeout=60)
    assert csrf.value.code == 400
    assert len(store.decision_history(report_id)) == 3

    # The report's HTML stays text: shown literally, never run.
    browser.get(f"{live_server}/reports/{report_id}/review?order=document")
    texts = browser.execute_script("return Array.from(document.querySelectorAll('#review-units .text')).map(e => e.textContent)")
    assert any("<script>window.hacked=1</script>" in t for t in texts)
    assert browser.execute_script("return window.hacked === undefined")
