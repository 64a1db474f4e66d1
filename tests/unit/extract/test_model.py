"""extract.model: the numpy evaluation of a LightGBM model gives LightGBM's own predictions."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from scraper.extract import model

FEATURES = 5


def data(rows: int, seed: int) -> np.ndarray:
    values = np.random.default_rng(seed).normal(size=(rows, FEATURES))
    values[values[:, 4] > 1.0, 0] = np.nan  # missing values, learnt as such
    return values


def train(labels: np.ndarray, values: np.ndarray, params: dict[str, object]) -> lgb.Booster:
    dataset = lgb.Dataset(values, label=labels, feature_name=[f"f{i}" for i in range(FEATURES)])
    return lgb.train({"num_leaves": 7, "min_data_in_leaf": 5, "learning_rate": 0.3, "num_threads": 1,
                      "deterministic": True, "force_col_wise": True, "verbose": -1, "seed": 0, **params},
                     dataset, num_boost_round=15)


def ensemble(booster: lgb.Booster, classes: tuple[str, ...] = ()) -> model.TreeEnsemble:
    # Through the file's text, as a shipped model is read.
    return model.loads(model.dumps(model.from_lightgbm_dump(booster.dump_model(), classes)))


def test_binary_probabilities_equal_lightgbm_with_nan() -> None:
    values = data(400, 1)
    labels = ((np.nan_to_num(values[:, 0], nan=1.5) + values[:, 1]) > 0.3).astype(int)
    booster = train(labels, values, {"objective": "binary"})
    test = data(200, 2)
    assert np.isnan(test).any()
    ours = ensemble(booster).probabilities(test)
    assert ours.shape == (200,)
    np.testing.assert_allclose(ours, booster.predict(test), rtol=1e-9, atol=1e-12)


def test_multiclass_probabilities_equal_lightgbm_with_nan() -> None:
    values = data(600, 3)
    labels = np.digitize(np.nan_to_num(values[:, 0], nan=-2.0) + 0.5 * values[:, 2], [-0.7, 0.0, 0.7])
    booster = train(labels, values, {"objective": "multiclass", "num_class": 4})
    test = data(200, 4)
    ours = ensemble(booster, ("a", "b", "c", "d"))
    assert ours.classes == ("a", "b", "c", "d")
    probabilities = ours.probabilities(test)
    assert probabilities.shape == (200, 4)
    np.testing.assert_allclose(probabilities, booster.predict(test), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_rows_of_the_wrong_width_are_refused() -> None:
    values = data(100, 5)
    booster = train((values[:, 1] > 0).astype(int), values, {"objective": "binary"})
    with pytest.raises(ValueError, match="5 features"):
        ensemble(booster).probabilities(np.zeros((3, 4)))
