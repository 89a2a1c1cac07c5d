"""Repair stages: page-aware formatters that fix digitised books before anything is dropped."""

from finebooks.repair.base import PageRepairer

__all__ = ["PageRepairer"]
