"""LightGBM, the one place it is imported: the parameters every model is trained with, and folds.

Deterministic by construction: fixed seeds, ``deterministic`` and ``force_row_wise`` on, a fixed
thread count, so that training twice on one machine gives the same trees, byte for byte.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import lightgbm
import numpy as np
import numpy.typing as npt

from scraper.extract.model import from_lightgbm_dump

THREADS = 2

BINARY: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.1, "num_leaves": 31, "max_depth": 8, "min_data_in_leaf": 40,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
}


def fit(params: dict[str, Any], features: npt.NDArray[np.float64], labels: npt.NDArray[Any],
        weights: npt.NDArray[np.float64] | None, rounds: int, seed: int = 0) -> lightgbm.Booster:
    settings = {**params, "seed": seed, "deterministic": True, "force_row_wise": True, "num_threads": THREADS,
                "verbose": -1}
    return lightgbm.train(settings, lightgbm.Dataset(features, labels, weight=weights), num_boost_round=rounds)


def to_model(booster: lightgbm.Booster, feature_names: Sequence[str], classes: Sequence[str] = ()) -> dict[str, Any]:
    dump = booster.dump_model()
    dump["feature_names"] = list(feature_names)
    return from_lightgbm_dump(dump, classes)


def site_folds(sites: Sequence[Hashable], folds: int, seed: int) -> list[int]:
    """A fold per item, all items of one site in one fold, sites shuffled with ``seed``."""
    distinct = sorted(set(sites), key=str)
    order = np.random.default_rng(seed).permutation(len(distinct))
    fold_of = {site: int(order[i]) % folds for i, site in enumerate(distinct)}
    return [fold_of[site] for site in sites]
