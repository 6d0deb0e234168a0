"""Datasets: cards, raw sources, preprocessing to the one processed format."""
