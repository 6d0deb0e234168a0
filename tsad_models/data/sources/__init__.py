"""The dataset sources, by the name a card's ``source`` key gives: name -> the module that
implements it (one file per source family, defining ``SOURCE``, or ``SOURCES_BY_NAME`` for
a file that holds several).  ``data/source.py`` imports a module on first use.

A table of contents, not code: the workflow's code fingerprints leave it out, so adding a
source here reruns no other dataset's jobs.  Add a source by adding its line.
"""

SOURCES = {
    "gutentag": "tsad_models.data.sources.gutentag",
    "aeon_csv": "tsad_models.data.sources.aeon",
    "timeeval": "tsad_models.data.sources.timeeval",
    "smd": "tsad_models.data.sources.smd",
    "telemanom": "tsad_models.data.sources.telemanom",
    "nab": "tsad_models.data.sources.nab",
    "psm": "tsad_models.data.sources.psm",
    "hand_placed": "tsad_models.data.sources.hand_placed",
    "ucr2021": "tsad_models.data.sources.ucr",
    "dsads": "tsad_models.data.sources.activity",
    "dsads_pooled": "tsad_models.data.sources.activity",
    "pamap2": "tsad_models.data.sources.activity",
    "wesad": "tsad_models.data.sources.activity",
}
