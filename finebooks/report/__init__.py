"""The user-facing side of a run: reports, SQL views, dataset cards and Hub export.

* :mod:`finebooks.report.query`    DuckDB views ``books``, ``excluded``, ``clusters``, ``summary``,
  ``stages`` over a run directory (``finebooks query``),
* :mod:`finebooks.report.report`   the self-contained HTML + Markdown report (``finebooks report``),
* :mod:`finebooks.report.card`     the Hugging Face dataset card,
* :mod:`finebooks.report.export`   Parquet shards + card, Hub push, tokenised output (``finebooks export``).

See docs/report.md.
"""
