"""Scoring stages: write annotations into ``metadata``; separate threshold filters drop."""
