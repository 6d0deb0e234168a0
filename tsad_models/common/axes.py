"""Names the workflow config and the leaderboard share for the protocol axes (docs/protocol.md)."""

# the name suffix of a variant run with normalise: test because the config asked for it (models.variants);
# the leaderboard strips it to pair <variant> with <variant>~testnorm
TEST_NORMALISED = "~testnorm"
