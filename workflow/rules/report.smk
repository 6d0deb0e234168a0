# Tidy leaderboard -> report/leaderboard.md (tabulate) and figures (seaborn).


rule report:
    input:
        leaderboard="results/leaderboard.csv",
        curves="results/pak_curves.csv",
        runtimes="results/runtimes.csv",
        datacards=expand(f"{PROCESSED}/{{dataset}}/datacard.json", dataset=config["datasets"]),
        sections=SELECTION_FILES[:1],  # report/selection.md when the config has a selection study
    output:
        markdown=f"{REPORT_DIR}/leaderboard.md",
        summary=f"{REPORT_DIR}/leaderboard_summary.csv",
        headline=report(f"{REPORT_DIR}/figures/headline_metrics.png", caption="../report/headline.rst", category="Leaderboard"),
        curves=report(f"{REPORT_DIR}/figures/f1_pa_k_curves.png", caption="../report/pak_curves.rst", category="Leaderboard"),
    params:
        report_dir=lambda w, output: os.path.dirname(output.markdown),
        code=code_of("report.py"),
    log:
        "logs/report.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/report.py"
