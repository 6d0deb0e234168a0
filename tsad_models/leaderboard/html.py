"""The leaderboard as one static HTML page: works from ``file://`` with no network, its data embedded as JSON
and its table filtered and sorted by plain JavaScript; only the figure PNGs are separate files."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from ..common.files import save_text_atomic
from .collect import with_axes

# (column of ``table``, header): the table's columns; the 95 % interval column sorts by its lower bound
COLUMNS = [
    ("dataset", "dataset"),
    ("split", "split"),
    ("fit", "fit"),  # ranks are per fit mode and normalisation: filter on one of each to read a ranking
    ("normalise", "normalise"),
    ("rank", "rank"),
    ("model", "model"),
    ("metric", "metric"),
    ("protocol", "protocol"),
    ("seeds", "seeds"),
    ("mean", "mean"),
    ("std", "std"),
    ("ci_low", "interval"),  # [low, high] and what it is: a bootstrap 95 % interval, or the range of the seeds
    ("flag", "flag"),
    ("note", "why n/a"),
]
NUMERIC = {"rank", "seeds", "mean", "std", "ci_low"}  # sorted numerically, right-aligned
DATA_COLUMNS = [name for name, _ in COLUMNS] + ["ci_high", "interval"]
FILTERS = ["dataset", "fit", "normalise", "metric", "protocol"]
HEADLINE_METRIC = "vus_pr"

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: 0.3rem; }
.controls { display: flex; gap: 1.5rem; flex-wrap: wrap; margin: 1rem 0 0.5rem; }
.controls label { font-weight: 600; }
.controls select { margin-left: 0.4rem; font: inherit; padding: 0.15rem 0.3rem; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
th { background: #f2f4f7; position: sticky; top: 0; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button:focus-visible { outline: 2px solid #3367d6; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
tr.flagged, tr.flagged:nth-child(even) { background: #fff4d6; }
td[data-column="flag"] { color: #9a5b00; }
#row-count { color: #555; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9rem; color: #555; text-align: center; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
"""

SCRIPT = """
"use strict";
(function () {
  const rows = JSON.parse(document.getElementById("leaderboard-data").textContent);
  const table = document.getElementById("leaderboard");
  const headers = Array.from(table.tHead.rows[0].cells);
  const columns = headers.map((th) => th.dataset.column);
  // every select of the controls filters its column (filter-<column>)
  const filters = Array.from(document.querySelectorAll(".controls select")).map((select) => [
    select.id.slice("filter-".length),
    select,
  ]);
  const numeric = new Set(columns.filter((column, i) => headers[i].classList.contains("num")));
  let sortColumn = null;
  let descending = false;

  function missing(value) {
    return value === null || value === undefined || value === "";
  }

  function fixed(value) {
    return missing(value) ? "n/a" : Number(value).toFixed(3);
  }

  function cellText(row, column) {
    if (column === "mean" || column === "std") return fixed(row[column]);
    if (column === "ci_low") {
      if (missing(row.ci_low) || missing(row.ci_high)) return "n/a";
      const what = missing(row.interval) ? "" : " (" + row.interval + ")";
      return "[" + fixed(row.ci_low) + ", " + fixed(row.ci_high) + "]" + what;
    }
    return missing(row[column]) ? "" : String(row[column]);
  }

  // missing values last in either direction; numbers numerically, strings alphabetically
  function compare(a, b) {
    const x = a[sortColumn];
    const y = b[sortColumn];
    if (missing(x) || missing(y)) return missing(x) - missing(y);
    const order = numeric.has(sortColumn) ? x - y : String(x).localeCompare(String(y));
    return descending ? -order : order;
  }

  function makeRow(row) {
    const tr = document.createElement("tr");
    for (const [column] of filters) tr.setAttribute("data-" + column, String(row[column]));
    if (row.flag) tr.classList.add("flagged");
    for (const column of columns) {
      const td = document.createElement("td");
      td.dataset.column = column;
      td.textContent = cellText(row, column);
      if (numeric.has(column)) td.classList.add("num");
      tr.appendChild(td);
    }
    return tr;
  }

  function render() {
    const shown = rows.filter((row) =>
      filters.every(([column, select]) => select.value === "" || String(row[column]) === select.value)
    );
    if (sortColumn !== null) shown.sort(compare);
    const body = document.createDocumentFragment();
    shown.forEach((row) => body.appendChild(makeRow(row)));
    table.tBodies[0].replaceChildren(body);
    for (const th of headers) {
      if (th.dataset.column === sortColumn) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    }
    document.getElementById("row-count").textContent = shown.length + " of " + rows.length + " rows shown";
  }

  for (const th of headers) {
    th.addEventListener("click", () => {
      descending = th.dataset.column === sortColumn ? !descending : false;
      sortColumn = th.dataset.column;
      render();
    });
  }
  for (const [, select] of filters) select.addEventListener("change", render);
  render();
})();
"""


def _image_source(folder: Path, path: str, embed: bool = True) -> str:
    """A figure embedded as a data URI (the page stays whole when moved alone, e.g. into `snakemake --report`),
    or its relative path when the file is not there yet."""
    import base64

    file = folder / path
    if embed and file.is_file():
        return "data:image/png;base64," + base64.b64encode(file.read_bytes()).decode("ascii")
    return quote(path)


def _script_json(table: pd.DataFrame) -> str:
    """The rows as JSON (NaN -> null) that cannot close or comment out the <script> element holding it."""
    text = table.to_json(orient="records")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _select(column: str, values: list[str], default: str) -> str:
    options = [f'<option value=""{" selected" if default == "" else ""}>all</option>']
    for value in values:
        selected = " selected" if value == default else ""
        options.append(f'<option value="{html.escape(value)}"{selected}>{html.escape(value)}</option>')
    return f'<label for="filter-{column}">{column}</label><select id="filter-{column}">{"".join(options)}</select>'


def render_html(
    table: pd.DataFrame,
    *,
    figures: list[str],
    provenance: dict[str, str],
    title: str,
    out_path: str | Path,
    embed_figures: bool = True,
) -> Path:
    """Write the leaderboard page to ``out_path``; ``figures`` are paths relative to it (embedded as data URIs
    with ``embed_figures``). Returns the path."""
    table = with_axes(table)  # a table from before the protocol axes: the paper split, fitted on train
    for column in ("interval", "note"):  # a table from before these were kept
        if column not in table:
            table = table.assign(**{column: ""})
    if "metric_rank" in table:  # the rank by each row's own metric and protocol, not always the headline's
        table = table.assign(rank=table["metric_rank"])
    table = table[DATA_COLUMNS].assign(flag=table["flag"].fillna(""), note=table["note"].fillna(""))
    distinct = {column: sorted(table[column].dropna().astype(str).unique()) for column in FILTERS}
    metrics = distinct["metric"]
    default_metric = HEADLINE_METRIC if HEADLINE_METRIC in metrics else next(iter(metrics), "")
    # one fit mode and one normalisation at first: ranks are per mode, two modes are never one ranking
    defaults = {axis: "train" if "train" in distinct[axis] else "" for axis in ("fit", "normalise")}
    defaults.update(dataset="", metric=default_metric)
    defaults["protocol"] = ""
    controls = "".join(f"<div>{_select(c, distinct[c], defaults[c])}</div>" for c in FILTERS)
    headers = "".join(
        f'<th scope="col" data-column="{name}" class="{"num" if name in NUMERIC else ""}">'
        f'<button type="button">{html.escape(label)}</button></th>'
        for name, label in COLUMNS
    )
    out_path = Path(out_path)
    sources = {path: _image_source(out_path.parent, path, embed_figures) for path in figures}
    figure_items = "".join(
        f'<figure><img src="{html.escape(sources[path])}" alt="{html.escape(Path(path).stem)}">'
        f"<figcaption>{html.escape(Path(path).stem)}</figcaption></figure>"
        for path in figures
    )
    figure_section = (
        f'<section id="figures"><h2>Figures</h2><div class="figures">{figure_items}</div></section>' if figures else ""
    )
    provenance_items = "".join(
        f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(str(value))}</dd>" for key, value in provenance.items()
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{html.escape(title)}</h1>
<p>A row's rank is by its own metric and protocol, within its dataset, fit mode and normalisation (pick one of
each to read one ranking); the markdown report ranks by the headline, VUS-PR. The interval is a bootstrap
95 % interval of the mean where a row has at least 5 seeds, else the range of its seeds (each row says which).
<code>oracle</code> rows read the test labels and are shown only to compare with papers.
Click a column header to sort; click it again to reverse.</p>
</header>
<main>
<section id="table">
<div class="controls">{controls}</div>
<p id="row-count"></p>
<noscript><p>The table needs JavaScript.</p></noscript>
<table id="leaderboard">
<thead><tr>{headers}</tr></thead>
<tbody></tbody>
</table>
</section>
{figure_section}
<section id="provenance">
<h2>Provenance</h2>
<dl>{provenance_items}</dl>
</section>
</main>
<script type="application/json" id="leaderboard-data">{_script_json(table)}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""
    save_text_atomic(out_path, page)
    return out_path
