"""The static HTML leaderboard (tsad_models.leaderboard.html), driven in Debian's headless Chromium via Selenium:
default filter, sorting both ways (missing values last), the dataset filter, flagged rows, no JavaScript errors."""

import math
from pathlib import Path

import pandas as pd
import pytest

from tsad_models.leaderboard.html import render_html

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NAN = math.nan
COLUMNS = ["dataset", "rank", "model", "metric", "protocol", "seeds", "mean", "std", "ci_low", "ci_high", "flag"]
ROWS = [
    ("smd", 1, "latad/no_gat", "vus_pr", "threshold-free", 3, 0.41, 0.02, 0.39, 0.43, ""),
    ("smd", 2, "usad", "vus_pr", "threshold-free", 3, 0.35, 0.04, 0.31, 0.39, ""),
    ("smd", NAN, "random", "vus_pr", "threshold-free", 3, NAN, NAN, NAN, NAN, "degenerate threshold"),
    ("smd", 1, "usad", "f1", "oracle", 3, 0.52, 0.03, 0.49, 0.55, ""),
    ("smd", 2, "latad/no_gat", "f1", "oracle", 3, 0.48, 0.05, 0.43, 0.53, ""),
    ("swat", 1, "usad", "vus_pr", "threshold-free", 3, 0.70, 0.01, 0.69, 0.71, ""),
    ("swat", 2, "latad/no_gat", "vus_pr", "threshold-free", 3, 0.62, 0.03, 0.59, 0.65, ""),
    ("swat", 3, "random", "vus_pr", "threshold-free", 1, 0.05, NAN, NAN, NAN, "</script><b>one seed</b>"),
    ("swat", 1, "latad/no_gat", "f1", "oracle", 3, 0.81, 0.02, 0.79, 0.83, ""),
    ("swat", 2, "random", "f1", "oracle", 3, 0.12, 0.01, 0.11, 0.13, "degenerate threshold"),
]
PROVENANCE = {"commit": "e0fa1ff", "config": "config/config.yaml", "note": "<script>alert(1)</script>"}


@pytest.fixture
def page(tmp_path):
    """The page with one real figure beside it (a missing one would log a console error)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (tmp_path / "figures").mkdir()
    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.bar(["latad/no_gat", "usad", "random"], [0.41, 0.35, 0.05])
    fig.savefig(tmp_path / "figures" / "headline_metrics.png", dpi=72)
    plt.close(fig)
    return render_html(
        pd.DataFrame(ROWS, columns=COLUMNS),
        figures=["figures/headline_metrics.png"],
        provenance=PROVENANCE,
        title="tsad-bench leaderboard (test)",
        out_path=tmp_path / "leaderboard.html",
    )


@pytest.fixture
def driver(tmp_path):
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package")
    if missing:
        pytest.skip(
            f"browser test needs {', '.join(missing)}: run tools/setup_env.sh "
            "(as root it installs Debian's chromium and chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()


def visible(driver, column):
    """The text of ``column`` in each shown row, top to bottom."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#leaderboard tbody tr'))"
        ".map((tr) => tr.querySelector(`td[data-column='${arguments[0]}']`).textContent);",
        column,
    )


def rows_shown(driver):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#leaderboard tbody tr'))"
        ".map((tr) => [tr.dataset.dataset, tr.dataset.metric, tr.dataset.protocol, tr.className]);"
    )


def test_page_is_self_contained_and_escaped(page):
    text = page.read_text()
    assert 'id="leaderboard-data"' in text
    assert "http://" not in text and "https://" not in text  # nothing fetched from the network
    assert text.count("</script>") == 2  # the data's "</script>" cannot close its element
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_leaderboard_in_headless_chromium(page, driver, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(page.as_uri())
    table = pd.DataFrame(ROWS, columns=COLUMNS)

    # default filters: every dataset and protocol, the headline metric only
    assert Select(driver.find_element(By.ID, "filter-metric")).first_selected_option.get_attribute("value") == "vus_pr"
    shown = rows_shown(driver)
    assert len(shown) == (table.metric == "vus_pr").sum()
    assert {metric for _, metric, _, _ in shown} == {"vus_pr"}
    headers = [th.get_attribute("data-column") for th in driver.find_elements(By.CSS_SELECTOR, "#leaderboard th")]
    assert headers == [
        "dataset", "split", "fit", "normalise", "rank", "model", "metric", "protocol", "seeds", "mean", "std",
        "ci_low", "flag", "note",
    ]  # fmt: skip
    for axis in ("fit", "normalise"):  # rows from before the axes: train, train
        select = driver.find_element(By.ID, f"filter-{axis}")
        assert select.get_attribute("innerHTML").count("<option") == 2  # all, train
        assert Select(select).first_selected_option.get_attribute("value") == "train"
    assert "[0.390, 0.430]" in visible(driver, "ci_low")

    # sorting by mean: numerically, missing last, then reversed
    mean_header = driver.find_element(By.CSS_SELECTOR, "#leaderboard th[data-column='mean']")
    mean_header.click()
    means = visible(driver, "mean")
    numbers = [float(m) for m in means if m != "n/a"]
    assert numbers == sorted(numbers) and means[-1] == "n/a" and means.count("n/a") == 1
    assert mean_header.get_attribute("aria-sort") == "ascending"
    mean_header.click()
    means = visible(driver, "mean")
    numbers = [float(m) for m in means if m != "n/a"]
    assert numbers == sorted(numbers, reverse=True) and means[-1] == "n/a"
    assert numbers[0] == pytest.approx(0.70)
    assert mean_header.get_attribute("aria-sort") == "descending"

    # the dataset filter
    Select(driver.find_element(By.ID, "filter-dataset")).select_by_value("swat")
    shown = rows_shown(driver)
    assert len(shown) == ((table.metric == "vus_pr") & (table.dataset == "swat")).sum()
    assert {dataset for dataset, _, _, _ in shown} == {"swat"}
    assert visible(driver, "mean") == ["0.700", "0.620", "0.050"]  # still sorted, descending

    # flagged rows (the flag's markup shown as text, not run)
    flags = dict(zip(visible(driver, "model"), visible(driver, "flag"), strict=True))
    assert flags["random"] == "</script><b>one seed</b>"
    classes = {model: cls for model, (_, _, _, cls) in zip(visible(driver, "model"), rows_shown(driver), strict=True)}
    assert "flagged" in classes["random"].split() and "flagged" not in classes["usad"].split()

    # all filters to "all": every row shown
    Select(driver.find_element(By.ID, "filter-dataset")).select_by_value("")
    Select(driver.find_element(By.ID, "filter-metric")).select_by_value("")
    assert len(rows_shown(driver)) == len(ROWS)
    Select(driver.find_element(By.ID, "filter-protocol")).select_by_value("oracle")
    assert {protocol for _, _, protocol, _ in rows_shown(driver)} == {"oracle"}

    assert driver.execute_script("return document.querySelector('#figures img').naturalWidth") > 0
    assert "alert(1)" in driver.find_element(By.ID, "provenance").text
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], errors

    Select(driver.find_element(By.ID, "filter-protocol")).select_by_value("")
    Select(driver.find_element(By.ID, "filter-metric")).select_by_value("vus_pr")
    screenshot = tmp_path / "leaderboard.png"
    assert driver.save_screenshot(str(screenshot))
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000


def test_every_filter_filters_the_rows(tmp_path, driver):
    """Each select (dataset, fit, normalise, metric, protocol) keeps exactly the rows with its value; the
    page opens on one fit mode and one normalisation, whose rows are one ranking."""
    from itertools import product

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    columns = ["dataset", "split", "split_of", "fit", "normalise", "rank", "model", "metric", "protocol", "seeds",
               "mean", "std", "ci_low", "ci_high", "flag"]  # fmt: skip
    rows = []
    for dataset, fit, normalise, (metric, protocol) in product(
        ("smd", "msl"), ("train", "transductive"), ("train", "test"), (("vus_pr", "threshold-free"), ("f1", "pot"))
    ):
        for rank, model in enumerate(("pca", "iforest"), start=1):
            rows.append((dataset, "paper", dataset, fit, normalise, rank, model, metric, protocol, 3,
                         0.5, 0.1, 0.4, 0.6, ""))  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    path = render_html(table, figures=[], provenance={}, title="filters", out_path=tmp_path / "filters.html")
    driver.get(path.as_uri())

    def shown():
        return driver.execute_script(
            "return Array.from(document.querySelectorAll('#leaderboard tbody tr')).map((tr) => "
            "[tr.dataset.dataset, tr.dataset.fit, tr.dataset.normalise, tr.dataset.metric, tr.dataset.protocol]);"
        )

    def expected(**chosen):
        keep = table
        for column, value in chosen.items():
            if value:
                keep = keep[keep[column] == value]
        return sorted(map(list, keep[["dataset", "fit", "normalise", "metric", "protocol"]].itertuples(index=False)))

    chosen = {"dataset": "", "fit": "train", "normalise": "train", "metric": "vus_pr", "protocol": ""}
    assert sorted(shown()) == expected(**chosen) and len(shown()) == 4  # one ranking per dataset: ranks 1, 2
    for column, value in (("normalise", "test"), ("fit", "transductive"), ("dataset", "msl"), ("metric", "f1"),
                          ("protocol", "pot"), ("fit", ""), ("normalise", "")):  # fmt: skip
        Select(driver.find_element(By.ID, f"filter-{column}")).select_by_value(value)
        chosen[column] = value
        assert sorted(shown()) == expected(**chosen), (column, value)
    assert driver.get_log("browser") == []


def test_the_rank_shown_is_the_selected_metrics_and_n_a_says_why(tmp_path, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    columns = ["dataset", "rank", "metric_rank", "model", "metric", "protocol", "seeds", "mean", "std", "ci_low",
               "ci_high", "flag", "note"]  # fmt: skip
    rows = [
        ("d", 1, 1, "a", "vus_pr", "threshold-free", 3, 0.6, 0.1, 0.5, 0.7, "", ""),
        ("d", 2, 2, "b", "vus_pr", "threshold-free", 3, 0.4, 0.1, 0.3, 0.5, "", ""),
        ("d", 1, 2, "a", "f1", "pot", 3, 0.2, 0.1, 0.1, 0.3, "", ""),
        ("d", 2, 1, "b", "f1", "pot", 3, 0.5, 0.1, 0.4, 0.6, "", ""),
        ("d", 1, NAN, "a", "f1", "oracle", 3, NAN, NAN, NAN, NAN, "", "no anomaly in the test labels"),
    ]
    path = render_html(pd.DataFrame(rows, columns=columns), figures=[], provenance={}, title="ranks",
                       out_path=tmp_path / "ranks.html")  # fmt: skip
    driver.get(path.as_uri())
    Select(driver.find_element(By.ID, "filter-metric")).select_by_value("f1")
    Select(driver.find_element(By.ID, "filter-protocol")).select_by_value("pot")
    shown = dict(zip(visible(driver, "model"), visible(driver, "rank"), strict=True))
    assert shown == {"a": "2", "b": "1"}  # by F1 [pot], not by the headline (VUS-PR) rank
    Select(driver.find_element(By.ID, "filter-protocol")).select_by_value("oracle")
    assert visible(driver, "note") == ["no anomaly in the test labels"] and visible(driver, "mean") == ["n/a"]
