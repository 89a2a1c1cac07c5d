"""Deduplication stages."""
