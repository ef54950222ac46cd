"""Versioned, atomic SavedModel exports that take raw strings.

``export_model`` writes ``<base_dir>/<name>/<version>/``, the layout TensorFlow Serving
reads. Each export wraps the trained ``TextVectorization`` layers around a portable twin
of the model (rebuilt with ``use_cudnn=False``, so no CudnnRNN op is baked in and an
export made on a GPU loads on a CPU-only server), and adds the task's endpoints:

``text-classification``
    ``serving_default(text)`` -> ``label`` (string), ``class_id`` (int64),
    ``probabilities`` (float32, [batch, classes]).
``language-modeling``
    ``serving_default(text)`` -> the ``DEFAULT_TOP_K`` likeliest next tokens, as
    ``next_words(text, k)`` -> ``tokens`` (string, [batch, k]), ``probabilities``;
    ``generate(prompt, max_length, temperature, seed)`` -> ``text`` (prompt and
    continuation) and ``continuation``. An empty prompt starts from the padding id.
``dialogue``
    ``serving_default(text)`` and ``reply(text)`` -> ``reply`` (beam search of width 4,
    log-probability over GNMT's length penalty); ``reply_beam(text, beam_width)`` (width
    1 is greedy); ``reply_sampled(text, temperature, seed)``. No reply repeats a
    word trigram; replies stop at ``[end]``, cased and detokenized, with names copied
    from the message (``seq2seq.reply_search``, shared with evaluation).

Text inputs are batches of strings (``[None]``); the other inputs are scalars shared by
the batch. TensorFlow Serving's row format (``"instances"``) needs every input batched,
so against TF Serving itself call signatures with scalars in the columnar format
(``{"inputs": {"prompt": [...], "max_length": 50, ...}}``). ``zoo serve`` accepts both
and fills missing scalars from the defaults recorded in ``assets/config.json``.

Decoding runs inside the graph: ``tf.while_loop``s carry the recurrent states, one cell
call per token (``language_model.step``, ``seq2seq.decode_step``). Temperature 0 decodes
greedily; sampling uses ``tf.random.stateless_categorical`` seeded with ``(seed, step)``,
so a seed always gives the same text. Padding, ``[UNK]`` and ``[start]`` are never emitted.
Out-of-range settings fail in-graph checks (``InvalidArgumentError`` naming the setting).

``assets/`` holds ``model_card.json``, ``config.json`` (settings, recipe config, limits,
signature defaults), ``vocabulary.json`` (per vectorizer), ``metrics.json`` and, for
classifiers, ``labels.json``: copying a version directory copies its metadata.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path

from zoo.models.common import check_int, choose_next
from zoo.registry import build, model_card

DEFAULT_MAX_LENGTH = 256
DEFAULT_TOP_K = 5
MAX_GENERATED_TOKENS = 1000
MAX_BEAM_WIDTH = 16
SPECIAL_TOKENS = ("", "[UNK]")  # TextVectorization's padding and out-of-vocabulary tokens
SIGNATURE_DEFAULTS = {
    "next_words": {"k": DEFAULT_TOP_K},
    "generate": {"max_length": 100, "temperature": 1.0, "seed": 0},
    "reply_sampled": {"temperature": 1.0, "seed": 0},
    "reply_beam": {"beam_width": 4},
}


def export_model(model, *, name: str, settings: dict, vectorizers: dict, labels=None,
                 config=None, metrics=None, base_dir="saved_models", version: int | None = None,
                 max_length: int | None = None) -> Path:
    """Export ``model`` with its vectorizers as ``<base_dir>/<name>/<version>/``; return that path.

    ``settings`` are the builder overrides ``model`` was built with (they rebuild the
    portable twin). ``vectorizers``, ``labels`` follow ``zoo.data.TaskData``. ``version``
    defaults to the next free integer; an existing version is a ``ValueError``.
    ``max_length`` caps the tokens read from each input text (classifiers and chatbot keep
    the first ones, language models the last ones) and the tokens of a chatbot reply.

    The SavedModel is written to a dot-prefixed directory beside its final place, flushed
    and renamed into place, so a crash never leaves a partial version (servers skip dot
    names). Built with ``keras.export.ExportArchive``, which tracks the vectorizers' lookup
    tables and makes each endpoint a signature with named inputs and outputs; it traces
    without autograph, hence the explicit ``tf.while_loop``s.
    """
    import keras

    task = model_card(name).task
    if max_length is None:
        max_length = DEFAULT_MAX_LENGTH
    max_length = check_int("max_length", max_length, 1)
    model_dir = Path(base_dir) / name
    version = _free_version(model_dir, version)

    twin = portable_twin(model, name, settings)
    endpoints, details = _ENDPOINTS[task](twin, vectorizers, labels, max_length)
    labels = details.pop("labels", None)
    archive = keras.export.ExportArchive()
    archive.track(twin)
    for vectorizer in vectorizers.values():
        vectorizer.build()  # adapt() leaves it unbuilt; track() wants it built (a no-op)
        archive.track(vectorizer)  # its lookup table
    for endpoint, (fn, specs) in endpoints.items():
        archive.add_endpoint(endpoint, fn, input_signature=specs)

    assets = {
        "model_card.json": model_card(name).to_dict(),
        "config.json": {
            "name": name, "task": task, "version": version, "settings": settings,
            "recipe_config": _plain(config), "max_length": max_length, **details,
            "signature_defaults": {k: v for k, v in SIGNATURE_DEFAULTS.items() if k in endpoints},
            "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "versions": _library_versions(),
        },
        "vocabulary.json": {key: _vocabulary(v) for key, v in vectorizers.items()},
        "metrics.json": _plain(metrics) or {},
    }
    if labels is not None:
        assets["labels.json"] = labels

    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.partial-", dir=model_dir))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; servers may run as another user
        archive.write_out(str(staging), verbose=False)
        (staging / "assets").mkdir(exist_ok=True)
        for filename, content in assets.items():
            (staging / "assets" / filename).write_text(json.dumps(content, indent=2, default=str))
        _sync(staging)
        final = model_dir / str(version)
        if final.exists():
            raise ValueError(f"{final} appeared while exporting; nothing was overwritten")
        os.rename(staging, final)
        _sync(model_dir, recursive=False)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def portable_twin(model, name: str, settings: dict, compile: bool = False):
    """``model`` rebuilt with ``use_cudnn=False`` in float32, with the same weights.

    The twin's graph has no CudnnRNN ops and no float16 compute (mixed precision keeps
    float32 weights), so it runs on any CPU server.
    """
    import keras

    settings = {k: v for k, v in settings.items() if k not in ("use_cudnn", "compile")}
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        twin = build(name, **settings, use_cudnn=False, compile=compile)
    finally:
        keras.config.set_dtype_policy(policy)
    try:
        twin.set_weights(model.get_weights())
    except ValueError as err:
        raise ValueError(f"settings {settings} do not rebuild the exported model: {err}") from err
    return twin


def versions(model_dir) -> list[int]:
    """The integer versions present in a model directory, ascending (dot-names skipped)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def _sync(path: Path, recursive: bool = True):
    """Flush files and directories to disk, so a rename never publishes unwritten data."""
    for folder, _, files in os.walk(path) if recursive else [(path, [], [])]:
        for target in [*(os.path.join(folder, f) for f in files), folder]:
            fd = os.open(target, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _free_version(model_dir: Path, version) -> int:
    present = versions(model_dir)
    if version is None:
        return (present[-1] + 1) if present else 1
    version = check_int("version", version, 1)
    if version in present:
        raise ValueError(f"{model_dir / str(version)} already exists; pick another version")
    return version


# ---------------------------------------------------------------- endpoints per task


def _classifier_endpoints(model, vectorizers, labels, max_length):
    import tensorflow as tf

    vectorizer = _vectorizer(vectorizers, "text")
    num_classes = model.output_shape[-1]
    labels = [str(i) for i in range(num_classes)] if labels is None else [str(x) for x in labels]
    if len(labels) != num_classes:
        raise ValueError(f"{len(labels)} labels for a model with {num_classes} classes")
    label_table = tf.constant(labels)

    def classify(text):
        ids = _at_least_one_step(vectorizer(text)[:, :max_length])
        probabilities = tf.cast(model(ids, training=False), tf.float32)
        class_id = tf.argmax(probabilities, axis=-1)
        return {"label": tf.gather(label_table, class_id), "class_id": class_id,
                "probabilities": probabilities}

    return {"serving_default": (classify, [_strings()])}, {"labels": labels}


def _language_model_endpoints(model, vectorizers, labels, max_length):
    import tensorflow as tf

    from zoo.models.language_model import initial_states, step

    vectorizer = _vectorizer(vectorizers, "text")
    context = max_length  # prompts keep their last `context` tokens
    level = "char" if vectorizer.get_config().get("split") == "character" else "word"
    separator = "" if level == "char" else " "
    tokens, allowed = _token_tables(_vocabulary(vectorizer), model.output_shape[-1])
    num_allowed = int(sum(allowed))
    allowed = tf.constant(allowed)

    def prime(text):
        """Read each prompt one token per step: (next-token probabilities, states)."""
        ids = tf.RaggedTensor.from_tensor(vectorizer(text), padding=0)[:, -context:]
        # An empty prompt reads one padding id: the distribution after "nothing".
        lengths = tf.maximum(tf.cast(ids.row_lengths(), tf.int32), 1)
        ids = _at_least_one_step(ids.to_tensor())
        states = initial_states(model, tf.shape(ids)[0])
        probs = tf.zeros([tf.shape(ids)[0], model.output_shape[-1]])

        def body(t, probs, states):
            new_probs, new_states = step(model, ids[:, t], states)
            active = (t < lengths)[:, None]
            states = tf.nest.map_structure(lambda new, old: tf.where(active, new, old),
                                           new_states, states)
            return t + 1, tf.where((t == lengths - 1)[:, None], new_probs, probs), states

        _, probs, states = tf.while_loop(lambda t, *_: t < tf.shape(ids)[1], body,
                                         (tf.constant(0), probs, states))
        return probs, states

    def top_words(text, k):
        probs, _ = prime(text)
        values, ids = tf.math.top_k(tf.where(allowed, probs, -1.0), k)
        return {"tokens": tf.gather(tokens, ids), "probabilities": values}

    def serving_default(text):
        return top_words(text, min(DEFAULT_TOP_K, num_allowed))

    def next_words(text, k):
        return top_words(text, _checked(k, (k >= 1) & (k <= num_allowed),
                                        f"k must be an integer in [1, {num_allowed}]"))

    def generate(prompt, max_length, temperature, seed):
        max_length = _checked(max_length, (max_length >= 0) & (max_length <= MAX_GENERATED_TOKENS),
                              f"max_length must be an integer in [0, {MAX_GENERATED_TOKENS}]")
        temperature = _checked_temperature(temperature)
        probs, states = prime(prompt)
        out = tf.zeros([tf.shape(probs)[0], max_length], tf.int64)

        def body(t, probs, states, out):
            token = choose_next(_log_probs(probs, allowed), temperature, seed, t)
            out += tf.one_hot(t, max_length, dtype=tf.int64)[None, :] * token[:, None]
            probs, states = step(model, token, states)
            return t + 1, probs, states, out

        *_, out = tf.while_loop(lambda t, *_: t < max_length, body,
                                (tf.constant(0), probs, states, out))
        continuation = tf.strings.reduce_join(tf.gather(tokens, out), axis=1, separator=separator)
        joint = tf.where((prompt == "") | (continuation == ""), "", separator)
        return {"text": tf.strings.join([prompt, joint, continuation]),
                "continuation": continuation}

    def log_likelihood(text):
        """Each text read whole, state carried: its tokens' total negative log-likelihood
        in nats (every token after the first, given those before) and their count."""
        ids = _at_least_one_step(vectorizer(text))
        targets = ids[:, 1:]
        batch = tf.shape(ids)[0]

        def body(t, states, nats):
            probs, states = step(model, ids[:, t], states)
            chosen = tf.gather(probs, targets[:, t], batch_dims=1)
            nll = -tf.math.log(tf.maximum(tf.cast(chosen, tf.float32), 1e-30))
            return t + 1, states, nats + tf.where(targets[:, t] > 0, nll, 0.0)

        _, _, nats = tf.while_loop(lambda t, *_: t < tf.shape(targets)[1], body,
                                   (tf.constant(0), initial_states(model, batch),
                                    tf.zeros([batch])))
        return {"nats": nats, "tokens": tf.reduce_sum(tf.cast(targets > 0, tf.int64), axis=1)}

    scalar = tf.TensorSpec([], tf.int32)
    return {
        "serving_default": (serving_default, [_strings()]),
        "next_words": (next_words, [_strings(), scalar]),
        "log_likelihood": (log_likelihood, [_strings()]),
        "generate": (generate, [_strings(), scalar, tf.TensorSpec([], tf.float32),
                                tf.TensorSpec([], tf.int64)]),
    }, {"level": level}


def _chatbot_endpoints(model, vectorizers, labels, max_length):
    import tensorflow as tf

    from zoo.models.seq2seq import REPLY_BEAM_WIDTH, reply_search

    search = reply_search(model, _vectorizer(vectorizers, "text"), max_length)

    def reply(text):
        return {"reply": search(text, REPLY_BEAM_WIDTH)["reply"]}

    def reply_sampled(text, temperature, seed):
        return {"reply": search(text, 1, _checked_temperature(temperature), seed)["reply"]}

    def reply_beam(text, beam_width):
        width = _checked(beam_width, (beam_width >= 1) & (beam_width <= MAX_BEAM_WIDTH),
                         f"beam_width must be an integer in [1, {MAX_BEAM_WIDTH}]")
        return {"reply": search(text, width)["reply"]}

    return {
        "reply": (reply, [_strings()]),  # the first endpoint doubles as serving_default
        "reply_sampled": (reply_sampled, [_strings(), tf.TensorSpec([], tf.float32),
                                          tf.TensorSpec([], tf.int64)]),
        "reply_beam": (reply_beam, [_strings(), tf.TensorSpec([], tf.int32)]),
    }, {}


_ENDPOINTS = {
    "text-classification": _classifier_endpoints,
    "language-modeling": _language_model_endpoints,
    "dialogue": _chatbot_endpoints,
}


# ---------------------------------------------------------------- graph pieces


def _strings():
    """A batch of raw strings: the first input of every endpoint."""
    import tensorflow as tf

    return tf.TensorSpec([None], tf.string)


def _at_least_one_step(ids):
    """Right-pad ids to one step at least: an all-empty batch still runs (fully masked)."""
    import tensorflow as tf

    ids = tf.cast(ids, tf.int64)
    return tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])


def _checked(value, ok, message):
    """``value``, once the graph has checked ``ok`` (InvalidArgumentError carrying ``message``)."""
    import tensorflow as tf

    with tf.control_dependencies([tf.debugging.Assert(ok, [message])]):
        return tf.identity(value)


def _checked_temperature(temperature):
    import tensorflow as tf

    return _checked(temperature, tf.math.is_finite(temperature) & (temperature >= 0),
                    "temperature must be a finite number >= 0 (0 decodes greedily)")


def _log_probs(probs, allowed):
    """Log-probabilities with padding, out-of-vocabulary and other excluded ids at -inf."""
    import tensorflow as tf

    return tf.where(allowed, tf.math.log(tf.cast(probs, tf.float32)), -float("inf"))


def _token_tables(vocab, size, exclude=()):
    """Id -> token strings padded to the model's vocabulary size, and which ids may be emitted."""
    import tensorflow as tf

    if len(vocab) > size:
        raise ValueError(f"the vocabulary has {len(vocab)} tokens but the model only {size}")
    banned = set(SPECIAL_TOKENS) | set(exclude)
    allowed = [i < len(vocab) and vocab[i] not in banned for i in range(size)]
    if not any(allowed):
        raise ValueError("the vocabulary has no ordinary tokens to generate")
    return tf.constant(vocab + [""] * (size - len(vocab))), allowed


# ---------------------------------------------------------------- plain-data helpers


def _vectorizer(vectorizers: dict, key: str):
    if key not in vectorizers:
        raise ValueError(f"vectorizers needs a {key!r} entry; got {sorted(vectorizers)}")
    return vectorizers[key]


def _vocabulary(vectorizer) -> list[str]:
    return [str(token) for token in vectorizer.get_vocabulary()]


def _plain(value):
    """Configs may be dataclasses; everything in assets is plain JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _library_versions() -> dict:
    import keras
    import tensorflow as tf

    import zoo

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "zoo": zoo.__version__}
