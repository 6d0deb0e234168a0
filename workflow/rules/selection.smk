# Unsupervised model selection among a model's variants (config key `selection`; off when empty):
# stored embeddings -> selector values per job (no labels) -> with the leaderboard: snooping gap, heatmaps.


rule select:
    input:
        scores=lambda w: [
            f"results/scores/{w.dataset}/{w.model}/{variant}/seed{seed}/{entity}.npz"
            for (model, variant) in RESOLVED
            if model == w.model
            for seed in SEEDS
            for entity in ENTITIES[w.dataset]
        ],
    output:
        "results/selection/{dataset}/{model}.csv",
    params:
        variants=lambda w: sorted(v for m, v in RESOLVED if m == w.model),
        seeds=SEEDS,
        entities=lambda w: ENTITIES[w.dataset],
        code=code_of("select.py"),
    log:
        "logs/select/{dataset}/{model}.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/select.py"


rule selection_report:
    input:
        selection=expand(
            "results/selection/{dataset}/{model}.csv", dataset=config["datasets"], model=sorted(SELECTION_DEFAULTS)
        ),
        leaderboard="results/leaderboard.csv",
    output:
        markdown=f"{REPORT_DIR}/selection.md",
        summary=report(f"{REPORT_DIR}/selection_summary.csv", caption="../report/selection_summary.rst", category="Selection"),
        units=f"{REPORT_DIR}/selection_units.csv",
        gap=report(f"{REPORT_DIR}/figures/snooping_gap.png", caption="../report/snooping_gap.rst", category="Selection"),
        heatmaps=report(
            expand(f"{REPORT_DIR}/figures/augmentation_heatmap_{{model}}.png", model=sorted(SELECTION_DEFAULTS)),
            caption="../report/augmentation_heatmap.rst",
            category="Selection",
        ),
    params:
        report_dir=lambda w, output: os.path.dirname(output.markdown),
        defaults=SELECTION_DEFAULTS,
        settings=SELECTION,
        code=code_of("selection_report.py"),
    log:
        "logs/selection_report.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/selection_report.py"
