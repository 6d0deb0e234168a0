"""``tsad-bench``: command-line tools.

    tsad-bench evaluate --scores S.npy --labels L.npy [--val-scores V.npy] [options]

prints one JSON object: ``<metric>@<protocol>`` for thresholded metrics and
``<metric>`` for threshold-free ones (NaN is written as null).

    tsad-bench publish --study NAME --config FILE [--results results] [--report report]
    tsad-bench render-published report/published/NAME
    tsad-bench merge --study NAME report/published/A report/published/B@model,model/variant

keep a finished run's results under ``report/published/NAME/`` (no scores), rebuild a published
study's leaderboard from them without retraining (``tsad_models.leaderboard.publish``), and combine
published studies that read the same data under the same evaluation (``tsad_models.leaderboard.merge``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np


def _load_vector(path: str, what: str) -> np.ndarray:
    file = Path(path)
    if not file.is_file():
        raise SystemExit(f"tsad-bench: {what} file {path} does not exist")
    try:
        if file.suffix == ".npz":  # e.g. a job's stored scores (results/scores/...): its `test` array
            with np.load(file, allow_pickle=False) as archive:
                names = list(archive.files)
                name = "test" if "test" in names else (names[0] if len(names) == 1 else None)
                if name is None:
                    raise SystemExit(
                        f"tsad-bench: {what} file {path} is an .npz archive of {len(names)} arrays "
                        f"({', '.join(names)}) and none is named `test`: save the one to use as .npy (numpy.save)"
                    )
                values = archive[name]
        elif file.suffix == ".npy":
            values = np.load(file, allow_pickle=False)
        else:
            values = np.loadtxt(file, delimiter="," if file.suffix == ".csv" else None, ndmin=1)
    except ValueError as exc:
        raise SystemExit(f"tsad-bench: cannot read {what} file {path}: {exc}") from None
    values = np.asarray(values)
    if values.ndim != 1:
        values = values.squeeze()
    if values.ndim != 1:
        raise SystemExit(f"tsad-bench: {what} file {path} must hold one value per timestamp, got shape {values.shape}")
    if len(values) < 2:
        raise SystemExit(f"tsad-bench: {what} file {path} holds {len(values)} value(s); a series needs at least 2")
    return values


def _evaluate(args) -> int:
    from .metrics.panel import ALL_PROTOCOLS, EvalSettings, evaluate

    protocols = tuple(p.strip() for p in args.protocols.split(",")) if args.protocols else None
    unknown = sorted(set(protocols or ()) - set(ALL_PROTOCOLS))
    if unknown:
        raise SystemExit(f"tsad-bench: unknown protocol(s) {unknown} in --protocols; known: {', '.join(ALL_PROTOCOLS)}")
    scores = _load_vector(args.scores, "scores")
    labels = _load_vector(args.labels, "labels")
    val = _load_vector(args.val_scores, "validation scores") if args.val_scores else None
    other = np.flatnonzero(~np.isin(labels, (0, 1)))
    if other.size:
        raise SystemExit(
            f"tsad-bench: labels file {args.labels} must hold 0/1: found {labels[other[0]].item()!r} at position "
            f"{int(other[0])} ({other.size} value(s) other than 0/1)"
        )
    if len(labels) == len(scores) and labels.min() == labels.max():
        kind = "no anomaly (every label 0)" if labels.max() == 0 else "only anomalies (every label 1)"
        raise SystemExit(
            f"tsad-bench: the labels in {args.labels} hold {kind}: every metric is undefined on such a series "
            "(there is nothing to tell apart); evaluate a series with both normal and anomalous points"
        )
    if protocols is None:
        protocols = ("oracle", "val-quantile", "pot") if val is not None else ("oracle",)
    if val is None and any(p != "oracle" for p in protocols):
        raise SystemExit("tsad-bench: protocols other than oracle need --val-scores")
    try:
        settings = EvalSettings(
            protocols=protocols,
            val_quantile=args.val_quantile,
            pot_risk=args.pot_risk,
            pot_level=args.pot_level,
            vus_window=args.vus_window,
            vus_thresholds=args.vus_thresholds or None,
        )
        result = evaluate(scores, labels, val, settings)
    except ValueError as exc:
        raise SystemExit(f"tsad-bench: {exc}") from None
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()}
    json.dump(clean, sys.stdout, indent=2 if args.pretty else None, sort_keys=True)
    sys.stdout.write("\n")
    if args.verbose:
        from .metrics import kernels

        print(
            f"tsad-bench: metrics engine {kernels.engine()}, up to {min(kernels.threads(), 2)} thread(s)",
            file=sys.stderr,
        )
    return 0


def _publish(args) -> int:
    from .common.errors import DataError
    from .leaderboard.publish import publish, render_published

    target = Path(args.published) / args.study
    try:
        publish(args.results, args.report, target, study=args.study, config_file=args.config, commit=args.commit,
                processed=args.processed, note=args.note)  # fmt: skip
        written = render_published(target)
    except (DataError, FileNotFoundError) as exc:
        raise SystemExit(f"tsad-bench publish: {exc}") from None
    print(f"tsad-bench: published {args.results} as {target} ({len(written)} report files)")
    return 0


def _merge(args) -> int:
    from .common.errors import ConfigError, DataError
    from .leaderboard.merge import Source, merge_published, read_spec
    from .leaderboard.publish import render_published

    try:
        if args.spec:
            study, note, sources = read_spec(args.spec)
        else:
            study, note, sources = args.study, args.note, [Source.parse(s) for s in args.sources]
        if not study:
            raise ConfigError("merge: name the study (--study) or give a spec (--spec)")
        target = Path(args.published) / study
        merge_published(sources, target, study=study, note=note)
        written = render_published(target)
    except (ConfigError, DataError, FileNotFoundError) as exc:
        raise SystemExit(f"tsad-bench {exc}") from None
    print(f"tsad-bench: merged {len(sources)} studies as {target} ({len(written)} report files)")
    return 0


def _render_published(args) -> int:
    from .leaderboard.publish import render_published

    if not (Path(args.study_dir) / "study.json").is_file():
        raise SystemExit(f"tsad-bench: {args.study_dir} holds no study.json: not a published study")
    written = render_published(args.study_dir)
    print(f"tsad-bench: rendered {args.study_dir} ({len(written)} report files)")
    return 0


class _WithDefaults(argparse.HelpFormatter):
    """Help that states an option's default where it has one (not None or False)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tsad-bench",
        description="tsad-bench command-line tools: evaluate your own scores, publish a finished run as a study, "
        "rebuild a published study's leaderboard. `tsad-bench <command> --help` for each.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = _WithDefaults
    ev = sub.add_parser(
        "evaluate",
        help="the metric panel on your own scores (JSON to stdout)",
        description="Every metric of the panel (docs/protocol.md) on one series of per-timestamp scores and 0/1 "
        "labels, printed as one JSON object: <metric>@<protocol> for thresholded metrics, <metric> for the "
        "threshold-free ones (null where undefined).",
        formatter_class=defaults,
    )
    ev.add_argument("--scores", required=True, help="per-timestamp test scores (.npy, .csv or text)")
    ev.add_argument("--labels", required=True, help="per-timestamp 0/1 test labels")
    ev.add_argument("--val-scores", help="scores on validation data (enables label-free protocols)")
    ev.add_argument(
        "--protocols",
        help="comma-separated: oracle,val-quantile,pot,prior-ratio "
        "(default: oracle, plus val-quantile,pot with --val-scores)",
    )
    ev.add_argument("--val-quantile", type=float, default=0.99,
                    help="val-quantile: the threshold is this quantile of the validation scores")  # fmt: skip
    ev.add_argument("--pot-risk", type=float, default=1e-3, help="pot: the tail probability of the threshold")
    ev.add_argument("--pot-level", type=float, default=0.98,
                    help="pot: the validation scores' quantile above which the Pareto tail is fitted")  # fmt: skip
    ev.add_argument("--vus-window", type=int, default=100,
                    help="VUS: the largest buffer width (at most the series length)")  # fmt: skip
    ev.add_argument("--vus-thresholds", type=int, default=250, help="VUS: thresholds on the curve (0 = every score)")
    ev.add_argument("--pretty", action="store_true", help="indent the JSON")
    ev.add_argument("--verbose", action="store_true", help="say on stderr which metrics engine ran (compiled or NumPy)")
    ev.set_defaults(run=_evaluate)
    pub = sub.add_parser(
        "publish",
        help="keep a finished run's results (no scores) as a published study",
        description="Copy a finished run's tidy results, provenance, runtimes and job records (no score files) to "
        "<published>/<study>/ with its config, commit and a note, and render its leaderboard there.",
        formatter_class=defaults,
    )
    pub.add_argument("--study", required=True, help="the study's name: report/published/<study>/")
    pub.add_argument("--config", required=True, help="the config file the run used (kept in study.json)")
    pub.add_argument("--results", default="results", help="the run's results folder")
    pub.add_argument("--report", default="report", help="the run's report folder (a selection study's files)")
    pub.add_argument("--published", default="report/published", help="where published studies live")
    pub.add_argument("--commit", help="for a run whose jobs recorded no provenance: the commit it ran")
    pub.add_argument("--processed", help="for such a run: its processed data folder (sha256 stated at publishing)")
    pub.add_argument("--note", default="", help="a sentence about how the results were made (kept in study.json)")
    pub.set_defaults(run=_publish)
    mer = sub.add_parser(
        "merge",
        help="combine published studies that read the same data under the same evaluation",
        description="Combine published studies into <published>/<study>/ and render its leaderboard. Refused, "
        "naming the conflict, where two studies read a dataset's entity from different files (sha256), use "
        "other evaluation settings, or hold one model variant on one dataset with other entities, seeds or "
        "values (tsad_models/leaderboard/merge.py).",
        formatter_class=defaults,
    )
    mer.add_argument("--study", help="the merged study's name: report/published/<study>/")
    mer.add_argument("--spec", help="a merge spec (YAML: study, note, sources with models and datasets) instead")
    mer.add_argument("sources", nargs="*", metavar="STUDY[@MODELS]",
                     help="a published study's folder, optionally @ and the models (model or model/variant, "
                     "comma-separated) to take from it")  # fmt: skip
    mer.add_argument("--published", default="report/published", help="where published studies live")
    mer.add_argument("--note", default="", help="a sentence about the merged study (kept in study.json)")
    mer.set_defaults(run=_merge)
    ren = sub.add_parser(
        "render-published",
        help="rebuild a published study's leaderboard from its files",
        description="Rebuild the leaderboard (markdown, page, figures) of a published study from the files "
        "`tsad-bench publish` kept, without its scores or any retraining.",
    )
    ren.add_argument("study_dir", help="the study's folder, e.g. report/published/peers_cpu")
    ren.set_defaults(run=_render_published)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
