"""Encoder-decoder with attention and copying (seq2seq) for replies and other text pairs.

Training uses teacher forcing: the decoder reads the target shifted right
(``[start] w1 w2 ...``) and predicts it shifted left (``w1 w2 ... [end]``).
Source and target share one vocabulary. Each step's distribution covers that
vocabulary and, after it, one id per source position (``vocab_size + i``: copy the
``i``-th source word as written): a pointer-generator (See et al. 2017), so names,
times and numbers the vocabulary lacks can be repeated from the message.
``encode`` and ``decode_step`` reuse the trained layers for step-by-step decoding,
which is how exports and evaluation search replies inside the graph.
"""

from __future__ import annotations

from zoo.cards import ModelCard
from zoo.models.common import (CELLS, check_choice, check_int, check_optional_positive,
                               check_positive, check_rate, choose_next, compile_model,
                               recurrent_layer)
from zoo.registry import register_model

ATTENTION = ("dot", "additive")
UNKNOWN_ID = 1  # TextVectorization's out-of-vocabulary id; 0 is padding


def _num_states(cell: str) -> int:
    return 2 if cell == "lstm" else 1


CHATBOT_CARD = ModelCard(
    name="chatbot",
    task="dialogue",
    architecture="encoder-decoder",
    dataset="schema_guided_dialogue",
    metric="test token accuracy and BLEU",
    recipe="zoo train chatbot",
    num_params=4_363_969,
    anchor="Bahdanau et al. 2015 (RNNsearch): attention encoder-decoder",
    measured="sgd_dev pairs (Schema-Guided Dialogue, through --train-file): BLEU 10.27 "
             "(greedy 8.21; TF-IDF retrieval 7.31), token accuracy 0.384",
    hardware="2 CPU cores (Intel Xeon), no GPU, TensorFlow 2.21.0; 18 epochs, 19 minutes",
)


@register_model(CHATBOT_CARD)
def build_chatbot(*, vocab_size: int = 8000, embedding_dim: int = 128, units: int = 256,
                  cell: str = "gru", bidirectional: bool = True, attention: str = "additive",
                  dropout: float = 0.2, learning_rate: float = 1e-3,
                  clipnorm: float | None = 1.0, ema_momentum: float | None = None,
                  compile: bool = True, use_cudnn="auto"):
    """Encoder-decoder with attention and a copy mechanism, trained with teacher forcing.

    Inputs: ``source`` and ``target_in`` token ids (batch, steps), right-padded with 0,
    in one shared vocabulary of ``vocab_size`` ids (1 is out-of-vocabulary). Output:
    probabilities over ``vocab_size + source_steps`` ids at each target step, where
    ``vocab_size + i`` copies source word ``i`` (only out-of-vocabulary words need it:
    the copy probability of a known word is added to its vocabulary id).
    ``ema_momentum`` keeps a moving average of the weights (None or 0: off), which
    recipes validate and export.
    """
    import keras

    check_int("vocab_size", vocab_size, 4)
    check_int("embedding_dim", embedding_dim, 1)
    check_int("units", units, 1)
    check_choice("cell", cell, CELLS)
    check_choice("attention", attention, ATTENTION)
    check_rate("dropout", dropout)
    check_positive("learning_rate", learning_rate)
    check_optional_positive("clipnorm", clipnorm)
    if ema_momentum is not None:
        check_rate("ema_momentum", ema_momentum)

    source = keras.Input(shape=(None,), dtype="int64", name="source")
    target_in = keras.Input(shape=(None,), dtype="int64", name="target_in")
    embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                       name="embedding")

    # Encoder: (bi)recurrent over the source; its final states seed the decoder.
    x = keras.layers.Dropout(dropout, name="encoder_dropout")(embedding(source))
    rnn = recurrent_layer(cell, units, return_sequences=True, return_state=True,
                          name="encoder_rnn", use_cudnn=use_cudnn)
    if bidirectional:
        rnn = keras.layers.Bidirectional(rnn, name="encoder_birnn")
    encoded, *states = rnn(x)
    n = _num_states(cell)
    if bidirectional:
        # [fwd states..., bwd states...] -> one state per kind, projected to `units`.
        states = [
            keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}")(
                keras.layers.Concatenate(name=f"bridge_concat_{i}")([states[i], states[n + i]]))
            for i in range(n)
        ]
    keys = keras.layers.Dense(units, use_bias=False, name="attention_keys")(encoded)

    # Decoder: recurrent over the shifted target, attending over the encoder outputs.
    y_in = keras.layers.Dropout(dropout, name="decoder_dropout")(embedding(target_in))
    y, *_ = recurrent_layer(cell, units, return_sequences=True, return_state=True,
                            name="decoder_rnn", use_cudnn=use_cudnn)(y_in, initial_state=states)
    probs = _decoder_head(_new_head(keras, attention, units, vocab_size), y, y_in, keys,
                          source)
    model = keras.Model([source, target_in], probs, name="chatbot")
    if compile:
        compile_model(model, learning_rate=learning_rate, clipnorm=clipnorm, ignore_class=0,
                      ema_momentum=ema_momentum,
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")])
    return model


HEAD = ("attention", "attention_combine", "logits", "vocabulary_softmax", "generate_gate",
        "copy")


def _new_head(keras, attention, units, vocab_size):
    from zoo.models.pointer import CopyDistribution

    return {
        "attention": (keras.layers.Attention if attention == "dot"
                      else keras.layers.AdditiveAttention)(name="attention"),
        # Linear: a tanh here saturates in Adam's first steps and the decoder never
        # learns past the unigram distribution (tests/test_chatbot.py).
        "attention_combine": keras.layers.Dense(units, name="attention_combine"),
        "logits": keras.layers.Dense(vocab_size, name="logits"),
        "vocabulary_softmax": keras.layers.Activation("softmax", dtype="float32",
                                                      name="vocabulary_softmax"),
        "generate_gate": keras.layers.Dense(1, activation="sigmoid", dtype="float32",
                                            name="generate_gate"),
        "copy": CopyDistribution(dtype="float32", name="copy"),
    }


def _decoder_head(head, y, y_in, keys, source, key_mask=None):
    """From decoder outputs ``y`` (and inputs ``y_in``) to probabilities over vocabulary + copies.

    Luong-style attention over the encoder ``keys`` gives a context; the vocabulary
    distribution comes from decoder output and context, and a gate (See et al.'s
    p_gen) shares the mass between generating and copying along the attention.
    """
    import keras

    masks = None if key_mask is None else [None, key_mask]
    context, attention = head["attention"]([y, keys], mask=masks, return_attention_scores=True)
    combined = head["attention_combine"](keras.ops.concatenate([y, context], axis=-1))
    vocabulary = head["vocabulary_softmax"](head["logits"](combined))
    gate = head["generate_gate"](keras.ops.concatenate([y, context, y_in], axis=-1))
    return head["copy"]([vocabulary, gate, attention, source])


def encode(model, source):
    """Run the trained encoder: returns (keys, key_mask, decoder initial states)."""
    import keras

    mask = keras.ops.not_equal(source, 0)
    x = model.get_layer("embedding")(source)
    rnn = _get_any(model, "encoder_birnn", "encoder_rnn")
    encoded, *states = rnn(x, mask=mask)
    bidirectional = rnn.name == "encoder_birnn"
    if bidirectional:
        n = len(states) // 2
        states = [model.get_layer(f"bridge_{i}")(
            keras.ops.concatenate([states[i], states[n + i]], axis=-1)) for i in range(n)]
    keys = model.get_layer("attention_keys")(encoded)
    return keys, mask, states


def decode_step(model, token, states, keys, key_mask, source):
    """One decoder step: ``token`` (batch,) -> (probabilities (batch, vocab + source steps),
    new states).

    Calls the decoder's recurrent cell directly, so a decoding loop carries the
    state from step to step instead of rerunning the whole target. ``token`` must
    be a vocabulary id: a copied word is fed back as its id in ``source``.
    """
    import keras

    # Look the embedding up directly: the layer would attach a padding mask the cell can't use.
    y_in = keras.ops.take(model.get_layer("embedding").embeddings, token, axis=0)
    out, states = model.get_layer("decoder_rnn").cell(y_in, states, training=False)
    head = {name: model.get_layer(name) for name in HEAD}
    probs = _decoder_head(head, out[:, None, :], y_in[:, None, :], keys, source, key_mask)
    return probs[:, 0, :], list(states) if isinstance(states, (list, tuple)) else [states]


def _get_any(model, *names):
    for name in names:
        try:
            return model.get_layer(name)
        except ValueError:
            continue
    raise ValueError(f"model {model.name!r} has none of the layers {names}")


# Beams compare log-probability / ((5 + length) / 6) ** LENGTH_PENALTY (GNMT's length
# penalty, Wu et al. 2016). GNMT's 0.6 left replies at 0.69 of the reference length on
# validation pairs of real dialogue (sgd_dev); 2.0 matched it (1.01) and gave the best
# validation BLEU of 0.6, 1.5, 2.0 and 3.0.
LENGTH_PENALTY = 2.0
NO_REPEAT_NGRAM = 3   # no hypothesis repeats a word trigram
REPLY_BEAM_WIDTH = 4  # the default reply's beam (exports' ``reply``, evaluation's BLEU)


def reply_search(model, vectorizer, max_length: int, *, length_penalty: float = LENGTH_PENALTY,
                 no_repeat_ngram: int = NO_REPEAT_NGRAM):
    """``search(text, width, temperature=None, seed=None)``: replies decoded inside the graph.

    One implementation for exports (greedy, beam and sampled signatures) and for
    evaluation. ``text`` is a batch of raw strings; the message keeps its first
    ``max_length`` words and the reply has at most ``max_length``. Width 1 is greedy;
    a wider beam keeps the ``width`` best hypotheses by log-probability divided by
    GNMT's length penalty, so short replies are not favoured for being short, and
    answers greedy's reply where that one scores higher (pruned on the way); with
    ``temperature`` each of ``width`` rows samples (seeded by ``(seed, step)``). No
    hypothesis repeats a ``no_repeat_ngram``-gram of words. Padding, out-of-vocabulary
    and ``[start]`` ids are never emitted; a copy id emits the message word as written.
    Returns ``reply`` (the best hypothesis, detokenized), its extended ``ids`` (batch,
    steps) and ``score`` (log-probability under the model, length-normalized).
    """
    import tensorflow as tf

    from zoo.data.dialogue import words
    from zoo.data.text import END, START, join_words

    vocab = [str(token) for token in vectorizer.get_vocabulary()]
    missing = [t for t in (START, END) if t not in vocab]
    if missing:
        raise ValueError(f"the vocabulary lacks {missing}; the chatbot's data pipeline "
                         "reserves them")
    vocab_size = model.get_layer("logits").units
    if len(vocab) > vocab_size:
        raise ValueError(f"the vocabulary has {len(vocab)} tokens but the model only {vocab_size}")
    start, end = vocab.index(START), vocab.index(END)
    table = tf.constant(vocab + [""] * (vocab_size - len(vocab)))
    banned = tf.constant([i in (0, UNKNOWN_ID, start) or i >= len(vocab)
                          for i in range(vocab_size)])

    def penalty(length):
        return ((5.0 + tf.cast(length, tf.float32)) / 6.0) ** length_penalty

    def decode(text, width, temperature=None, seed=None):
        ids = tf.cast(vectorizer(text)[:, :max_length], tf.int64)
        ids = tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])
        batch, steps = tf.shape(ids)[0], tf.shape(ids)[1]
        source_words = words(text).to_tensor("")[:, :steps]
        source_words = tf.pad(source_words, [[0, 0], [0, steps - tf.shape(source_words)[1]]],
                              constant_values="")
        size = vocab_size + steps  # vocabulary, then one copy id per message word
        # Copy ids carry probability only for unknown words: log 0 bans the others.
        allowed = tf.concat([~banned, tf.ones([steps], tf.bool)], 0)
        pad_only = tf.concat([[0.0], tf.fill([size - 1], -float("inf"))], 0)

        keys, key_mask, states = encode(model, ids)
        beams = lambda x: tf.repeat(x, width, axis=0)  # noqa: E731  (batch * width rows)
        keys, key_mask, source = beams(keys), beams(key_mask), beams(ids)
        states = [beams(s) for s in states]
        scores = tf.tile(tf.where(tf.range(width) == 0, 0.0, -float("inf"))[None, :], [batch, 1])
        lengths = tf.zeros([batch, width], tf.int32)
        seqs = tf.zeros([batch, width, max_length], tf.int64)
        finished = tf.zeros([batch, width], tf.bool)
        token = tf.fill([batch * width], tf.constant(start, tf.int64))

        def body(t, token, states, scores, lengths, seqs, finished):
            probs, states = decode_step(model, token, states, keys, key_mask, source)
            logp = tf.where(allowed, tf.math.log(tf.cast(probs, tf.float32)), -float("inf"))
            logp = _block_repeats(tf.reshape(logp, [batch, width, size]), seqs, t,
                                  no_repeat_ngram)
            logp = tf.where(finished[..., None], pad_only, logp)
            grown = lengths + tf.cast(~finished, tf.int32)
            if temperature is None:
                total = scores[..., None] + logp
                ranked = total / penalty(grown)[..., None]
                _, index = tf.math.top_k(tf.reshape(ranked, [batch, width * size]), width)
                beam, chosen = index // size, tf.cast(index % size, tf.int64)
                scores = tf.gather(tf.reshape(total, [batch, width * size]), index, batch_dims=1)
            else:
                chosen = tf.reshape(choose_next(tf.reshape(logp, [-1, size]), temperature,
                                                seed, t), [batch, width])
                scores += tf.gather(logp, chosen, batch_dims=2)
                beam = tf.broadcast_to(tf.range(width), [batch, width])
            seqs = tf.gather(seqs, beam, batch_dims=1)
            seqs += tf.one_hot(t, max_length, dtype=tf.int64)[None, None, :] * chosen[..., None]
            finished = tf.gather(finished, beam, batch_dims=1) | (chosen == end)
            lengths = tf.gather(grown, beam, batch_dims=1)
            rows = tf.reshape(beam + width * tf.range(batch)[:, None], [-1])
            states = [tf.gather(s, rows) for s in states]
            chosen = tf.reshape(chosen, [-1])
            # A copied word is fed back as its id in the message (out-of-vocabulary).
            position = tf.clip_by_value(chosen - vocab_size, 0, tf.cast(steps, tf.int64) - 1)
            token = tf.where(chosen >= vocab_size,
                             tf.gather(source, position, batch_dims=1), chosen)
            return t + 1, token, states, scores, lengths, seqs, finished

        _, _, _, scores, lengths, seqs, _ = tf.while_loop(
            lambda t, *rest: (t < max_length) & ~tf.reduce_all(rest[-1]), body,
            (tf.constant(0), token, states, scores, lengths, seqs, finished))
        # top_k keeps beams sorted: the first is the best.
        return seqs[:, 0, :], scores[:, 0] / penalty(lengths[:, 0]), source_words

    def search(text, width, temperature=None, seed=None):
        best, score, source_words = decode(text, width, temperature, seed)
        if temperature is None and not (isinstance(width, int) and width == 1):
            # A beam can prune the greedy path on the way; it never answers worse than it.
            greedy, greedy_score, _ = decode(text, 1)
            better = greedy_score > score
            best = tf.where(better[:, None], greedy, best)
            score = tf.where(better, greedy_score, score)
        steps = tf.shape(source_words)[1]
        position = tf.clip_by_value(best - vocab_size, 0, tf.cast(steps, tf.int64) - 1)
        words_of = tf.where(best >= vocab_size, tf.gather(source_words, position, batch_dims=1),
                            tf.gather(table, tf.minimum(best, vocab_size - 1)))
        words_of = tf.where((best == 0) | (best == end), "", words_of)
        return {"reply": join_words(words_of), "ids": best, "score": score}

    return search


def _block_repeats(logp, seqs, t, n):
    """``logp`` (batch, beams, ids) with -inf for each id that would repeat an n-gram of ``seqs``."""
    import tensorflow as tf

    if n < 1:
        return logp
    length = seqs.shape[-1]
    if length < n:
        return logp
    # Windows j: seqs[j : j + n - 1] equals the last n - 1 ids, and j + n - 1 < t.
    match = tf.ones(tf.shape(seqs[:, :, : length - n + 1]), tf.bool)
    for k in range(n - 1):
        last = tf.gather(seqs, tf.maximum(t - (n - 1) + k, 0), axis=2)
        match &= tf.equal(seqs[:, :, k: length - n + 1 + k], last[..., None])
    match &= (tf.range(length - n + 1) + n - 1 < t)[None, None, :]
    where = tf.where(match)  # (batch, beam, j)
    repeated = tf.gather_nd(seqs, tf.concat([where[:, :2], where[:, 2:] + n - 1], axis=1))
    index = tf.concat([where[:, :2], repeated[:, None]], axis=1)
    return tf.tensor_scatter_nd_update(logp, index,
                                       tf.fill([tf.shape(index)[0]], -float("inf")))
