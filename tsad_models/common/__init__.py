"""What every stage may use: error types, atomic file writes, label runs, job logging and
code fingerprints.  Nothing here imports another part of the package."""
