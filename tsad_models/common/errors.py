"""The project's error types: one clear message that names the file or key and the fix."""


class TsadError(Exception):
    """Base class of every error tsad-bench raises on purpose."""


class ConfigError(TsadError):
    """A configuration key or value is wrong (unknown model, unknown key, wrong type)."""


class DataError(TsadError):
    """A data file is missing, corrupt or has the wrong shape or values."""
