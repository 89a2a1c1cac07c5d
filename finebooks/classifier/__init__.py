"""Quality classifiers for books: train (fastText or scikit-learn), evaluate, score, bootstrap.

* :mod:`finebooks.classifier.text` - the text normalisation and chunking every step shares;
* :mod:`finebooks.classifier.data` - labelled data (Parquet, JSON Lines, HF datasets) and book-level splits;
* :mod:`finebooks.classifier.model` - backends, content-hashed model files and their cards;
* :mod:`finebooks.classifier.train` / :mod:`~finebooks.classifier.evaluate` - the training and evaluation runs;
* :mod:`finebooks.classifier.stage` - the ``score_quality_classifier`` recipe stage;
* :mod:`finebooks.classifier.bootstrap` - labelled files for collections without labels.

Command line: ``finebooks classifier bootstrap|train|eval`` (docs/classifier.md).
"""

from finebooks.classifier.data import Columns, read_labelled, split_groups
from finebooks.classifier.model import QualityModel, load_model, save_model
from finebooks.classifier.text import chunk_text, normalise_text

__all__ = ["Columns", "QualityModel", "chunk_text", "load_model", "normalise_text", "read_labelled", "save_model",
           "split_groups"]
