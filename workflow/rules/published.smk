# Published studies (report/published/<study>/, made by `tsad-bench publish`): rebuild their leaderboards
# from the kept metrics and job records, without retraining.  Target: `snakemake published`.

PUBLISHED = sorted(glob_wildcards("report/published/{study,[A-Za-z0-9_.-]+}/study.json").study)


rule published:
    input:
        expand("report/published/{study}/leaderboard.md", study=PUBLISHED),


rule published_leaderboard:
    input:
        study="report/published/{study}/study.json",
        tidy="report/published/{study}/leaderboard_tidy.csv.gz",
        provenance="report/published/{study}/provenance.csv",
    output:
        markdown="report/published/{study}/leaderboard.md",
        html="report/published/{study}/leaderboard.html",
        csv="report/published/{study}/leaderboard.csv",
    params:
        code=code_of("published.py"),
    log:
        "logs/published/{study}.log",
    conda:
        "../envs/tsad.yaml"
    script:
        "../scripts/published.py"
