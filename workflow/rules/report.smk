# Tidy leaderboard -> report/leaderboard.{md,html,csv,json,tex} and the figures (tsad_models/leaderboard/render.py).


rule report:
    input:
        leaderboard="results/leaderboard.csv",
        curves="results/pak_curves.csv",
        runtimes="results/runtimes.csv",
        provenance="results/provenance.csv",
        datacards=expand(f"{PROCESSED}/{{dataset}}/datacard.json", dataset=DATASETS),
        sections=SELECTION_FILES[:1],  # report/selection.md when the config has a selection study
        # score traces: the first entity of each dataset at the first seed, every model (the figure picks a few)
        trace_entities=[f"{PROCESSED}/{d}/{ENTITIES[d][0]}.npz" for d in config["datasets"]],
        trace_scores=[
            f"results/scores/{d}/{m}/{v}/seed{SEEDS[0]}/{ENTITIES[d][0]}.npz"
            for d in config["datasets"]
            for (m, v) in RESOLVED
        ],
    output:
        markdown=report(f"{REPORT_DIR}/leaderboard.md", caption="../report/leaderboard_md.rst", category="Leaderboard"),
        html=report(f"{REPORT_DIR}/leaderboard.html", caption="../report/leaderboard_html.rst", category="Leaderboard"),
        csv=report(f"{REPORT_DIR}/leaderboard.csv", caption="../report/leaderboard_csv.rst", category="Leaderboard"),
        json=report(f"{REPORT_DIR}/leaderboard.json", caption="../report/leaderboard_json.rst", category="Leaderboard"),
        tex=report(f"{REPORT_DIR}/leaderboard.tex", caption="../report/leaderboard_tex.rst", category="Leaderboard"),
        figures=[
            report(f"{REPORT_DIR}/figures/{name}.png", caption=f"../report/{name}.rst", category="Figures")
            for name in REPORT_FIGURES
        ],
    params:
        report_dir=lambda w, output: os.path.dirname(output.markdown),
        datasets=config["datasets"],
        trace_entities=[ENTITIES[d][0] for d in config["datasets"]],
        trace_seed=SEEDS[0],
        models=list(RESOLVED),
        split_notes=SPLIT_NOTES,
        code=code_of("report.py"),
    log:
        "logs/report.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/report.py"
