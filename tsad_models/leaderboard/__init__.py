"""The leaderboard stage: metrics files -> tidy CSV (``collect``) -> tables (``tables``) and
figures (``figures``) -> the rendered report (``render``)."""
