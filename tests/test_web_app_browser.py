"""The chat page (``examples/web_app/static/index.html``) in a real headless Chromium.

One app (a scripted engine under uvicorn on 127.0.0.1) and one browser serve the whole module. The
browser is Debian's ``chromium`` with its ``chromedriver``, driven by selenium; nothing is downloaded.
``.ci/run`` installs both; elsewhere the module is skipped, saying what to install.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the dev extra)")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from weather_bot import get_weather  # noqa: E402
from web_app_server import HANG_TEXT, scenario_app, scenario_engine, serve_in_thread  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="no browser: install Debian's chromium and chromium-driver (.ci/run does) to run the page tests",
)

T = TypeVar("T")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # 30 ms between 4-character chunks: slow enough to watch the text arrive, fast enough for a test.
    app = scenario_app(tmp_path_factory.mktemp("page") / "conversations", scenario_engine(delay=0.03))
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory() as profile:
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
        try:
            yield driver
        finally:
            driver.quit()


def wait(driver: Any, condition: Callable[[Any], T], timeout: float = 15) -> T:
    return WebDriverWait(driver, timeout, poll_frequency=0.02).until(condition)


def open_new_conversation(driver: Any, url: str) -> str:
    """Load the page with no conversation remembered; returns the id it creates."""
    driver.get(url)
    driver.execute_script("localStorage.clear()")
    driver.get(url)
    wait(driver, lambda d: d.find_element(By.ID, "send").is_enabled())
    return driver.execute_script("return localStorage.getItem('hermitcrab-conversation')")


def say(driver: Any, text: str) -> None:
    box = driver.find_element(By.ID, "input")
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def texts_of(driver: Any, selector: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def idle(driver: Any) -> bool:
    return (
        driver.find_element(By.ID, "send").is_enabled()
        and not driver.find_element(By.ID, "stop").is_enabled()
    )


def test_the_page_streams_the_answer_and_shows_the_tool_call_and_its_result(
    browser: Any, server: str
) -> None:
    open_new_conversation(browser, server)
    # Record every text the answer bubble shows, as the page changes it.
    browser.execute_script(
        """
        window.seen = [];
        new MutationObserver(() => {
          const bubbles = document.querySelectorAll('.msg.assistant');
          if (bubbles.length) window.seen.push(bubbles[bubbles.length - 1].textContent);
        }).observe(document.getElementById('log'), {childList: true, subtree: true, characterData: true});
        """
    )
    say(browser, "weather in Oslo")
    result = get_weather("Oslo")
    wait(
        browser,
        lambda d: f"→ {result}" in texts_of(d, ".tool-call")[0] if texts_of(d, ".tool-call") else False,
    )
    answer = f"Here you go: {result}."
    wait(browser, lambda d: texts_of(d, ".msg.assistant") == [answer] and idle(d))

    assert texts_of(browser, ".msg.user") == ["weather in Oslo"]
    call = texts_of(browser, ".tool-call")
    assert call == [f'tool call: get_weather({{"city":"Oslo"}})\n→ {result}']
    seen = [text for text in browser.execute_script("return window.seen") if text]
    assert len(set(seen)) > 3, seen  # the answer grew in several steps...
    assert all(answer.startswith(text) for text in seen)  # ...each a prefix of the whole
    assert "stop" in browser.find_element(By.ID, "status").text  # the finish reason


def test_stop_cancels_the_round_and_leaves_the_history_as_it_was(browser: Any, server: str) -> None:
    conversation_id = open_new_conversation(browser, server)
    say(browser, "hello")
    wait(browser, lambda d: texts_of(d, ".msg.assistant") == ["You said: hello"] and idle(d))
    say(browser, "hang")  # writes a few words, then waits for ever
    wait(browser, lambda d: texts_of(d, ".msg.assistant")[-1:] == [HANG_TEXT])
    assert browser.find_element(By.ID, "stop").is_enabled()
    browser.find_element(By.ID, "stop").click()
    wait(browser, lambda d: "stopped: this round was not saved" in texts_of(d, ".note") and idle(d))

    saved = httpx.get(f"{server}/conversations/{conversation_id}").json()["messages"]
    assert [m["content"] for m in saved] == ["hello", "You said: hello"]
    say(browser, "again")  # runs only if the stopped round really ended on the server
    wait(browser, lambda d: texts_of(d, ".msg.assistant")[-1:] == ["You said: again"] and idle(d))


def test_a_reload_shows_the_saved_conversation(browser: Any, server: str) -> None:
    conversation_id = open_new_conversation(browser, server)
    say(browser, "weather in Quito")
    wait(browser, lambda d: len(texts_of(d, ".msg.assistant")) == 1 and idle(d))
    say(browser, "hang")
    wait(browser, lambda d: texts_of(d, ".msg.assistant")[-1:] == [HANG_TEXT])
    browser.find_element(By.ID, "stop").click()
    wait(browser, lambda d: idle(d))
    before = {sel: texts_of(browser, sel) for sel in (".msg.user", ".tool-call", ".msg.assistant")}

    browser.refresh()
    wait(browser, lambda d: d.find_element(By.ID, "send").is_enabled())
    assert conversation_id in browser.find_element(By.ID, "conversation-id").text
    assert texts_of(browser, ".msg.user") == ["weather in Quito"]  # the stopped round is gone
    assert texts_of(browser, ".tool-call") == before[".tool-call"]
    assert texts_of(browser, ".msg.assistant") == [f"Here you go: {get_weather('Quito')}."]
    assert before[".msg.assistant"][-1] == HANG_TEXT  # it had been on screen before the reload
