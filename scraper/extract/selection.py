"""The main text of a page, chosen block by block by the learned block model.

Two stages (``models/blocks-first.json``, ``models/blocks-second.json``): the first weighs each
block by its own features (:mod:`scraper.extract.blocks`); the second weighs it again knowing
the first's verdict on its neighbours, its containers and the blocks shaped like it, so a post
among posts, or a card among cards, is kept or dropped with its kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scraper.extract.blocks import Block, block_features, block_groups, second_stage_features
from scraper.extract.model import load_model

FIRST_STAGE = "blocks-first"
SECOND_STAGE = "blocks-second"
# The probability from which a block is kept: chosen by site-grouped cross-validation on the
# development splits (bench/README.md); 0.4-0.6 differ by under 0.003 of word F1.
KEEP_THRESHOLD = 0.5


@dataclass(frozen=True)
class Selection:
    kept: list[Block]
    probabilities: list[float]


def select_blocks(blocks: Sequence[Block], trafilatura_text: str | None,
                  page_type_probabilities: Sequence[float] | None = None, title: str | None = None) -> Selection:
    """``title``: the page's (:func:`~scraper.extract.blocks.page_title`)."""
    if not blocks:
        return Selection([], [])
    features = block_features(blocks, trafilatura_text, page_type_probabilities, title)
    first = load_model(FIRST_STAGE).probabilities(features)
    words = np.array([block.words for block in blocks], dtype=float)
    context = second_stage_features(first, block_groups(blocks), words)
    second = load_model(SECOND_STAGE).probabilities(np.hstack([features, context]))
    kept = [block for block, p in zip(blocks, second, strict=True) if p >= KEEP_THRESHOLD]
    return Selection(kept, [float(p) for p in second])
