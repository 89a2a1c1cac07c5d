"""Deduplication stages (see docs/dedup.md).

* :mod:`finebooks.dedup.exact` - ``exact_dedup``: books with the same normalised text.
* :mod:`finebooks.dedup.near` - ``near_dedup``: near-duplicate scans, editions and releases
  (OCR-tolerant MinHash LSH, verified pairs, the best-scored copy kept, cluster records).
* :mod:`finebooks.dedup.pages` - ``repeated_pages``: pages repeated across the collection.
* :mod:`finebooks.dedup.minhash` - ``minhash_dedup``: datatrove's stock MinHash stages, as a baseline.
* :mod:`finebooks.dedup.shingles` - normalisation, shingles, signatures, samples (numpy).
* :mod:`finebooks.dedup.common` - kept-copy ranking, cluster records, the duplicate filter.
* :mod:`finebooks.dedup.evaluation` - known duplicate pairs of the project's real test data.
"""
