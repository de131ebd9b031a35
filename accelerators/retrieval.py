"""Fixed sentence set and embedding-comparison metrics for the MiniLM workload.

``data/sentences.txt`` holds 64 English sentences written for this project: 16 topics
x 4 paraphrases, one sentence per line, the 4 paraphrases of a topic on consecutive
lines (sentence ``j`` belongs to topic ``j // SENTENCES_PER_TOPIC``). Under the exact
model the nearest neighbour of a sentence is a paraphrase of it, so nearest-neighbour
retrieval is meaningful, and :func:`compare_embeddings` measures how much of it a
perturbed (e.g. analog) forward pass preserves.

Embeddings are (n, D) arrays, one row per sentence; they need not be normalised.
"""
from __future__ import annotations

from importlib.resources import files

import numpy as np

#: Paraphrases per topic in ``data/sentences.txt`` (consecutive lines).
SENTENCES_PER_TOPIC = 4


def load_sentences() -> list[str]:
    """The packaged sentence set (64 str, file order) from ``imcspice.accelerators/data``."""
    text = files("imcspice.accelerators").joinpath("data/sentences.txt").read_text(
        encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def topic_labels(n: int, per_topic: int = SENTENCES_PER_TOPIC) -> np.ndarray:
    """Topic index of each of ``n`` sentences of the packaged set: (n,) int."""
    return np.arange(n) // per_topic


def cosine_matrix(emb: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity (n, n) float64 of the rows of ``emb`` (n, D)."""
    e = np.asarray(emb, dtype=np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    return e @ e.T


def nearest_neighbours(emb: np.ndarray) -> np.ndarray:
    """Index (n,) of each row's most cosine-similar other row (itself excluded).

    Ties go to the lowest index.
    """
    sim = cosine_matrix(emb)
    np.fill_diagonal(sim, -np.inf)
    return sim.argmax(axis=1)


def compare_embeddings(ref: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """How close ``test`` embeddings (n, D) are to ``ref`` embeddings (n, D) of the same sentences.

    Returns
    -------
    ``cosine_mean``, ``cosine_min``
        Mean / minimum over sentences of cos(ref[j], test[j]) (1.0 = same direction).
    ``nn_agreement``
        Fraction of sentences whose nearest neighbour among the *other* sentences
        (by cosine, within each set) is the same sentence under ``test`` as under
        ``ref`` (1.0 = retrieval unchanged).
    """
    ref = np.asarray(ref, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    if ref.ndim != 2 or ref.shape != test.shape:
        raise ValueError(f"ref {ref.shape} and test {test.shape} must be equal (n, D)")
    if ref.shape[0] < 2:
        raise ValueError("need at least 2 sentences for nearest-neighbour agreement")
    num = (ref * test).sum(axis=1)
    den = np.maximum(np.linalg.norm(ref, axis=1) * np.linalg.norm(test, axis=1), 1e-300)
    cos = np.clip(num / den, -1.0, 1.0)
    agree = nearest_neighbours(ref) == nearest_neighbours(test)
    return {
        "cosine_mean": float(cos.mean()),
        "cosine_min": float(cos.min()),
        "nn_agreement": float(agree.mean()),
    }
