"""MetadataThresholdFilter: bounds, allowed values, missing keys, reasons."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from finebooks.filters.metadata_threshold import MetadataThresholdFilter


def doc(**meta):
    return Document(text="x", id="b", metadata=meta)


def test_bounds_are_inclusive_and_reasons_name_the_value():
    f = MetadataThresholdFilter("year", min=1700, max=1900)
    assert f.filter(doc(year=1700)) is True and f.filter(doc(year=1900)) is True
    d = doc(year=1650)
    assert f.filter(d) == (False, "year_below_min")  # the code only: datatrove makes one stat per reason
    assert d.metadata["filter_detail"] == "year=1650 < 1700"
    assert f.check(1901) == ("year_above_max", "year=1901 > 1900")


def test_missing_and_allowed_values():
    f = MetadataThresholdFilter("rights", values=["public domain"], missing="drop")
    assert f.filter(doc(rights="public domain")) is True
    assert f.filter(doc(rights="in copyright"))[1] == "rights_not_allowed"
    assert f.filter(doc())[1] == "rights_missing"
    assert MetadataThresholdFilter("rights", values=["x"]).filter(doc()) is True


def test_incomparable_values_are_dropped_with_a_reason():
    f = MetadataThresholdFilter("year", min=1800)
    assert f.filter(doc(year="unknown"))[1] == "year_not_comparable"


@pytest.mark.parametrize("kwargs", [{}, {"min": 2, "max": 1}, {"min": 1, "missing": "maybe"}])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        MetadataThresholdFilter("k", **kwargs)
