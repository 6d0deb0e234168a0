# Stored scores -> metrics JSON per (dataset, model, variant, seed) -> tidy leaderboard CSV.


rule evaluate:
    input:
        processed=lambda w: expand(f"{PROCESSED}/{w.dataset}/{{entity}}.npz", entity=ENTITIES[w.dataset]),
        scores=lambda w: expand(
            f"results/scores/{w.dataset}/{w.model}/{w.variant}/seed{w.seed}/{{entity}}.npz",
            entity=ENTITIES[w.dataset],
        ),
    output:
        "results/metrics/{dataset}/{model}/{variant}/seed{seed}.json",
    params:
        entities=lambda w: ENTITIES[w.dataset],
        evaluation=config["evaluation"],
        code=code_of("evaluate.py"),
    log:
        "logs/evaluate/{dataset}/{model}/{variant}/seed{seed}.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/evaluate.py"


rule leaderboard:
    input:
        metrics=metric_files(),
        benchmarks=fit_benchmarks(),
    params:
        code=code_of("leaderboard.py"),
    output:
        leaderboard="results/leaderboard.csv",
        curves="results/pak_curves.csv",
        runtimes=report("results/runtimes.csv", caption="../report/runtimes_csv.rst", category="Provenance"),
        provenance=report("results/provenance.csv", caption="../report/provenance_csv.rst", category="Provenance"),
    log:
        "logs/leaderboard.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/leaderboard.py"
