"""FineBooks."""
