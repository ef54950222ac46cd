"""The sequence tagger's parts: CoNLL readers, the linear-chain CRF and the tagging metrics."""

from __future__ import annotations

import itertools
import math
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.data.conll import read_conllu, read_tagged, read_two_column, tag_scheme
from zoo.tasks.sequence_tagging.crf import CRF, CRFLoss
from zoo.tasks.sequence_tagging.metrics import per_tag_scores, span_f1, spans, token_accuracy


def conllu_line(*fields) -> str:
    return "\t".join(map(str, fields))


# Two sentences; the first with a multiword token (2-3) and an empty node (8.1), the second
# with an unknown XPOS (_) and no blank line after it.
CONLLU = "\n".join(
    [
        "# sent_id = 1",
        "# text = I don't see it, do you?",
        conllu_line(1, "I", "I", "PRON", "PRP", "Case=Nom", 4, "nsubj", "_", "_"),
        conllu_line("2-3", "don't", "_", "_", "_", "_", "_", "_", "_", "_"),
        conllu_line(2, "do", "do", "AUX", "VBP", "_", 4, "aux", "_", "_"),
        conllu_line(3, "n't", "not", "PART", "RB", "_", 4, "advmod", "_", "_"),
        conllu_line(4, "see", "see", "VERB", "VB", "_", 0, "root", "_", "_"),
        conllu_line(5, "it", "it", "PRON", "PRP", "_", 4, "obj", "_", "_"),
        conllu_line(6, ",", ",", "PUNCT", ",", "_", 4, "punct", "_", "_"),
        conllu_line(7, "do", "do", "AUX", "VBP", "_", 4, "parataxis", "_", "_"),
        conllu_line(8, "you", "you", "PRON", "PRP", "_", 7, "nsubj", "_", "_"),
        conllu_line("8.1", "see", "see", "VERB", "VB", "_", "_", "_", "7:conj", "_"),
        conllu_line(9, "?", "?", "PUNCT", ".", "_", 4, "punct", "_", "_"),
        "",
        "# sent_id = 2",
        conllu_line(1, "Hi", "hi", "INTJ", "_", "_", 0, "root", "_", "SpaceAfter=No"),
        conllu_line(2, "!", "!", "PUNCT", ".", "_", 1, "punct", "_", "_"),
    ]
)

FIRST_WORDS = ["I", "do", "n't", "see", "it", ",", "do", "you", "?"]

CONLL2003 = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
"""


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --- readers -----------------------------------------------------------------------------------


def test_conllu_words_skip_multiword_tokens_and_empty_nodes(tmp_path):
    path = write(tmp_path, "sample.conllu", CONLLU)
    assert read_conllu(path) == [
        (FIRST_WORDS, ["PRON", "AUX", "PART", "VERB", "PRON", "PUNCT", "AUX", "PRON", "PUNCT"]),
        (["Hi", "!"], ["INTJ", "PUNCT"]),
    ]
    xpos = read_conllu(path, tag_column="XPOS")
    assert xpos[0][1] == ["PRP", "VBP", "RB", "VB", "PRP", ",", "VBP", "PRP", "."]
    assert xpos[1][1] == ["_", "."]  # an unknown XPOS stays a tag
    assert read_conllu(path, tag_column="deprel")[1] == (["Hi", "!"], ["root", "punct"])
    assert read_conllu(path, tag_column="lemma")[0][1][:3] == ["I", "do", "not"]


def test_conllu_settings_and_malformed_lines_are_named(tmp_path):
    path = write(tmp_path, "sample.conllu", CONLLU)
    with pytest.raises(ValueError, match=r"tag_column='pos'.*upos, xpos, feats"):
        read_conllu(path, tag_column="pos")

    lines = CONLLU.split("\n")
    short = write(tmp_path, "short.conllu", "\n".join([*lines[:4], "5\tit\tPRON", *lines[4:]]))
    with pytest.raises(ValueError, match=r"short\.conllu, line 5: 3 tab-separated fields"):
        read_conllu(short)
    bad_id = write(
        tmp_path, "bad_id.conllu", CONLLU.replace(conllu_line(5, "it"), conllu_line("five", "it"))
    )
    with pytest.raises(ValueError, match=r"bad_id\.conllu, line 8: the ID 'five'"):
        read_conllu(bad_id)
    comments = write(tmp_path, "comments.conllu", "# sent_id = 1\n\n# text = nothing\n")
    with pytest.raises(ValueError, match=r"comments\.conllu holds no sentence"):
        read_conllu(comments)
    latin1 = write(
        tmp_path, "latin1.conllu", CONLLU.replace("\tsee\tsee", "\tsé\tsee"), encoding="latin-1"
    )
    with pytest.raises(ValueError, match=r"latin1\.conllu, line 7: .* not UTF-8"):
        read_conllu(latin1)


def test_conll2003_tags_are_the_last_column(tmp_path):
    path = write(tmp_path, "eng.train", CONLL2003)
    assert read_two_column(path) == [
        (["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"]),
        (["Peter", "Blackburn"], ["B-PER", "I-PER"]),
        (["BRUSSELS"], ["B-LOC"]),
    ]
    one_field = write(tmp_path, "one_field.txt", "EU B-ORG\nrejects\n")
    with pytest.raises(ValueError, match=r"one_field\.txt, line 2: one field"):
        read_two_column(one_field)
    with pytest.raises(ValueError, match="holds no sentence"):
        read_two_column(write(tmp_path, "docstart.txt", "-DOCSTART- -X- -X- O\n\n"))


def test_read_tagged_tells_the_formats_apart(tmp_path):
    conllu = write(tmp_path, "sample.conllu", CONLLU)
    assert read_tagged(conllu, tag_column="xpos") == read_conllu(conllu, tag_column="xpos")
    starting_with_a_range = write(tmp_path, "range.conllu", "\n".join(CONLLU.split("\n")[3:]))
    assert read_tagged(starting_with_a_range)[0][0] == FIRST_WORDS[1:]
    conll2003 = write(tmp_path, "eng.train", CONLL2003)
    assert read_tagged(conll2003) == read_two_column(conll2003)
    tab_pairs = write(tmp_path, "pairs.tsv", "1\tNUM\ncat\tNOUN\n")
    assert read_tagged(tab_pairs) == [(["1", "cat"], ["NUM", "NOUN"])]


def test_tag_scheme():
    assert tag_scheme(["O", "B-PER", "I-PER", "B-LOC"]) == "bio"
    assert tag_scheme(["I-ORG", "O"]) == "bio"  # IOB1 (CoNLL-2003's original files)
    assert tag_scheme(["O", "S-PER", "B-LOC", "E-LOC", "I-LOC"]) == "bioes"
    assert tag_scheme(["NOUN", "VERB", "PUNCT"]) == "plain"
    assert tag_scheme(["B-NP", "I-NP", "PUNCT"]) == "plain"
    assert tag_scheme(["O", "O"]) == "plain"
    assert tag_scheme(["B-", "O"]) == "plain"


# --- CRF -----------------------------------------------------------------------------------------


def random_crf(num_tags, seed):
    rng = np.random.default_rng(seed)
    crf = CRF(num_tags)
    crf.build((None, None, num_tags))
    crf.transitions.assign(rng.normal(size=(num_tags, num_tags)).astype("float32"))
    crf.start.assign(rng.normal(size=num_tags).astype("float32"))
    crf.end.assign(rng.normal(size=num_tags).astype("float32"))
    return crf


def path_scores(crf, emissions):
    """Every tag path of one sentence's emissions [T, num_tags] and its score, by brute force."""
    transitions, start, end = (w.numpy() for w in (crf.transitions, crf.start, crf.end))
    paths = list(itertools.product(range(crf.num_tags), repeat=len(emissions)))
    scores = [
        start[p[0]]
        + end[p[-1]]
        + sum(emissions[t, tag] for t, tag in enumerate(p))
        + sum(transitions[a, b] for a, b in zip(p, p[1:]))
        for p in paths
    ]
    return paths, np.array(scores)


def test_crf_matches_brute_force_over_all_paths():
    crf = random_crf(3, seed=0)
    rng = np.random.default_rng(1)
    for length in range(1, 5):
        emissions = rng.normal(size=(1, length, 3)).astype("float32")
        paths, scores = path_scores(crf, emissions[0])
        log_partition = np.logaddexp.reduce(scores)
        np.testing.assert_allclose(crf.log_partition(emissions), [log_partition], rtol=1e-5)
        tags, best = crf.decode(emissions)
        assert tags.dtype == tf.int32 and tuple(tags.numpy()[0]) == paths[int(scores.argmax())]
        np.testing.assert_allclose(best, [scores.max()], rtol=1e-5)
        gold = np.array([paths[-1]])
        np.testing.assert_allclose(crf.sequence_score(emissions, gold), [scores[-1]], rtol=1e-5)
        np.testing.assert_allclose(
            crf.log_likelihood(emissions, gold), [scores[-1] - log_partition], rtol=1e-5, atol=1e-5
        )


def test_crf_padding_changes_nothing():
    crf = random_crf(3, seed=2)
    rng = np.random.default_rng(3)
    lengths = [4, 2, 1, 3]
    logits = rng.normal(size=(4, 4, 3)).astype("float32")
    tags = rng.integers(0, 3, size=(4, 4))
    mask = np.arange(4)[None] < np.array(lengths)[:, None]
    padded = np.where(mask[..., None], logits, 1e3)  # padding scores are not read
    gold = np.where(mask, tags, -1)  # nor padding tags
    decoded, best = crf.decode(padded, mask)
    partition = crf.log_partition(padded, mask)
    likelihood = crf.log_likelihood(padded, gold, mask)
    for row, n in enumerate(lengths):
        alone = logits[row : row + 1, :n]
        assert list(decoded.numpy()[row]) == [*crf.decode(alone)[0].numpy()[0], *[0] * (4 - n)]
        np.testing.assert_allclose(best[row], crf.decode(alone)[1][0], rtol=1e-5)
        np.testing.assert_allclose(partition[row], crf.log_partition(alone)[0], rtol=1e-5)
        np.testing.assert_allclose(
            likelihood[row],
            crf.log_likelihood(alone, tags[row : row + 1, :n])[0],
            rtol=1e-5,
            atol=1e-5,
        )

    # Padding elsewhere than the right: the real steps, in order, are the sentence.
    holes = np.array([[False, True, False, True], [False] * 4])
    tags_with_holes, _ = crf.decode(logits[:2], holes)
    assert list(tags_with_holes.numpy()[0][[1, 3]]) == list(
        crf.decode(logits[:1, [1, 3]])[0].numpy()[0]
    )
    np.testing.assert_allclose(
        crf.log_partition(logits[:2], holes)[0], crf.log_partition(logits[:1, [1, 3]])[0], rtol=1e-5
    )
    # A row without real steps scores 0 and is tagged 0.
    assert list(tags_with_holes.numpy()[1]) == [0] * 4
    assert float(crf.log_partition(logits[:2], holes)[1]) == 0.0
    assert float(crf.log_likelihood(logits[:2], tags[:2], holes)[1]) == 0.0
    assert crf.decode(np.zeros((2, 0, 3), "float32"))[0].shape == (2, 0)


def test_crf_decodes_in_a_graph_and_a_saved_model(tmp_path):
    crf = random_crf(3, seed=4)
    tagger = CRF(3, output_mode="tags")
    tagger.build((None, None, 3))
    tagger.set_weights(crf.get_weights())

    class Decoder(tf.Module):
        def __init__(self):
            super().__init__()
            self.crf, self.tagger = crf, tagger

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None, 3], tf.float32),
                tf.TensorSpec([None, None], tf.bool),
            ]
        )
        def decode(self, logits, mask):
            tags, best = self.crf.decode(logits, mask)
            with tf.GradientTape() as tape:
                tape.watch(logits)
                log_partition = tf.reduce_sum(self.crf.log_partition(logits, mask))
            return {
                "tags": tags,
                "best": best,
                "called": self.tagger(logits, mask=mask),
                "marginals": tape.gradient(log_partition, logits),
            }

    tf.saved_model.save(Decoder(), str(tmp_path / "decoder"))
    loaded = tf.saved_model.load(str(tmp_path / "decoder"))
    rng = np.random.default_rng(5)
    for batch, time in ((1, 1), (3, 5)):
        logits = rng.normal(size=(batch, time, 3)).astype("float32")
        mask = np.ones((batch, time), bool)
        mask[0, time // 2 + 1 :] = False
        out = loaded.decode(tf.constant(logits), tf.constant(mask))
        tags, best = crf.decode(logits, mask)
        np.testing.assert_array_equal(out["tags"], tags)
        np.testing.assert_array_equal(out["called"], tags)
        np.testing.assert_allclose(out["best"], best, rtol=1e-5)
        np.testing.assert_allclose(tf.reduce_sum(out["marginals"], -1), mask, rtol=1e-5)


def test_crf_learns_a_tagging_by_gradient_descent():
    crf = random_crf(3, seed=6)
    logits = tf.Variable(np.random.default_rng(7).normal(size=(2, 4, 3)).astype("float32"))
    tags = tf.constant([[0, 1, 2, 1], [2, 2, 0, -1]])
    mask = tags >= 0
    before = float(tf.reduce_sum(crf.log_likelihood(logits, tags, mask)))
    optimizer = keras.optimizers.SGD(0.1)
    for _ in range(5):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(crf.log_likelihood(logits, tags, mask))
        weights = [logits, *crf.trainable_variables]
        gradients = tape.gradient(loss, weights)
        assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)
        optimizer.apply_gradients(zip(gradients, weights))
    assert float(tf.reduce_sum(crf.log_likelihood(logits, tags, mask))) > before + 1.0


def test_crf_trains_in_a_keras_model_through_its_loss():
    num_tags = 4
    rng = np.random.default_rng(8)
    words = rng.integers(1, 12, size=(32, 6))
    lengths = rng.integers(1, 7, size=32)
    words[np.arange(6)[None] >= lengths[:, None]] = 0
    tags = np.where(words > 0, words % num_tags, -1)
    inputs = keras.Input((None,), dtype="int64")
    x = keras.layers.Embedding(12, 8, mask_zero=True)(inputs)
    logits = keras.layers.Dense(num_tags, kernel_initializer="zeros")(x)
    model = keras.Model(inputs, CRF(num_tags, name="crf")(logits))
    crf = model.get_layer("crf")
    assert model.output_shape == (None, None, num_tags)
    model.compile(keras.optimizers.Adam(0.05), loss=CRFLoss(crf, padding=-1))
    first = model.evaluate(words, tags, verbose=0)
    assert first == pytest.approx(math.log(num_tags), rel=1e-3)  # untrained: a uniform guess
    history = model.fit(words, tags, batch_size=8, epochs=4, verbose=0).history
    assert history["loss"][-1] < first / 2
    assert np.abs(crf.transitions.numpy()).sum() > 0
    decoded, _ = crf.decode(model(words), words > 0)
    real = words > 0
    assert (decoded.numpy()[real] == tags[real]).mean() > 0.9

    sentences = CRFLoss(crf, padding=-1, average_over="sentences")
    per_sentence = -crf.log_likelihood(model(words), tags, real).numpy()
    np.testing.assert_allclose(sentences(tags, model(words)), per_sentence.mean(), rtol=1e-5)


def test_crf_config_round_trip():
    crf = CRF(5, output_mode="tags", name="crf")
    again = CRF.from_config(crf.get_config())
    assert (again.num_tags, again.output_mode, again.name) == (5, "tags", "crf")
    assert (
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(crf)).get_config()
        == crf.get_config()
    )
    loss = CRFLoss(crf, padding=-2, average_over="sentences")
    restored = CRFLoss.from_config(loss.get_config())
    assert (restored.padding, restored.average_over, restored.crf) == (-2, "sentences", None)
    with pytest.raises(ValueError, match="output_mode='words'"):
        CRF(5, output_mode="words")
    with pytest.raises(ValueError, match="CRF over 5 tags got scores of 4"):
        CRF(5)(np.zeros((1, 2, 4), "float32"))


# --- metrics -------------------------------------------------------------------------------------


def test_span_f1_counts_chunks_as_conlleval_does():
    gold = [
        ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "O", "B-ORG", "O", "B-MISC", "B-LOC"],
        ["B-LOC", "O"],
    ]
    predicted = [
        ["B-PER", "I-PER", "O", "I-LOC", "I-ORG", "O", "B-ORG", "O", "O", "B-LOC"],
        ["I-LOC", "B-LOC"],
    ]
    # Gold chunks: PER 0-2, LOC 3-5 (I- after O starts one), ORG 6-7, MISC 8-9, LOC 9-10;
    # LOC 0-1 in the second sentence: 6.
    assert spans(gold[0]) == {
        ("PER", 0, 2),
        ("LOC", 3, 5),
        ("ORG", 6, 7),
        ("MISC", 8, 9),
        ("LOC", 9, 10),
    }
    # Predicted: PER 0-2 (right), LOC 3-4 and ORG 4-5 (I-LOC then I-ORG: the type changes, a
    # new chunk starts), ORG 6-7 (right), LOC 9-10 (right); LOC 0-1 (right: the sentence
    # break ends the LOC before it, and the I- after it starts one), LOC 1-2: 7 found,
    # 4 correct. Precision 4/7, recall 4/6, F1 2 * (4/7) * (4/6) / (4/7 + 4/6) = 8/13.
    assert spans(predicted[0]) == {
        ("PER", 0, 2),
        ("LOC", 3, 4),
        ("ORG", 4, 5),
        ("ORG", 6, 7),
        ("LOC", 9, 10),
    }
    assert spans(predicted[1]) == {("LOC", 0, 1), ("LOC", 1, 2)}
    scores = span_f1(gold, predicted)
    assert (scores["gold_spans"], scores["predicted_spans"], scores["correct_spans"]) == (6, 7, 4)
    assert scores["precision"] == pytest.approx(4 / 7)
    assert scores["recall"] == pytest.approx(4 / 6)
    assert scores["f1"] == pytest.approx(8 / 13)
    assert span_f1(gold, gold)["f1"] == 1.0
    assert span_f1([["O", "O"]], [["O", "O"]])["f1"] == 0.0  # no chunks: 0, as conlleval says


def test_span_f1_bioes():
    gold = [["S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "S-ORG"]]
    predicted = [["S-PER", "O", "B-LOC", "E-LOC", "S-LOC", "S-ORG"]]
    # Gold: PER 0-1, LOC 2-5, ORG 5-6. Predicted: PER 0-1 (right), LOC 2-4 (E- ends it),
    # LOC 4-5 (S- is a chunk of its own), ORG 5-6 (right). Precision 2/4, recall 2/3,
    # F1 2 * (1/2) * (2/3) / (1/2 + 2/3) = 4/7.
    assert spans(predicted[0], scheme="bioes") == {
        ("PER", 0, 1),
        ("LOC", 2, 4),
        ("LOC", 4, 5),
        ("ORG", 5, 6),
    }
    scores = span_f1(gold, predicted, scheme="bioes")
    assert (scores["gold_spans"], scores["predicted_spans"], scores["correct_spans"]) == (3, 4, 2)
    assert scores["f1"] == pytest.approx(4 / 7)
    with pytest.raises(ValueError, match="IOBES, not BIO"):
        span_f1(gold, predicted)
    with pytest.raises(ValueError, match="scheme='iob'"):
        spans(gold[0], scheme="iob")


def test_span_f1_agrees_with_the_chunks_it_finds():
    """conlleval's running count equals matching the two sets of chunks, sentence by sentence."""
    rng = random.Random(9)
    for scheme, prefixes in (("bio", "BIO"), ("bioes", "BIOES")):
        tags = [f"{p}-{kind}" if p != "O" else "O" for p in prefixes for kind in ("A", "B")]
        gold = [[rng.choice(tags) for _ in range(rng.randint(0, 8))] for _ in range(300)]
        predicted = [[rng.choice([t, *tags]) for t in sentence] for sentence in gold]
        found = [(spans(g, scheme), spans(p, scheme)) for g, p in zip(gold, predicted)]
        scores = span_f1(gold, predicted, scheme=scheme)
        assert scores["gold_spans"] == sum(len(g) for g, _ in found)
        assert scores["predicted_spans"] == sum(len(p) for _, p in found)
        assert scores["correct_spans"] == sum(len(g & p) for g, p in found)


def test_token_scores():
    gold = [["DET", "NOUN", "VERB"], ["NOUN", "NOUN"]]
    predicted = [["DET", "VERB", "VERB"], ["NOUN", "ADJ"]]
    assert token_accuracy(gold, predicted) == pytest.approx(3 / 5)
    scores = per_tag_scores(gold, predicted)
    assert list(scores) == ["ADJ", "DET", "NOUN", "VERB"]
    assert scores["DET"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert scores["NOUN"] == pytest.approx(
        {"precision": 1.0, "recall": 1 / 3, "f1": 0.5, "support": 3}
    )
    assert scores["VERB"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert scores["ADJ"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_metrics_need_aligned_sentences():
    with pytest.raises(ValueError, match="sentence 1: 2 gold tags but 1 predicted"):
        token_accuracy([["A"], ["A", "B"]], [["A"], ["A"]])
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        per_tag_scores([["A"], ["B"]], [["A"]])
    with pytest.raises(ValueError, match="sentence 0"):
        span_f1([["B-X", "O"]], [["B-X"]])
