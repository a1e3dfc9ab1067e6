"""The page at / in headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): a person opens it, previews the fake camera and microphone (the flash/beep pattern
from files), publishes over WHIP, records themself, stops, and plays the recording back. Each
step's screenshot is kept (EGRESS_TEST_ARTIFACTS, default .build/test-artifacts/page) and
what it must show is checked in the page; the recording is checked with ffprobe and by
decoding it, as for every other publisher."""
import os
import subprocess
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

import conftest
from media import BEEP, FLASH
from test_recording import assert_pattern_in_sync, streams_by_type

ARTIFACTS = Path(os.environ.get("EGRESS_TEST_ARTIFACTS", conftest.ROOT / ".build/test-artifacts")) / "page"


@pytest.fixture(scope="module")
def fake_media(tmp_path_factory):
    """Ten seconds of the pattern as Chromium's fake capture files (they loop seamlessly)."""
    folder = tmp_path_factory.mktemp("fake-media")
    video, audio = folder / "pattern.y4m", folder / "pattern.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=0x505050:s=480x270:r=30,{FLASH}", "-t", "10",
                    "-pix_fmt", "yuv420p", str(video)], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000,{BEEP}", "-t", "10",
                    "-ac", "1", str(audio)], check=True)
    return video, audio


@pytest.fixture
def browser(fake_media):
    video, audio = fake_media
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-video-capture={video}", f"--use-file-for-fake-audio-capture={audio}",
                 "--autoplay-policy=no-user-gesture-required"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, script, what, timeout=20):
    """Waits until the JavaScript expression `script` is true in the page."""
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"return Boolean({script});"):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: status {status(driver)!r}, error {error(driver)!r}"
        time.sleep(0.1)


def click(driver, selector):
    """Clicks the element `selector` finds; found again if the page drew its list anew meanwhile."""
    for attempt in range(3):
        try:
            driver.find_element(By.CSS_SELECTOR, selector).click()
            return
        except StaleElementReferenceException:
            if attempt == 2:
                raise


def status(driver):
    return driver.find_element(By.ID, "status").text


def error(driver):
    return driver.find_element(By.ID, "error").text


def screenshot(driver, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    # A real rendering of the window, not an empty image.
    assert path.stat().st_size > 20_000, f"{path} is {path.stat().st_size} bytes"
    return path


def test_a_person_publishes_records_and_plays_back_from_the_page(server, stubs, browser):
    driver = browser
    driver.get(f"http://{server.address}/")
    wait_for(driver, "document.getElementById('mode').textContent.includes('Development mode')", "the page to start")
    room = driver.find_element(By.ID, "room")
    room.clear()
    room.send_keys("page-room")
    name = driver.find_element(By.ID, "identity")
    name.clear()
    name.send_keys("ada")
    screenshot(driver, "1-opened")

    driver.find_element(By.ID, "preview-button").click()
    wait_for(driver, "document.getElementById('preview').videoWidth > 0", "the camera preview")
    screenshot(driver, "2-preview")

    driver.find_element(By.ID, "publish-button").click()
    wait_for(driver, "document.getElementById('status').textContent.startsWith('Publishing')", "publishing")
    wait_for(driver, "document.querySelector('li[data-identity=\"ada\"] .tracks')?.textContent.includes('camera video/')",
             "ada and her tracks in the participant list")
    tracks = driver.execute_script("return document.querySelector('li[data-identity=\"ada\"] .tracks').innerText")
    assert "camera video/VP8" in tracks and "microphone audio/opus" in tracks, tracks
    screenshot(driver, "3-published")

    click(driver, 'button[data-record="ada"]')
    wait_for(driver, "document.querySelector('tr[data-status=\"EGRESS_ACTIVE\"]')", "the egress to be active")
    active_at = time.monotonic()
    # Read in one go: the list is drawn anew as it is polled, and an element found before may be gone.
    egress_id, row_text = driver.execute_script(
        "const row = document.querySelector('tr[data-status=\"EGRESS_ACTIVE\"]'); return [row.dataset.egress, row.innerText];")
    assert "ada" in row_text and "ACTIVE" in row_text, row_text
    screenshot(driver, "4-recording")
    time.sleep(8)

    click(driver, f'button[data-stop="{egress_id}"]')
    wall = time.monotonic() - active_at
    wait_for(driver, f"document.querySelector('tr[data-egress=\"{egress_id}\"][data-status=\"EGRESS_COMPLETE\"]')", "the egress to complete")
    screenshot(driver, "5-complete")

    click(driver, f'a[data-play="{egress_id}"]')
    wait_for(driver, "document.getElementById('playback').currentTime > 1", "the recording to play in the page")
    assert driver.execute_script("return document.getElementById('playback').videoWidth") == 1280
    screenshot(driver, "6-playback")

    driver.find_element(By.ID, "leave-button").click()
    wait_for(driver, "!document.querySelector('li[data-identity=\"ada\"]')", "ada to leave the list")
    assert error(driver) == ""

    # The recording, as any client would check it.
    api = stubs.egress_grpc.EgressStub(server.channel())
    [info] = api.ListEgress(stubs.egress.ListEgressRequest(egress_id=egress_id), timeout=10).items
    [result] = info.file_results
    streams, fmt = streams_by_type(result.location)
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("h264", "aac")
    assert abs(float(fmt["duration"]) - wall) < 1.0, (fmt["duration"], wall)
    assert_pattern_in_sync(result.location, wall)
