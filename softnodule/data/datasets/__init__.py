"""Datasets built from the image sources: Soft Mask sets and splits, torch arrays, SR pairs, ISBI, PROMISE12, thorax."""
