"""The workflow config, checked at parse time: datasets, models, variants, seeds.

    models:
      pca:
        params: {window: 16}          # shared by every variant (optional)
        variants:
          default: {}
          wide: {window: 64}          # a variant = overrides of the model's config dataclass
        dataset_params:               # per dataset (optional): a paper's per-dataset settings
          smap: {window: 32}

Precedence: ``params`` < ``dataset_params[<dataset>]`` < the variant's own overrides (an ablation keeps
its change on every dataset). A derived split (``smd~entity``) takes its dataset's (``smd``) entry.

``normalise`` (docs/protocol.md) is set per variant (or in ``params``) like any field, or for the whole
config: ``normalise: test`` runs every variant that does not set it itself as ``<variant>~testnorm``,
with the test series normalised by its own statistics; ``normalise: [train, test]`` runs each such variant
both ways, as ``<variant>`` and ``<variant>~testnorm``, so the report can pair them.

``check_models`` builds every variant's config once, so an unknown model, an unknown
key or a value of the wrong type fails before any job runs, naming the config path.
"""

from __future__ import annotations

from typing import Any

from ..common.axes import TEST_NORMALISED
from ..common.errors import ConfigError
from ..data.splits import parse_name
from .config import build_config, config_to_dict
from .registry import get_model_class, load_model_files, model_config_class


def config_normalise_modes(config: dict) -> list[str]:
    """The config-level ``normalise``: one mode or a list of them (default ``train``)."""
    value = config.get("normalise", "train")
    return [value] if isinstance(value, str) else list(value)


def _configured(config: dict, model: str) -> tuple[dict, dict]:
    models = config.get("models", {})
    if model not in models:
        raise ConfigError(f"config key models: model {model!r} is not configured")
    entry = models[model] or {}
    return entry.get("params") or {}, entry.get("variants") or {"default": {}}


def dataset_params(config: dict, model: str, dataset: str | None) -> dict[str, Any]:
    """The model's ``dataset_params`` entry for ``dataset`` (a derived split ``<d>~<split>`` reads ``<d>``'s)."""
    if dataset is None:
        return {}
    entry = config.get("models", {}).get(model) or {}
    return (entry.get("dataset_params") or {}).get(parse_name(dataset)[0]) or {}


def variant_overrides(config: dict, model: str, variant: str, dataset: str | None = None) -> dict[str, Any]:
    params, variants = _configured(config, model)
    params = {**params, **dataset_params(config, model, dataset)}
    base = variant.removesuffix(TEST_NORMALISED)
    if base not in variants:
        raise ConfigError(
            f"config key models.{model}.variants: unknown variant {base!r}; configured: {sorted(variants)}"
        )
    overrides = {**params, **(variants[base] or {})}
    if "normalise" in overrides:  # the variant's own choice: it runs once, under its own name
        if base != variant:
            raise ConfigError(
                f"config key models.{model}.variants.{base}: sets normalise itself, so there is no {variant!r}"
            )
        return overrides
    if base != variant and not _has_normalise(model):
        raise ConfigError(
            f"config key normalise: {model!r} cannot run test-normalised ({variant!r}): its config class has no "
            "`normalise` field; derive it from tsad_models.models.base.DetectorConfig (or WindowConfig)"
        )
    return {**overrides, "normalise": "test"} if base != variant else overrides


def _has_normalise(model: str) -> bool:
    import dataclasses

    return "normalise" in {f.name for f in dataclasses.fields(model_config_class(model))}


def model_variants(config: dict) -> list[tuple[str, str]]:
    """(model, variant) of every configured variant, with its ``~testnorm`` twin where the config-level
    ``normalise`` asks for the test mode (and the variant does not set ``normalise`` itself)."""
    modes = config_normalise_modes(config)
    out = []
    for model in config.get("models") or {}:
        params, variants = _configured(config, model)
        for variant, overrides in variants.items():
            if "normalise" in {**params, **(overrides or {})}:
                out.append((model, variant))
                continue
            out += [(model, variant if mode == "train" else variant + TEST_NORMALISED) for mode in modes]
    return out


def resolve_model_config(config: dict, model: str, variant: str, dataset: str | None = None):
    where = f"config key models.{model}.variants.{variant}"
    if dataset_params(config, model, dataset):
        where += f" (with models.{model}.dataset_params.{parse_name(dataset)[0]})"
    return build_config(model_config_class(model), variant_overrides(config, model, variant, dataset), where)


def check_dataset_params(config: dict, resolved: dict[tuple[str, str], dict]) -> dict[tuple[str, str, str], dict]:
    """Every (model, variant, dataset) whose config ``dataset_params`` changes, resolved and checked like a
    variant before any job runs; a dataset key the config does not run is refused (a typo would silently
    leave the paper's setting out)."""
    datasets = set(config.get("datasets") or []) | set(config.get("custom_datasets") or {})
    out = {}
    for model, entry in (config.get("models") or {}).items():
        by_dataset = (entry or {}).get("dataset_params") or {}
        unknown = sorted(set(by_dataset) - datasets)
        if unknown:
            raise ConfigError(
                f"config key models.{model}.dataset_params: {unknown} are not among the config's datasets "
                f"({', '.join(sorted(datasets))}); fix the name or add the dataset to `datasets`"
            )
        for dataset in by_dataset:
            for m, variant in resolved:
                if m != model:
                    continue
                model_config = resolve_model_config(config, model, variant, dataset)
                try:
                    get_model_class(model).check_config(model_config)
                except ValueError as exc:
                    raise ConfigError(f"config key models.{model}.dataset_params.{dataset}: {exc}") from None
                out[(model, variant, dataset)] = config_to_dict(model_config)
    return out


def job_config(resolved: dict, by_dataset: dict, model: str, variant: str, dataset: str) -> dict:
    """The resolved config of one job: its dataset's entry where ``dataset_params`` sets one."""
    return by_dataset.get((model, variant, parse_name(dataset)[0]), resolved[(model, variant)])


def check_models(config: dict, base_dir: str = ".") -> dict[tuple[str, str], dict]:
    """Import user model files, then resolve every (model, variant); return the resolved configs."""
    load_model_files(config.get("model_files") or [], base_dir)
    resolved = {}
    for model, variant in model_variants(config):
        try:
            model_config_class(model)
        except ConfigError as exc:
            raise ConfigError(f"config key models.{model}: {exc}") from None
        model_config = resolve_model_config(config, model, variant)
        try:
            get_model_class(model).check_config(model_config)
        except ValueError as exc:
            raise ConfigError(f"config key models.{model}.variants.{variant}: {exc}") from None
        if getattr(model_config, "epochs", None) == 0 and "untrained" not in variant:
            raise ConfigError(
                f"config key models.{model}.variants.{variant}: epochs 0 leaves the network at its seeded "
                "initialisation, an untrained control; name the variant `untrained` (or `<name>_untrained`) so its "
                "rows say so, or set epochs >= 1"
            )
        resolved[(model, variant)] = config_to_dict(model_config)
    return resolved


def check_selection(config: dict, resolved: dict[tuple[str, str], dict]) -> dict[str, str]:
    """Check the workflow's ``selection.models`` before any job runs; return {model: default variant}."""
    chosen = (config.get("selection") or {}).get("models") or {}
    defaults = {}
    for model, spec in chosen.items():
        where = f"config key selection.models.{model}"
        variants = sorted(v for m, v in resolved if m == model)
        if not variants:
            raise ConfigError(f"{where}: {model!r} is not among the config's models ({', '.join(config['models'])})")
        if len(variants) < 2:
            raise ConfigError(f"{where}: {model!r} has one variant; selection needs at least two to choose from")
        if spec["default"] not in variants:
            raise ConfigError(
                f"{where}.default: {spec['default']!r} is not a variant of {model} ({', '.join(variants)})"
            )
        if not getattr(get_model_class(model), "gives_embeddings", lambda: False)():
            raise ConfigError(
                f"{where}: {model!r} gives no embeddings (DeepDetector.embed_batch and pseudo_anomalies), "
                "so DSV cannot select among its variants"
            )
        normalised = sorted({resolved[(m, v)].get("normalise", "train") for m, v in resolved if m == model})
        if normalised != ["train"]:
            raise ConfigError(
                f"{where}: DSV selection compares variants fitted and scored under training-split normalisation; "
                f"{model!r} also runs with normalise: test here. Run the selection study under normalise: train"
            )
        defaults[model] = spec["default"]
    return defaults
