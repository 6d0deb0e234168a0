# Raw data -> processed per-entity .npz (train-only normalisation) and a data card per dataset.


rule preprocess:
    input:
        card=lambda w: CARDS[w.dataset].path,
        sources=lambda w: get_source(CARDS[w.dataset].source).inputs(CARDS[w.dataset]),
    output:
        f"{PROCESSED}/{{dataset}}/{{entity}}.npz",
    params:
        cards_dir=config["cards_dir"],
        constant_channels=config["constant_channels"],
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
    log:
        "logs/datacard/{dataset}.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/datacard.py"
