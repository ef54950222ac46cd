"""What several test files share: the repository's root, the flags of a tiny language-model
run, broken and foreign SavedModels, a callback that slows epochs down, a live REST server
on loopback (``live_client``), and tiny untrained
models of every kind with adapted vectorizers, exported once per session (``exports``,
behind conftest's ``exported``). Realistic text for mocked tfds datasets is in
``mock_datasets.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def live_client(app):
    """``app`` served by uvicorn on a free 127.0.0.1 port in a thread; yields an httpx
    client for it, and stops the server afterwards."""
    import httpx
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def tiny_lm_flags(data_dir, run_dir, *extra) -> list[str]:
    """``zoo`` arguments training a tiny stacked_lstm on a prepared tiny_shakespeare."""
    return [
        "train",
        "stacked_lstm",
        "--data-dir",
        str(data_dir),
        "--units",
        "16",
        "--embedding-dim",
        "8",
        "--sequence-length",
        "32",
        "--batch-size",
        "16",
        "--run-dir",
        str(run_dir),
        "--no-export",
        "--verbose",
        "0",
        *extra,
    ]


def broken_copy(good, version_dir) -> Path:
    """A copy of the export ``good`` at ``version_dir`` with its variables gone."""
    import shutil

    shutil.copytree(good, version_dir)
    shutil.rmtree(Path(version_dir) / "variables")
    return Path(version_dir)


def foreign_saved_model(version_dir) -> Path:
    """A valid SavedModel that is not a zoo export (no model card, no config)."""
    import tensorflow as tf

    module = tf.Module()
    module.v = tf.Variable(1.0)
    module.f = tf.function(lambda x: x * module.v, input_signature=[tf.TensorSpec([None])])
    tf.saved_model.save(module, str(version_dir))
    return Path(version_dir)


def slow_epochs(seconds):
    """A callback that makes each epoch last ``seconds`` longer; it keeps the training
    weights of the last epoch end (before any averaged weights are swapped in)."""
    import keras

    class SlowEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.training_weights = self.model.get_weights()
            time.sleep(seconds)

    return SlowEpochs()


SENTENCES = [
    "the cat sat on the mat",
    "a dog ran far away from the house",
    "i loved this movie, what a great story",
    "terrible film with bad acting",
    "what a great day to walk the dog",
]
REPLIES = ["hello there", "i like the cat", "that is a great story", "go away", "good day"]
MAX_LENGTH = {"classifier": 16, "word_lm": 16, "char_lm": 32, "chatbot": 8}
NAMES = {
    "classifier": "sentiment_lstm",
    "word_lm": "next_word_rnn",
    "char_lm": "stacked_lstm",
    "chatbot": "chatbot",
}
LABELS = ["negative", "positive"]


@dataclasses.dataclass
class Made:
    kind: str
    name: str
    model: object
    settings: dict
    vectorizers: dict
    labels: list | None = None


def vectorizer(texts, **kwargs):
    import keras

    layer = keras.layers.TextVectorization(**kwargs)
    layer.adapt(texts)
    return layer


def make(kind: str, use_cudnn="auto", seed: int = 0) -> Made:
    """A tiny model of ``kind`` (classifier, word_lm, char_lm, chatbot) and its vectorizers."""
    import keras

    import zoo

    keras.utils.set_random_seed(seed)
    name, labels = NAMES[kind], None
    if kind == "chatbot":  # one vocabulary for messages and replies, as the recipe makes it
        import tensorflow as tf

        from zoo.data.text import END, START, split_edge_punctuation, word_vectorizer

        text = word_vectorizer(
            100,
            tf.data.Dataset.from_tensor_slices(SENTENCES + REPLIES),
            standardize=split_edge_punctuation,
            reserved=(START, END),
        )
        vectorizers = {"text": text}
        settings = dict(units=8, embedding_dim=8, vocab_size=text.vocabulary_size())
    else:
        kwargs = dict(split="character", standardize=None) if kind == "char_lm" else {}
        vectorizers = {"text": vectorizer(SENTENCES, **kwargs)}
        settings = dict(units=8, embedding_dim=8, vocab_size=vectorizers["text"].vocabulary_size())
        if kind == "classifier":
            labels = LABELS
    model = zoo.build(name, **settings, use_cudnn=use_cudnn)
    if kind == "classifier":  # a linear part with a say: exports must compute its features alike
        import numpy as np

        linear = model.get_layer("ngram_logits")
        rng = np.random.default_rng(seed)
        for weight in (linear.table, linear.log_likelihood):
            weight.assign(rng.normal(scale=0.3, size=weight.shape).astype("float32"))
    return Made(kind, name, model, settings, vectorizers, labels)


def classifier_inputs(made: Made, texts) -> dict:
    """A classifier's inputs for ``texts``, as its data pipeline makes them."""
    import tensorflow as tf

    from zoo.tasks.text_classification.data import linear_features

    texts = tf.constant(texts)
    return {
        "tokens": made.vectorizers["text"](texts)[:, : MAX_LENGTH["classifier"]],
        "ngrams": linear_features(texts, MAX_LENGTH["classifier"]),
    }


def export(made: Made, base_dir, **kwargs) -> Path:
    from zoo.export import export_model

    kwargs.setdefault("max_length", MAX_LENGTH[made.kind])
    return export_model(
        made.model,
        name=made.name,
        settings=made.settings,
        vectorizers=made.vectorizers,
        labels=made.labels,
        base_dir=base_dir,
        config={"note": "tiny test export"},
        metrics={"test": {"loss": 1.0}},
        **kwargs,
    )


_SESSION: dict = {}


def exports(tmp_path_factory) -> dict[str, tuple[Made, Path]]:
    """``{kind: (made, version directory)}`` for every kind, made once per process."""
    if not _SESSION:
        base = tmp_path_factory.mktemp("exports")
        for kind in NAMES:
            made = make(kind)
            _SESSION[kind] = (made, export(made, base))
    return _SESSION


def write_series(path, rows: int = 720, seed: int = 0) -> Path:
    """An hourly CSV series like ETTh1's (``date,load,temp``): a daily cycle, a slow drift
    and noise, so a forecaster can learn more than the last value."""
    import numpy as np

    rng = np.random.default_rng(seed)
    hours = np.arange(rows)
    load = 10 + 3 * np.sin(2 * np.pi * hours / 24) + 0.3 * rng.normal(size=rows)
    temp = 20 + 0.01 * hours + 1.5 * np.cos(2 * np.pi * hours / 24) + 0.2 * rng.normal(size=rows)
    times = np.datetime64("2020-01-01T00:00") + hours.astype("timedelta64[h]")
    lines = ["date,load,temp"] + [
        f"{str(t).replace('T', ' ')}:00,{a:.4f},{b:.4f}" for t, a, b in zip(times, load, temp)
    ]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)
