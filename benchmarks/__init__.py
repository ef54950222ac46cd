"""Measured comparisons; each prints ratios against its baseline."""
