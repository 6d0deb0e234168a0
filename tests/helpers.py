"""Helpers shared by several test files."""

from tsad_models.models.run import fit_and_score


def run_job(entity_path, model, config, out_dir, seed=0):
    """One fit_score job on the CPU, its outputs in ``out_dir`` (s.npz, s.json); returns its record."""
    return fit_and_score(
        entity_path=entity_path,
        model=model,
        model_config=config,
        seed=seed,
        device="cpu",
        val_fraction=0.2,
        scores_path=out_dir / "s.npz",
        info_path=out_dir / "s.json",
        progress=False,
    )


def build_detector(name, settings, seed=0):
    """Model ``name`` with ``settings`` over its config defaults, on the CPU, without progress bars."""
    from tsad_models.models.config import build_config
    from tsad_models.models.registry import get_model_class, model_config_class

    return get_model_class(name)(
        build_config(model_config_class(name), settings, name), seed=seed, device="cpu", progress=False
    )


def record_as_downloaded(raw_dir, dataset, folder=""):
    """Write ``<raw_dir>/<dataset>/verified.json`` for the files now in its layout, as if the
    download had fetched exactly these: how tests reach a loader's own checks with a raw file
    they made or altered (preprocessing re-verifies the files against this record first)."""
    import json
    from pathlib import Path

    from tsad_models.data.fetch import sha256_of

    layout = Path(raw_dir) / dataset / folder
    files = sorted(p for p in layout.rglob("*") if p.is_file() and p.name != "verified.json")
    names = {p.relative_to(layout).as_posix(): p for p in files}
    record = {
        "dataset": dataset,
        "folder": folder,
        "files": {name: sha256_of(p) for name, p in names.items()},
        "stat": {name: [p.stat().st_size, p.stat().st_mtime_ns] for name, p in names.items()},
        "unpinned": sorted(names),
    }
    (Path(raw_dir) / dataset / "verified.json").write_text(json.dumps(record))


def record_step_gradients(detector, optimizer="optimizer"):
    """A dict that the optimizer's next steps fill with the gradients they apply (name -> a copy), after
    clipping and before the step clears them: how a test sees what one training step did."""
    seen = {}
    opt = detector.optimizers[optimizer]
    step = opt.step

    def recording_step(*args, **kwargs):
        seen.update({name: p.grad.clone() for name, p in detector.network.named_parameters() if p.grad is not None})
        return step(*args, **kwargs)

    opt.step = recording_step
    return seen
