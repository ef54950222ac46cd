"""Reply search inside the graph: greedy, beam (GNMT length penalty, n-gram guard) and sampled.

One implementation for the chatbot's export signatures and for its BLEU in evaluation.
"""

from __future__ import annotations

from zoo.tasks.common import choose_next
from zoo.tasks.dialogue.models import decode_step, encode

# Beams compare log-probability / ((5 + length) / 6) ** LENGTH_PENALTY (GNMT's length
# penalty, Wu et al. 2016). GNMT's 0.6 left replies at 0.69 of the reference length on
# validation pairs of real dialogue (sgd_dev); 2.0 matched it (1.01) and gave the best
# validation BLEU of 0.6, 1.5, 2.0 and 3.0.
LENGTH_PENALTY = 2.0
NO_REPEAT_NGRAM = 3  # no hypothesis repeats a word trigram
REPLY_BEAM_WIDTH = 4  # the default reply's beam (exports' ``reply``, evaluation's BLEU)


def reply_search(
    model,
    vectorizer,
    max_length: int,
    *,
    length_penalty: float = LENGTH_PENALTY,
    no_repeat_ngram: int = NO_REPEAT_NGRAM,
):
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

    from zoo.data.text import END, START, join_words
    from zoo.tasks.dialogue.data import words
    from zoo.textrules import UNKNOWN_ID

    vocab = [str(token) for token in vectorizer.get_vocabulary()]
    missing = [t for t in (START, END) if t not in vocab]
    if missing:
        raise ValueError(
            f"the vocabulary lacks {missing}; the chatbot's data pipeline reserves them"
        )
    vocab_size = model.get_layer("logits").units
    if len(vocab) > vocab_size:
        raise ValueError(f"the vocabulary has {len(vocab)} tokens but the model only {vocab_size}")
    start, end = vocab.index(START), vocab.index(END)
    table = tf.constant(vocab + [""] * (vocab_size - len(vocab)))
    banned = tf.constant(
        [i in (0, UNKNOWN_ID, start) or i >= len(vocab) for i in range(vocab_size)]
    )

    def penalty(length):
        return ((5.0 + tf.cast(length, tf.float32)) / 6.0) ** length_penalty

    def decode(text, width, temperature=None, seed=None):
        ids = tf.cast(vectorizer(text)[:, :max_length], tf.int64)
        ids = tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])
        batch, steps = tf.shape(ids)[0], tf.shape(ids)[1]
        source_words = words(text).to_tensor("")[:, :steps]
        source_words = tf.pad(
            source_words, [[0, 0], [0, steps - tf.shape(source_words)[1]]], constant_values=""
        )
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
            logp = _block_repeats(tf.reshape(logp, [batch, width, size]), seqs, t, no_repeat_ngram)
            logp = tf.where(finished[..., None], pad_only, logp)
            grown = lengths + tf.cast(~finished, tf.int32)
            if temperature is None:
                total = scores[..., None] + logp
                ranked = total / penalty(grown)[..., None]
                _, index = tf.math.top_k(tf.reshape(ranked, [batch, width * size]), width)
                beam, chosen = index // size, tf.cast(index % size, tf.int64)
                scores = tf.gather(tf.reshape(total, [batch, width * size]), index, batch_dims=1)
            else:
                chosen = tf.reshape(
                    choose_next(tf.reshape(logp, [-1, size]), temperature, seed, t), [batch, width]
                )
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
            token = tf.where(
                chosen >= vocab_size, tf.gather(source, position, batch_dims=1), chosen
            )
            return t + 1, token, states, scores, lengths, seqs, finished

        _, _, _, scores, lengths, seqs, _ = tf.while_loop(
            lambda t, *rest: (t < max_length) & ~tf.reduce_all(rest[-1]),
            body,
            (tf.constant(0), token, states, scores, lengths, seqs, finished),
        )
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
        words_of = tf.where(
            best >= vocab_size,
            tf.gather(source_words, position, batch_dims=1),
            tf.gather(table, tf.minimum(best, vocab_size - 1)),
        )
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
        match &= tf.equal(seqs[:, :, k : length - n + 1 + k], last[..., None])
    match &= (tf.range(length - n + 1) + n - 1 < t)[None, None, :]
    where = tf.where(match)  # (batch, beam, j)
    repeated = tf.gather_nd(seqs, tf.concat([where[:, :2], where[:, 2:] + n - 1], axis=1))
    index = tf.concat([where[:, :2], repeated[:, None]], axis=1)
    return tf.tensor_scatter_nd_update(logp, index, tf.fill([tf.shape(index)[0]], -float("inf")))
