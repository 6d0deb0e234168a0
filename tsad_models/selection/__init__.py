"""Unsupervised, transductive model selection: choose among a model's variants (its augmentation, a small
hyper-parameter grid) without test labels.

The stage reads what the fit jobs stored (embeddings and training records in the score files) and
nothing else: no entity file, no label, no metric.  ``dsv`` is the selector of Yoo et al. (ECML PKDD
2023), ``collect`` turns the stored files of one model's variants into a table of selector values.
The comparison with the true metric (and the snooping gap) belongs to the leaderboard stage.
"""
