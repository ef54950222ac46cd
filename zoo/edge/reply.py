"""A chatbot's greedy reply in plain Python, over its ``encode`` and ``decode_step``
signatures: the LiteRT and ONNX files hold those two, not the search.

``Replier(model).reply(text)`` answers as the export's ``reply_beam(text, 1)`` does: the
same banned ids (padding, unknown, ``[start]``), no word n-gram repeated, a copied word
written as in the message, and the words joined as ``zoo.data.text.join_words`` joins them.
The export's default reply is a beam of 4; a beam in the client is left to the client.
"""

from __future__ import annotations

import numpy as np

from zoo import textrules
from zoo.edge.tokenizer import STANDARDIZATIONS, UNKNOWN, split_whitespace


class Replier:
    """Greedy replies of a chatbot export (``zoo.load``) or converted file (``zoo.edge.load``)."""

    def __init__(self, model):
        from zoo.edge.tokenizer import Tokenizer

        edge = model.config.get("edge", {})
        if edge.get("text") != "chatbot":
            raise ValueError(f"a Replier needs a chatbot export; {model} is not one")
        self.model = model
        self.tokenizer = Tokenizer.from_folder(model.path)
        self.vocab = self.tokenizer.vocabularies["text"]
        self.start, self.end = self.vocab.index(edge["start"]), self.vocab.index(edge["end"])
        self.no_repeat = edge["no_repeat_ngram"]
        self.max_length = model.config["max_length"]

    def reply(self, text: str) -> str:
        source = self.tokenizer.inputs([text])["source"]
        steps = source.shape[1]
        written = split_whitespace(STANDARDIZATIONS["split_edge_punctuation"](text))[:steps]
        encoded = self.model.run_arrays("encode", {"source": source})
        state, keys = encoded["state"], encoded["keys"]
        token, chosen, words = self.start, [], []
        n = self.no_repeat
        for t in range(self.max_length):
            out = self.model.run_arrays(
                "decode_step",
                {
                    "token": np.array([token], np.int64),
                    "state": state,
                    "keys": keys,
                    "source": source,
                },
            )
            state, probs = out["next_state"], out["probabilities"][0].astype(np.float64)
            vocab_size = len(probs) - steps  # then one copy id per message word
            allowed = np.ones(len(probs), bool)
            allowed[[0, UNKNOWN, self.start]] = False
            allowed[len(self.vocab) : vocab_size] = False
            with np.errstate(divide="ignore"):
                logp = np.where(allowed, np.log(probs), -np.inf)
            for j in range(max(0, t - n + 1)):  # no word n-gram repeats
                if n > 1 and chosen[j : j + n - 1] == chosen[t - n + 1 : t]:
                    logp[chosen[j + n - 1]] = -np.inf
            best = int(np.argmax(logp))
            chosen.append(best)
            if best == self.end:
                break
            if best >= vocab_size:  # a copied word: written as in the message, fed back as its id
                position = min(best - vocab_size, steps - 1)
                words.append(written[position] if position < len(written) else "")
                token = int(source[0, position])
            else:
                words.append(self.vocab[best])
                token = best
        return join_words(words)


def join_words(tokens) -> str:
    """``zoo.data.text.join_words`` for one reply: closing marks attach to the word before
    them, opening ones to the word after them."""
    import regex

    closing, opening = regex.compile(textrules.CLOSING), regex.compile(textrules.OPENING)
    out, after_opening = [], False
    for token in (t for t in tokens if t):
        if out and not closing.fullmatch(token) and not after_opening:
            out.append(" ")
        out.append(token)
        after_opening = bool(opening.fullmatch(token))
    return "".join(out)
