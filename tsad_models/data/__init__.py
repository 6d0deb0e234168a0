"""Datasets: cards (``cards.py``); raw sources, one module per source family in ``sources/``,
looked up by name (``source.py``); the one download routine (``download.py``, with
``fetch.py`` for one verified file and ``archives.py`` for safe extraction); preprocessing to
the one processed format (``preprocess.py``, ``entity.py``, ``datacard.py``)."""
