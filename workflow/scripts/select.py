"""Snakemake adapter: the selector values (DSV, validation loss) of one model's variants on one dataset.

Reads only the score files of the fit jobs (embeddings and training records): no entity file, no label."""

from tsad_models.common.files import save_text_atomic
from tsad_models.common.logs import job_logging
from tsad_models.selection.collect import collect

w = snakemake.wildcards
p = snakemake.params
with job_logging(snakemake.log[0]) as log:
    keys = [
        {"dataset": w.dataset, "model": w.model, "variant": variant, "seed": seed, "entity": entity}
        for variant in p.variants
        for seed in p.seeds
        for entity in p.entities
    ]
    paths = [
        f"results/scores/{k['dataset']}/{k['model']}/{k['variant']}/seed{k['seed']}/{k['entity']}.npz" for k in keys
    ]
    table = collect(zip(keys, paths, strict=True))
    save_text_atomic(snakemake.output[0], table.to_csv(index=False))
    log.info("selector values of %d jobs of %s on %s", len(table), w.model, w.dataset)
