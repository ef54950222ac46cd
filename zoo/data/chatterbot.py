"""The ``chatterbot`` tfds dataset: English small-talk pairs, prepared offline.

Reads the dialogue YAML files of the installed ``chatterbot-corpus`` package
(``chatterbot_corpus/data/english/*.yml``, each a list of ``conversations``)
and pairs every turn with the one that follows it as (context, response).
Each conversation lands wholly in one split, chosen by a hash of its text, so
the splits never change and never share a conversation.
"""

from __future__ import annotations

import zlib
from importlib.resources import files

import tensorflow_datasets as tfds
import yaml


def split_of(turns) -> str:
    """``"test"``, ``"validation"`` or ``"train"`` (1:1:8), by a CRC-32 of the conversation."""
    bucket = zlib.crc32("\n".join(turns).encode("utf-8")) % 10
    return {0: "test", 1: "validation"}.get(bucket, "train")


class Chatterbot(tfds.core.GeneratorBasedBuilder):
    """English conversations of chatterbot-corpus as (context, response) pairs."""

    name = "chatterbot"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "English conversations of chatterbot-corpus 1.x."}

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "context": tfds.features.Text(),
                    "response": tfds.features.Text(),
                }
            ),
            supervised_keys=("context", "response"),
            homepage="https://github.com/gunthercox/chatterbot-corpus",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # The corpus is installed with its package; nothing to download.
        conversations = {"train": [], "validation": [], "test": []}
        english = files("chatterbot_corpus") / "data" / "english"
        for path in sorted(english.iterdir(), key=lambda p: p.name):
            if not path.name.endswith(".yml"):
                continue
            corpus = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for number, turns in enumerate(corpus.get("conversations") or []):
                turns = [str(turn).strip() for turn in turns]
                key = f"{path.name[: -len('.yml')]}-{number}"
                conversations[split_of(turns)].append((key, turns))
        return {split: self._generate_examples(items) for split, items in conversations.items()}

    def _generate_examples(self, conversations):
        for key, turns in conversations:
            for i, (context, response) in enumerate(zip(turns, turns[1:])):
                yield f"{key}-{i}", {"context": context, "response": response}
