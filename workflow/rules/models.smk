# One job per dataset x model x variant x seed x entity: fit on train, score validation and test.


rule fit_score:
    input:
        entity=f"{PROCESSED}/{{dataset}}/{{entity}}.npz",
        model_file=lambda w: user_model_file(w.model),  # [] for built-in models
    output:
        scores="results/scores/{dataset}/{model}/{variant}/seed{seed}/{entity}.npz",
        info="results/scores/{dataset}/{model}/{variant}/seed{seed}/{entity}.json",
    params:
        model_config=lambda w: job_config(RESOLVED, BY_DATASET, w.model, w.variant, w.dataset),
        device=config["device"],
        val_fraction=config["val_fraction"],
        model_file=lambda w: user_model_file(w.model),
        code=lambda w: model_code(w.model),
        embeddings=lambda w: selection_embeddings(w.model),  # None unless the model is under selection
    threads: config["threads_per_job"]
    resources:
        # a deep model asks for a GPU unless the run is pinned to the CPU (on SLURM, gpu=1
        # becomes sbatch --gpus=1, which a CPU-only partition rejects)
        gpu=lambda w: 1 if is_deep(w.model) and config["device"] != "cpu" else 0,
    benchmark:
        "benchmarks/fit/{dataset}/{model}/{variant}/seed{seed}/{entity}.tsv"
    log:
        "logs/fit/{dataset}/{model}/{variant}/seed{seed}/{entity}.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/fit_score.py"
