"""``softnodule inspect`` in a real browser: headless Chromium on a loopback Voilà server.

The page must show the figure, redraw it when the eps and the threshold sliders are moved (the
screenshot of the figure changes) and when another nodule is picked, and show no widget error.
Bounded: every wait has a timeout, the server and the browser are stopped at the end.
"""

from __future__ import annotations

import pytest
from inspector_browser import changed_fraction, wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from softnodule.inspector import serve

#: Seconds allowed for the page's kernel to start and draw the first figure (2 busy cores in CI).
FIRST_FIGURE_S = 120
#: Seconds allowed for one redraw after a control changes.
REDRAW_S = 60
#: Text that ipywidgets, Voilà or the page show when something failed.
ERROR_MARKS = ("Traceback", "Error displaying widget", "Failed to", "cannot be shown", "Model not found")


def _figure_src(driver) -> str | None:
    imgs = driver.find_elements(By.CSS_SELECTOR, ".softnodule-figure img")
    return imgs[0].get_attribute("src") if imgs else None


def _figure_png(driver) -> bytes:
    return driver.find_element(By.CSS_SELECTOR, ".softnodule-figure").screenshot_as_png


def _type_into_slider(driver, name: str, value: str) -> None:
    """Type ``value`` into a slider's readout and press Enter, as a reader can."""
    readout = driver.find_element(By.CSS_SELECTOR, f".softnodule-{name} .widget-readout")
    readout.click()
    readout.send_keys(Keys.CONTROL, "a")
    readout.send_keys(value, Keys.ENTER)


def _redrawn(driver, before_src: str, action, what: str) -> bytes:
    before_png = _figure_png(driver)
    action()
    wait_for(lambda: (_figure_src(driver) or before_src) != before_src, REDRAW_S, f"the figure to redraw after {what}")
    after_png = _figure_png(driver)
    assert changed_fraction(before_png, after_png) > 0.001, f"{what} left the figure's pixels unchanged"
    return after_png


def _assert_no_widget_error(driver) -> None:
    stderr = driver.find_elements(By.CSS_SELECTOR, '[data-mime-type="application/vnd.jupyter.stderr"]')
    assert not [e.text for e in stderr if e.text.strip()], [e.text for e in stderr]
    text = driver.find_element(By.TAG_NAME, "body").text
    assert not [m for m in ERROR_MARKS if m in text], text[-2000:]
    severe = [e["message"] for e in driver.get_log("browser")
              if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert not severe, severe


@pytest.mark.parametrize("source", ["phantom", "lidc-crops"])
def test_sliders_and_case_picker_redraw_the_figure_in_headless_chromium(source, chromium, nodule_index, request):
    if source == "lidc-crops":
        request.getfixturevalue("lidc_crops_archive")  # skip with its reason when the archive is absent
    with serve(source=source, timeout=60) as server:
        assert server.url.startswith("http://127.0.0.1:")
        chromium.get_log("browser")  # drop what earlier pages logged
        chromium.get(server.url)
        src = wait_for(lambda: _figure_src(chromium), FIRST_FIGURE_S, "the first figure")
        body = chromium.find_element(By.TAG_NAME, "body").text
        assert f"{server.nodule_id}@{source}" in body and f"image source {source}" in body

        _redrawn(chromium, src, lambda: _type_into_slider(chromium, "log-eps", "-2"), "moving the eps slider")
        src = _figure_src(chromium)
        _redrawn(chromium, src, lambda: _type_into_slider(chromium, "threshold", "0.2"), "moving the threshold slider")
        src = _figure_src(chromium)
        picker = Select(chromium.find_element(By.CSS_SELECTOR, ".softnodule-nodule-id select"))
        other = picker.options[5].text
        _redrawn(chromium, src, lambda: picker.select_by_visible_text(other), "picking another nodule")
        wait_for(lambda: f"{other}@{source}" in chromium.find_element(By.TAG_NAME, "body").text, REDRAW_S,
                 "the caption of the picked nodule")
        _assert_no_widget_error(chromium)
        chromium.get("about:blank")  # leave the page (its kernel shuts down) while the server still runs
    assert server.process.poll() is not None  # the server is stopped
