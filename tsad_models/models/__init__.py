"""Built-in models: one file each.  This table is the table of contents.

A model's module is imported the first time the model is asked for, so that a job that
runs ``pca`` does not import torch.  To add a model to the package, add its file and one
line here (a whole family of models, such as ``pyod:<Class>``, is one line of ``FAMILIES``);
to add one without touching the package, use the workflow config key
``model_files`` (see README, "Add a model").
"""

BUILTIN = {
    "random": "tsad_models.models.random_scores",  # sanity row: seeded uniform noise
    "pca": "tsad_models.models.pca",  # sanity row: PCA reconstruction error
    "knn": "tsad_models.models.knn",  # sanity row: nearest-training-window distance
    "iforest": "tsad_models.models.iforest",  # sanity row: isolation forest on windows
    "kmeans_ad": "tsad_models.models.kmeans_ad",  # simple baseline: distance to the nearest k-means centroid (TSB-AD)
    "zscore_norm": "tsad_models.models.zscore_norm",  # simple baseline: norm of the standardised point
    "features": "tsad_models.models.window_features",  # simple baseline: window statistics, then knn/iforest/pca/PyOD
    "autoencoder": "tsad_models.models.autoencoder",  # small deep model through the shared trainer
    "latad": "tsad_models.models.latad",  # LATAD (Choi et al. 2024): learnable augmentation + triplets
    "amad": "tsad_models.models.amad",  # AMAD (Huang and Li 2025): AutoMask attention + Max-Min, re-implemented
    "amsl": "tsad_models.models.amsl",  # AMSL (Zhang et al. 2022): memories + self-supervised views
    "anomaly_transformer": "tsad_models.models.anomaly_transformer",  # peer: Xu et al. 2022, association discrepancy
    "dcdetector": "tsad_models.models.dcdetector",  # peer: Yang et al. 2023, dual-attention contrastive
    "tranad": "tsad_models.models.tranad",  # peer: Tuli et al. 2022, two-phase adversarial transformer
    "usad": "tsad_models.models.usad",  # peer: Audibert et al. 2020, two decoders, two optimizers
    "timesnet": "tsad_models.models.timesnet",  # peer: Wu et al. 2023, 2-D period blocks, reconstruction
    "omnianomaly": "tsad_models.models.omnianomaly",  # peer: Su et al. 2019, stochastic recurrent VAE
}

# Families of models named "<family>:<member>", registered on first use by the module's ``register``.
FAMILIES = {
    "pyod": "tsad_models.models.pyod_adapter",  # pyod:<Class>: any PyOD detector on windows (pyod:ECOD, pyod:LOF)
}
