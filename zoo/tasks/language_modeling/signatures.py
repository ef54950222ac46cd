"""The language models' export signatures; generation and scoring run inside the graph.

``serving_default(text)`` -> the ``DEFAULT_TOP_K`` likeliest next tokens, as
``next_words(text, k)`` -> ``tokens`` (string, [batch, k]), ``probabilities``;
``generate(prompt, max_length, temperature, seed)`` -> ``text`` (prompt and continuation)
and ``continuation``; ``log_likelihood(text)`` -> ``nats`` and ``tokens`` of each text read
whole. An empty prompt starts from the padding id. ``tf.while_loop``s carry the recurrent
states, one cell call per token (``models.step``); temperature 0 decodes greedily and
sampling is seeded by ``(seed, step)``; padding and ``[UNK]`` are never emitted.

``step(ids, state)`` -> ``probabilities`` (of the token after the last id) and
``next_state``: the streaming signature, for clients that keep the state between calls
(``zoo.edge.Stream``) and for the LiteRT and ONNX files. ``ids`` is int64 [batch, steps];
``state`` float32 [batch, state_size], every layer's state side by side (zeros to start;
``state_size`` in ``assets/config.json``).
"""

from __future__ import annotations

from zoo.textrules import SPECIAL_TOKENS

LEVELS = ("char", "word")  # what a token is; word exports join tokens with spaces
DEFAULT_TOP_K = 5
MAX_GENERATED_TOKENS = 1000


def language_model_endpoints(model, vectorizers, max_length):
    """``serving_default``, ``next_words``, ``log_likelihood`` and ``generate`` (see above)."""
    import tensorflow as tf

    from zoo.tasks.common import (
        at_least_one_step,
        checked,
        checked_temperature,
        choose_next,
        flat_state,
        initial_states,
        state_size,
        strings_spec,
        text_vectorizer,
        unflat_state,
        vocabulary,
    )
    from zoo.tasks.language_modeling.models import step

    vectorizer = text_vectorizer(vectorizers)
    context = max_length  # prompts keep their last `context` tokens
    level = "char" if vectorizer.get_config().get("split") == "character" else "word"
    separator = "" if level == "char" else " "
    tokens, allowed = token_tables(vocabulary(vectorizer), model.output_shape[-1])
    num_allowed = int(sum(allowed))
    width = state_size(initial_states(model, 1))
    allowed = tf.constant(allowed)

    def prime(text):
        """Read each prompt one token per step: (next-token probabilities, states)."""
        ids = tf.RaggedTensor.from_tensor(vectorizer(text), padding=0)[:, -context:]
        # An empty prompt reads one padding id: the distribution after "nothing".
        lengths = tf.maximum(tf.cast(ids.row_lengths(), tf.int32), 1)
        ids = at_least_one_step(ids.to_tensor())
        states = initial_states(model, tf.shape(ids)[0])
        probs = tf.zeros([tf.shape(ids)[0], model.output_shape[-1]])

        def body(t, probs, states):
            new_probs, new_states = step(model, ids[:, t], states)
            active = (t < lengths)[:, None]
            states = tf.nest.map_structure(
                lambda new, old: tf.where(active, new, old), new_states, states
            )
            return t + 1, tf.where((t == lengths - 1)[:, None], new_probs, probs), states

        _, probs, states = tf.while_loop(
            lambda t, *_: t < tf.shape(ids)[1], body, (tf.constant(0), probs, states)
        )
        return probs, states

    def stream_step(ids, state):
        states = unflat_state(initial_states(model, 1), state)
        probs = tf.zeros([tf.shape(ids)[0], model.output_shape[-1]])

        def body(t, probs, states):
            return (t + 1, *step(model, ids[:, t], states))

        _, probs, states = tf.while_loop(
            lambda t, *_: t < tf.shape(ids)[1], body, (tf.constant(0), probs, states)
        )
        return {"probabilities": tf.cast(probs, tf.float32), "next_state": flat_state(states)}

    def top_words(text, k):
        probs, _ = prime(text)
        values, ids = tf.math.top_k(tf.where(allowed, probs, -1.0), k)
        return {"tokens": tf.gather(tokens, ids), "probabilities": values}

    def serving_default(text):
        return top_words(text, min(DEFAULT_TOP_K, num_allowed))

    def next_words(text, k):
        return top_words(
            text,
            checked(
                k, (k >= 1) & (k <= num_allowed), f"k must be an integer in [1, {num_allowed}]"
            ),
        )

    def generate(prompt, max_length, temperature, seed):
        max_length = checked(
            max_length,
            (max_length >= 0) & (max_length <= MAX_GENERATED_TOKENS),
            f"max_length must be an integer in [0, {MAX_GENERATED_TOKENS}]",
        )
        temperature = checked_temperature(temperature)
        probs, states = prime(prompt)
        out = tf.zeros([tf.shape(probs)[0], max_length], tf.int64)

        def body(t, probs, states, out):
            token = choose_next(log_probs(probs, allowed), temperature, seed, t)
            out += tf.one_hot(t, max_length, dtype=tf.int64)[None, :] * token[:, None]
            probs, states = step(model, token, states)
            return t + 1, probs, states, out

        *_, out = tf.while_loop(
            lambda t, *_: t < max_length, body, (tf.constant(0), probs, states, out)
        )
        continuation = tf.strings.reduce_join(tf.gather(tokens, out), axis=1, separator=separator)
        joint = tf.where((prompt == "") | (continuation == ""), "", separator)
        return {
            "text": tf.strings.join([prompt, joint, continuation]),
            "continuation": continuation,
        }

    def log_likelihood(text):
        """Each text read whole, state carried: its tokens' total negative log-likelihood
        in nats (every token after the first, given those before) and their count."""
        ids = at_least_one_step(vectorizer(text))
        targets = ids[:, 1:]
        batch = tf.shape(ids)[0]

        def body(t, states, nats):
            probs, states = step(model, ids[:, t], states)
            chosen = tf.gather(probs, targets[:, t], batch_dims=1)
            nll = -tf.math.log(tf.maximum(tf.cast(chosen, tf.float32), 1e-30))
            return t + 1, states, nats + tf.where(targets[:, t] > 0, nll, 0.0)

        _, _, nats = tf.while_loop(
            lambda t, *_: t < tf.shape(targets)[1],
            body,
            (tf.constant(0), initial_states(model, batch), tf.zeros([batch])),
        )
        return {"nats": nats, "tokens": tf.reduce_sum(tf.cast(targets > 0, tf.int64), axis=1)}

    scalar = tf.TensorSpec([], tf.int32)
    return {
        "serving_default": (serving_default, [strings_spec()]),
        "next_words": (next_words, [strings_spec(), scalar]),
        "log_likelihood": (log_likelihood, [strings_spec()]),
        "generate": (
            generate,
            [strings_spec(), scalar, tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int64)],
        ),
        "step": (
            stream_step,
            [tf.TensorSpec([None, None], tf.int64), tf.TensorSpec([None, width], tf.float32)],
        ),
    }, {
        "level": level,
        "state_size": width,
        "edge": {"signatures": ["step"], "text": "language_model"},
    }


def log_probs(probs, allowed):
    """Log-probabilities with padding, out-of-vocabulary and other excluded ids at -inf."""
    import tensorflow as tf

    return tf.where(allowed, tf.math.log(tf.cast(probs, tf.float32)), -float("inf"))


def token_tables(vocab, size, exclude=()):
    """Id -> token strings padded to the model's vocabulary size, and which ids may be emitted."""
    import tensorflow as tf

    if len(vocab) > size:
        raise ValueError(f"the vocabulary has {len(vocab)} tokens but the model only {size}")
    banned = set(SPECIAL_TOKENS) | set(exclude)
    allowed = [i < len(vocab) and vocab[i] not in banned for i in range(size)]
    if not any(allowed):
        raise ValueError("the vocabulary has no ordinary tokens to generate")
    return tf.constant(vocab + [""] * (size - len(vocab))), allowed
