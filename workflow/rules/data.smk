# Download (verified) -> processed per-entity .npz (train-only normalisation) -> a data card per dataset.


rule download:
    input:
        card=lambda w: CARDS[w.dataset].path,
    output:
        "resources/raw/{dataset}/verified.json",
    params:
        cards_dir=config["cards_dir"],
        entities=lambda w: ENTITIES[w.dataset],
        mirror=config["mirror"],
        code=lambda w: data_code("download.py", w.dataset),
    retries: 1
    log:
        "logs/download/{dataset}.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/download.py"


rule preprocess:
    input:
        card=lambda w: CARDS[w.dataset].path,
        sources=lambda w: raw_inputs(w.dataset),
    output:
        f"{PROCESSED}/{{dataset}}/{{entity}}.npz",
    params:
        cards_dir=config["cards_dir"],
        custom=lambda w: {k: v for k, v in config["custom_datasets"].items() if k == parse_name(w.dataset)[0]},
        constant_channels=config["constant_channels"],
        entity_split=lambda w: ENTITY_SPLITS.get(w.dataset),  # None, or {folds, entities}: entities left out
        code=lambda w: data_code("preprocess.py", w.dataset),
    log:
        "logs/preprocess/{dataset}/{entity}.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/preprocess.py"


rule datacard:
    input:
        card=lambda w: CARDS[w.dataset].path,
        entities=lambda w: expand(f"{PROCESSED}/{w.dataset}/{{entity}}.npz", entity=ENTITIES[w.dataset]),
    output:
        f"{PROCESSED}/{{dataset}}/datacard.json",
    params:
        cards_dir=config["cards_dir"],
        code=code_of("datacard.py"),
        custom=lambda w: {k: v for k, v in config["custom_datasets"].items() if k == parse_name(w.dataset)[0]},
    log:
        "logs/datacard/{dataset}.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/datacard.py"
