"""The project's error types: one clear message that names the file or key and the fix."""


class TsadError(Exception):
    """Base class of every error tsad-bench raises on purpose."""


class ConfigError(TsadError):
    """A configuration key or value is wrong (unknown model, unknown key, wrong type)."""


class DataError(TsadError):
    """A data file is missing, corrupt or has the wrong shape or values."""


class ChecksumError(DataError):
    """A file's sha256 differs from its pin. Final: another route to the file would only hide
    that the source changed or the copy is corrupt."""


class SourceUnavailable(DataError):
    """One route could not provide a file (network failure, not in the mirror): the next
    route is tried, and the last one's message names the fix."""
