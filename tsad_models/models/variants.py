"""The workflow config, checked at parse time: datasets, models, variants, seeds.

    models:
      pca:
        params: {window: 16}          # shared by every variant (optional)
        variants:
          default: {}
          wide: {window: 64}          # a variant = overrides of the model's config dataclass

``check_models`` builds every variant's config once, so an unknown model, an unknown
key or a value of the wrong type fails before any job runs, naming the config path.
"""

from __future__ import annotations

from typing import Any

from ..common.errors import ConfigError
from .config import build_config, config_to_dict
from .registry import load_model_files, model_config_class


def variant_overrides(config: dict, model: str, variant: str) -> dict[str, Any]:
    models = config.get("models", {})
    if model not in models:
        raise ConfigError(f"config key models: model {model!r} is not configured")
    entry = models[model] or {}
    variants = entry.get("variants") or {"default": {}}
    if variant not in variants:
        raise ConfigError(
            f"config key models.{model}.variants: unknown variant {variant!r}; configured: {sorted(variants)}"
        )
    return {**(entry.get("params") or {}), **(variants[variant] or {})}


def model_variants(config: dict) -> list[tuple[str, str]]:
    out = []
    for model, entry in (config.get("models") or {}).items():
        for variant in (entry or {}).get("variants") or {"default": {}}:
            out.append((model, variant))
    return out


def resolve_model_config(config: dict, model: str, variant: str):
    where = f"config key models.{model}.variants.{variant}"
    return build_config(model_config_class(model), variant_overrides(config, model, variant), where)


def check_models(config: dict, base_dir: str = ".") -> dict[tuple[str, str], dict]:
    """Import user model files, then resolve every (model, variant); return the resolved configs."""
    load_model_files(config.get("model_files") or [], base_dir)
    resolved = {}
    for model, variant in model_variants(config):
        try:
            model_config_class(model)
        except ConfigError as exc:
            raise ConfigError(f"config key models.{model}: {exc}") from None
        resolved[(model, variant)] = config_to_dict(resolve_model_config(config, model, variant))
    return resolved
