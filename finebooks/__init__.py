"""FineBooks: FineWeb-style corpus curation for digitised books, built on datatrove.

One book is one datatrove ``Document`` whose pages are joined by form feeds (see
:mod:`finebooks.book`). Readers live in :mod:`finebooks.readers`.
"""

__version__ = "0.1.0"
