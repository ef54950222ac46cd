"""Train the BiLSTM sequence tagger on universal_dependencies/en_ewt (UPOS tags)."""

import dataclasses
import sys

from zoo.training import RecipeConfig
from zoo.training import main as train_main


@dataclasses.dataclass
class BiLSTMTaggerRecipe(RecipeConfig):
    """BiLSTM tagger with a character CNN: part-of-speech tags of the English Web Treebank,
    or any column of a CoNLL-U file, or the tags of a token/tag (CoNLL) file."""

    model: str = "bilstm_tagger"
    dataset: str = "universal_dependencies/en_ewt"
    tag_column: str = "upos"
    # Sentences for early stopping (Universal Dependencies' dev file); else a tenth of the
    # train file's sentences are held out for it.
    validation_file: str | None = None
    sequence_length: int = 128  # tokens a sentence keeps (EWT's longest have about 160)
    batch_size: int = 32
    epochs: int = 40
    early_stopping_patience: int = 4
    max_minutes: float | None = 14.0  # data, training, test and export in 15 minutes


def main(argv=None) -> int:
    return train_main(BiLSTMTaggerRecipe, argv)


if __name__ == "__main__":
    sys.exit(main())
