"""A language model read as a stream: the state after the text so far is kept.

``Stream(model)`` wraps a language-model export loaded with ``zoo.load`` (SavedModel) or
``zoo.edge.load`` (LiteRT, ONNX) and calls its ``step(ids, state)`` signature: each
``feed`` costs only its own tokens, where the ``next_words`` and ``generate`` signatures
read the whole prompt again on every call.

    >>> stream = Stream(zoo.load("saved_models/next_word_rnn"))
    >>> stream.feed("to be or not to").next_words(3)
    >>> stream.generate(20, temperature=0)   # continues, and the state moves on with it
"""

from __future__ import annotations

import numpy as np

from zoo.textrules import SPECIAL_TOKENS


class Stream:
    """One text read so far by a language model: its state and its next-token probabilities."""

    def __init__(self, model):
        from zoo.edge.tokenizer import Tokenizer

        config = model.config
        if "step" not in model.signatures or config.get("edge", {}).get("text") != "language_model":
            raise ValueError(
                f"a Stream needs a language model export with a step signature; {model} has "
                f"{sorted(model.signatures)}"
            )
        self.model = model
        self.tokenizer = Tokenizer.from_folder(model.path)
        self.separator = "" if config.get("level") == "char" else " "
        self.vocabulary = self.tokenizer.vocabularies["text"]
        self.allowed = np.array([t not in SPECIAL_TOKENS for t in self.vocabulary])
        self._emittable = None  # ``allowed`` at the model's output width, once it is known
        self.state = np.zeros([1, config["state_size"]], np.float32)
        self.probabilities = None  # of the next token; None until something is read
        self.tokens_read = 0

    def feed(self, text: str) -> Stream:
        """Read ``text``'s tokens, carrying the state on from what was read before."""
        ids = self.tokenizer.encode(text)
        if ids:
            self._step(ids)
        return self

    def next_words(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` likeliest next tokens and their probabilities (after nothing: the
        distribution after the padding id, as the export's ``next_words("")``)."""
        if not 1 <= k <= int(self.allowed.sum()):
            raise ValueError(f"k must be an integer in [1, {int(self.allowed.sum())}]")
        probs = np.where(self._allowed(), self._next(), -1.0)
        best = np.argsort(-probs, kind="stable")[:k]
        return [(self.vocabulary[i], float(probs[i])) for i in best]

    def generate(self, max_length: int = 100, temperature: float = 1.0, seed: int = 0) -> str:
        """``max_length`` more tokens (the likeliest each time at temperature 0, else sampled
        with numpy seeded by ``seed``), read into the state as they come; their text."""
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0; got {temperature}")
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(max_length):
            logits = np.where(self._allowed(), np.log(np.maximum(self._next(), 1e-30)), -np.inf)
            if temperature == 0:
                token = int(np.argmax(logits))
            else:
                scaled = np.exp((logits - logits.max()) / temperature)
                token = int(rng.choice(len(scaled), p=scaled / scaled.sum()))
            out.append(self.vocabulary[token])
            self._step([token])
        return self.separator.join(out)

    def _next(self) -> np.ndarray:
        if self.probabilities is None:
            self._step([0])
        return self.probabilities

    def _allowed(self) -> np.ndarray:
        if self._emittable is None:
            size = len(self._next())
            self._emittable = np.pad(self.allowed, (0, max(0, size - len(self.allowed))))[:size]
        return self._emittable

    def _step(self, ids) -> None:
        outputs = self.model.run_arrays(
            "step", {"ids": np.asarray([ids], np.int64), "state": self.state}
        )
        self.state, self.probabilities = outputs["next_state"], outputs["probabilities"][0]
        self.tokens_read += len(ids)
