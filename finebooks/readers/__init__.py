"""Readers: datatrove steps that stream books (one Document per book, pages joined by ``\\f``)."""

from finebooks.readers.base import BookReader, BookUnit, decode_text

__all__ = ["BookReader", "BookUnit", "decode_text"]
