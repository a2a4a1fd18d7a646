"""Watching a run: a two-round tiny run writes TensorBoard event files (round metrics, evaluations, TRL's
per-step logs on one step axis) and a game report that a real browser reads and filters."""

import html
import json
import os
import shutil
from pathlib import Path

import pytest

from selfplay.config_parser import from_dict
from selfplay.identifiers import mask_identifiers
from selfplay.runner import main


@pytest.fixture(scope="module")
def watched_run(warm_qwen, shapes_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("watch") / "run"
    main(from_dict({
        "output_dir": str(out), "report_to": "tensorboard", "report": {"every": 1},
        "model": {"path": str(warm_qwen)}, "data": {"source": str(shapes_world / "manifest.jsonl")},
        "game": {"rounds": 2, "items_per_round": 4, "questions_per_item": 2, "answers_per_question": 2,
                 "blind_answers": 1, "borrowed_questions": 2},
        "rewards": {"keep_band": [0.0, 1.0]},
        "eval": {"data": str(shapes_world / "qa.jsonl"), "max_questions": 6},
    }))
    return out


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_tensorboard_gets_rounds_evaluations_and_trl_steps(watched_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(watched_run / "tensorboard" / "selfplay"), size_guidance={"scalars": 0}).Reload()
    tags = set(events.Tags()["scalars"])

    def series(tag):
        return {e.step: e.value for e in events.Scalars(tag)}

    metrics, evals = _read(watched_run / "metrics.jsonl"), _read(watched_run / "eval.jsonl")
    # one questioner step and two answerer steps per round: rounds end at steps 3 and 6, the first evaluation is step 0
    assert series("eval/accuracy/all") == pytest.approx({0: evals[0]["accuracy"]["all"], 3: evals[1]["accuracy"]["all"],
                                                         6: evals[2]["accuracy"]["all"]})
    assert series("kept_share") == pytest.approx({3: metrics[0]["kept_share"], 6: metrics[1]["kept_share"]})
    assert series("questioner/reward_mean")[6] == pytest.approx(metrics[1]["questioner/reward_mean"])
    for kind in ("accuracy", "blind_accuracy", "sight"):  # overall and per question type
        assert {f"eval/{kind}/{qtype}" for qtype in evals[0][kind]} <= tags and len(evals[0][kind]) > 1
    assert sum(series(f"p_histogram/{lo:.1f}-{lo + 0.2:.1f}")[3] for lo in (0.0, 0.2, 0.4, 0.6, 0.8)) == \
        sum(metrics[0]["p_histogram"])
    # TRL's own per-step logs of each role, in the same run, at their place on the axis
    assert set(series("train/questioner/loss")) == {1, 4}
    assert set(series("train/answerer/loss")) == {2, 3, 5, 6}
    assert series("round")[4] == 2


def test_report_holds_every_question_masked(watched_run):
    page = (watched_run / "report" / "index.html").read_text()
    games = _read(watched_run / "games.jsonl")
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")  # no script, no network
    for game in games:
        if game["question"]:
            assert html.escape(mask_identifiers(game["question"])) in page
    assert page.count("<tr class='game") == len(games)
    thumbs = list((watched_run / "report" / "thumbs").glob("*.png"))
    assert len(thumbs) == len({g["image"] for g in games})
    assert {p.name for p in (watched_run / "report" / "plots").iterdir()} == {
        "accuracy.svg", "rewards.svg", "kept.svg", "diversity.svg", "p_histogram.svg"}


def _chromium():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (binary and driver):
        pytest.skip("chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver; "
                    ".ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={Path(os.environ.get('TMPDIR', '/tmp')) / f'selfplay-chromium-{os.getpid()}'}")
    return webdriver.Chrome(service=Service(driver), options=options)


def test_browser_reads_and_filters_the_report(watched_run, tmp_path):
    from selenium.webdriver.common.by import By

    games = _read(watched_run / "games.jsonl")
    browser = _chromium()
    try:
        browser.get((watched_run / "report" / "index.html").resolve().as_uri())
        text = browser.find_element(By.TAG_NAME, "body").text
        asked = [g for g in games if g["question"]]
        for game in asked[:10] + asked[-10:]:
            assert game["question"] in text
        assert any(a and a in text for g in asked for a in g["answers"])
        images = browser.find_elements(By.TAG_NAME, "img")
        assert images and all(img.get_attribute("alt") for img in images)
        assert all(browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
                   for img in images)  # thumbnails and plots load from the report's own folder

        kept = browser.find_elements(By.CSS_SELECTOR, "tr.game.kept")
        dropped = browser.find_elements(By.CSS_SELECTOR, "tr.game.dropped")
        assert kept and dropped and all(row.is_displayed() for row in dropped[:20])
        browser.find_element(By.CSS_SELECTOR, "label[for=only-kept]").click()
        assert not any(row.is_displayed() for row in dropped)
        assert all(row.is_displayed() for row in kept)
        browser.find_element(By.CSS_SELECTOR, "label[for=round-0]").click()  # round 1 off
        assert not browser.find_element(By.ID, "r0").is_displayed() and browser.find_element(By.ID, "r1").is_displayed()

        folder = Path(os.environ.get("SELFPLAY_ARTIFACTS") or tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / "report.png"
        browser.find_element(By.CSS_SELECTOR, "label[for=round-0]").click()  # round 1 back, kept only still on
        height = browser.execute_script("window.scrollTo(0, 0); return document.body.scrollHeight")
        browser.set_window_size(1400, min(height + 100, 2400))
        browser.save_screenshot(str(shot))
        print(f"report screenshot: {shot}")
        assert shot.stat().st_size > 10_000
    finally:
        browser.quit()
