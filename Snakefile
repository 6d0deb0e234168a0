# tsad-bench: entry point. The workflow lives in workflow/; see README.md.
# An include resets the default target, so it is declared again here.


include: "workflow/Snakefile"


rule default:
    default_target: True
    input:
        rules.all.input,
