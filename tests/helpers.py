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
