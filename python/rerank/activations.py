"""Activations CrossEncoder.predict may apply to the logits (sentence-transformers' ``activation_fn``).

Named like torch.nn's modules, so a torch activation (``torch.nn.Sigmoid()``) passed by a user maps onto the same
computation by its class name; any other callable is applied to the float32 logits array (n, num_labels).
"""
from __future__ import annotations

from typing import Callable

import numpy as np


class Identity:
    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Identity):
    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


class Tanh(Identity):
    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x).astype(np.float32)


class Softmax(Identity):
    def __call__(self, x: np.ndarray) -> np.ndarray:
        return softmax(x)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x.astype(np.float64) - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


ACTIVATIONS: dict[str, Callable[[], Identity]] = {"Identity": Identity, "Sigmoid": Sigmoid, "Tanh": Tanh, "Softmax": Softmax}
