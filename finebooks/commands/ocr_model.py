"""``finebooks ocr-model train --lang L --text DIR --out PATH``: train an OCR-quality character model.

The OCR quality scorer (``score_ocr_quality``) reads text through a character trigram model of the
book's language, built by default from the modern ``wordfreq`` word list. Historic languages and
scripts (polytonic Greek, early-modern spelling) need a model trained on clean text of the same
kind: this command trains one locally from a folder of your own UTF-8 ``.txt`` files (accents
kept, mixed by default with the wordfreq list of the language) and writes one ``.npz`` file. Use
it with ``score_ocr_quality: {user_models: {el: PATH}}``. Method and measured effect:
docs/ocr_quality.md ("Your own character model").
"""

from __future__ import annotations

from finebooks.scoring import charlm

NAME = "ocr-model"
HELP = "train a character model of the OCR quality scorer on your own clean text"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="ocr_model_command", required=True)
    train = sub.add_parser("train", help="train a model from a folder of clean .txt files")
    charlm.add_train_arguments(train)


def run(args) -> int:
    if args.ocr_model_command == "train":
        return charlm.run_train(args)
    raise ValueError(f"unknown ocr-model command {args.ocr_model_command!r}")
