"""The catalog: every registered builder builds, trains, masks, saves and matches its card."""

import dataclasses
import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo.tasks.common import CELLS
from zoo.tasks.text_classification.data import FEATURE_SPACE

MODELS = zoo.list_models()
VOCAB = 40
SMALL = {
    "bilstm_tagger": dict(
        vocab_size=VOCAB,
        char_vocab_size=VOCAB,
        num_tags=5,
        units=8,
        embedding_dim=8,
        char_dim=4,
        char_filters=4,
    ),
    "chatbot": dict(vocab_size=VOCAB, units=8, embedding_dim=8),
    "next_word_rnn": dict(vocab_size=VOCAB, units=8, embedding_dim=8),
    "rnn_forecaster": dict(lookback=8, horizon=4, segment_length=4, num_series=2, units=8),
    "sentiment_lstm": dict(vocab_size=VOCAB, units=8, embedding_dim=8),
    "stacked_lstm": dict(vocab_size=VOCAB, units=8, embedding_dim=8),
    "topic_gru": dict(vocab_size=VOCAB, units=8, embedding_dim=8),
}


def tokens(batch, steps, seed=0, pad=0):
    """Random ids in [1, VOCAB) with `pad` zeros on the right."""
    ids = np.random.default_rng(seed).integers(1, VOCAB, size=(batch, steps))
    return np.pad(ids, ((0, 0), (0, pad)))


def inputs_for(name, batch, steps, pad=0, seed=0):
    if name == "rnn_forecaster":  # a window of real values; its length is the model's
        window = (batch, SMALL[name]["lookback"], SMALL[name]["num_series"])
        return {"history": np.random.default_rng(seed).normal(size=window).astype("float32")}
    if name == "chatbot":
        return [tokens(batch, steps, seed, pad), tokens(batch, steps + 1, seed + 1)]
    if name == "bilstm_tagger":  # each word's characters, 0 where the word is padding
        words = tokens(batch, steps, seed, pad)
        chars = np.random.default_rng(seed + 1).integers(1, VOCAB, (batch, steps, 6))
        return {"words": words, "chars": np.pad(chars, ((0, 0), (0, pad), (0, 0)))}
    if zoo.model_card(name).task == "text-classification":  # and 3 hashed features a word
        ngrams = np.random.default_rng(seed + 1).integers(1, 2 * FEATURE_SPACE, (batch, 3 * steps))
        return {
            "tokens": tokens(batch, steps, seed, pad),
            "ngrams": np.pad(ngrams, ((0, 0), (0, 3 * pad))),
        }
    return tokens(batch, steps, seed, pad)


def targets_for(model, batch, steps, seed=0):
    rng = np.random.default_rng(seed)
    out = model.output_shape
    if model.name == "rnn_forecaster":  # the horizon's values
        return rng.normal(size=(batch, *out[1:3])).astype("float32")
    if len(out) == 2:  # many-to-one
        return rng.integers(0, out[-1], size=(batch,))
    # The chatbot's width is its vocabulary and a copy id per source step.
    return rng.integers(
        1, out[-1] or VOCAB + steps, size=(batch, steps + (model.name == "chatbot"))
    )


def test_catalog_has_the_seven_models():
    assert MODELS == [
        "bilstm_tagger",
        "chatbot",
        "next_word_rnn",
        "rnn_forecaster",
        "sentiment_lstm",
        "stacked_lstm",
        "topic_gru",
    ]
    assert zoo.list_models("*lstm*") == ["bilstm_tagger", "sentiment_lstm", "stacked_lstm"]
    assert zoo.list_models("nothing*") == []


@pytest.mark.parametrize("name", MODELS)
def test_builder_is_exported_at_top_level_with_docs(name):
    builder = getattr(zoo, f"build_{name}")
    assert builder.__doc__ and len(builder.__doc__.strip()) > 40
    settings = zoo.registry.builder_settings(name)
    assert "compile" in settings and "learning_rate" in settings and "clipnorm" in settings
    assert settings["clipnorm"] is not None, "gradient clipping must be on by default"


@pytest.mark.parametrize("name", MODELS)
def test_card_fields_and_parameter_count(name):
    card = zoo.model_card(name)
    assert card.name == name
    assert card.dataset and card.metric and card.anchor
    assert card.recipe.startswith(f"zoo train {name}")
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.name = "other"  # frozen
    assert zoo.build(name, compile=False).count_params() == card.num_params


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("batch,steps", [(1, 3), (4, 11)])
def test_output_shapes_for_any_batch_and_length(name, batch, steps):
    model = zoo.build(name, **SMALL[name])
    out = model.predict(inputs_for(name, batch, steps), verbose=0)
    card = zoo.model_card(name)
    if card.architecture == "many-to-one":
        assert out.shape == (batch, model.output_shape[-1])
    elif card.task == "sequence-tagging":  # a tag's score (logits) for every token
        assert out.shape == (batch, steps, SMALL[name]["num_tags"])
        return
    elif card.task == "forecasting":  # one forecast per future step and series
        assert out.shape == (batch, SMALL[name]["horizon"], SMALL[name]["num_series"], 1)
        return
    else:
        copies = steps if name == "chatbot" else 0  # one copy id per source step
        assert out.shape == (batch, steps + (name == "chatbot"), VOCAB + copies)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-4)


@pytest.mark.parametrize(
    "name", [n for n in MODELS if n in ("sentiment_lstm", "topic_gru", "chatbot", "bilstm_tagger")]
)
def test_right_padding_does_not_change_the_output(name):
    model = zoo.build(name, **SMALL[name])
    short = inputs_for(name, 3, 6)
    padded = inputs_for(name, 3, 6, pad=5)
    if name == "chatbot":  # pad the source only; the target steps stay aligned
        padded[1] = short[1]
    out, out_padded = model.predict(short, verbose=0), model.predict(padded, verbose=0)
    if name == "chatbot":  # padded source steps add copy ids that get nothing
        np.testing.assert_array_equal(out_padded[..., out.shape[-1] :], 0.0)
        out_padded = out_padded[..., : out.shape[-1]]
    if name == "bilstm_tagger":  # one score per token: the padded tokens' are extra
        out_padded = out_padded[:, : out.shape[1]]
    np.testing.assert_allclose(out, out_padded, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_one_training_step_lowers_the_loss(name):
    keras.utils.set_random_seed(0)
    model = zoo.build(name, **SMALL[name], learning_rate=1e-2)
    x, y = inputs_for(name, 8, 5), targets_for(model, 8, 5)

    def loss():  # eager: only the training step is traced
        return float(model.compute_loss(x, y, model(x, training=False), training=False))

    before = loss()
    model.fit(x, y, epochs=3, verbose=0)
    assert loss() < before


@pytest.mark.parametrize("name", MODELS)
def test_keras_file_round_trip_gives_identical_outputs(name, tmp_path):
    model = zoo.build(name, **SMALL[name])
    x = inputs_for(name, 2, 7)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("name", ["next_word_rnn", "sentiment_lstm", "chatbot"])
def test_cell_override(name, cell):
    model = zoo.build(name, **SMALL[name], cell=cell)
    expected = {
        "simple_rnn": keras.layers.SimpleRNN,
        "lstm": keras.layers.LSTM,
        "gru": keras.layers.GRU,
    }[cell]
    rnns = [layer for layer in _flat_layers(model) if isinstance(layer, keras.layers.RNN)]
    assert rnns and all(isinstance(rnn, expected) for rnn in rnns)
    model.predict(inputs_for(name, 2, 4), verbose=0)


@pytest.mark.parametrize("name", MODELS)
def test_recurrent_layers_stay_cudnn_eligible(name):
    for layer in _flat_layers(zoo.build(name, compile=False)):
        if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
            assert layer.cell.activation is keras.activations.tanh
            assert layer.cell.recurrent_activation is keras.activations.sigmoid
            assert layer.cell.recurrent_dropout == 0 and not layer.unroll and layer.cell.use_bias
            if isinstance(layer, keras.layers.GRU):
                assert layer.cell.reset_after


def _flat_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            yield layer.forward_layer
            yield layer.backward_layer
        else:
            yield layer


def test_stacked_lstm_has_dropout_between_stacked_layers():
    model = zoo.build_stacked_lstm(num_layers=3, compile=False)
    names = [layer.name for layer in model.layers]
    assert [n for n in names if n.startswith("rnn_")] == ["rnn_0", "rnn_1", "rnn_2"]
    assert all(model.get_layer(f"rnn_{i}").return_sequences for i in range(3))
    assert names.index("dropout_0") < names.index("rnn_1")
    with pytest.raises(ValueError, match="num_layers"):
        zoo.build_stacked_lstm(num_layers=1)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("return_sequences,go_backwards", [(True, False), (False, True)])
def test_weight_dropped_layers_are_keras_layers_at_inference_and_drop_weights_in_training(
    cell, return_sequences, go_backwards
):
    from zoo.tasks.recurrent import WeightDropGRU, WeightDropLSTM

    ours, theirs = {
        "lstm": (WeightDropLSTM, keras.layers.LSTM),
        "gru": (WeightDropGRU, keras.layers.GRU),
    }[cell]
    x = np.random.default_rng(0).normal(size=(3, 12, 5)).astype("float32")
    mask = np.arange(12)[None, :] < np.array([[12], [7], [1]])  # right-padded rows
    settings = dict(return_sequences=return_sequences, go_backwards=go_backwards, return_state=True)
    dropped = ours(6, weight_dropout=0.5, seed=1, **settings)
    plain = theirs(6, **settings)
    expected = [np.asarray(t) for t in dropped(x, mask=mask)]
    plain(x)
    plain.set_weights(dropped.get_weights())
    for got, want in zip(plain(x, mask=mask), expected):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)
    # In training the loop runs on a dropped recurrent kernel; without drop it is the layer.
    assert not np.allclose(
        np.asarray(dropped(x, mask=mask, training=True)[0]), expected[0], atol=1e-3
    )
    dropped.weight_dropout = 0.0
    np.testing.assert_allclose(
        np.asarray(dropped(x, mask=mask, training=True)[0]), expected[0], atol=1e-5
    )
    assert ours.from_config({**dropped.get_config(), "weight_dropout": 0.3}).weight_dropout == 0.3
    with pytest.raises(ValueError, match="weight_dropout="):
        ours(6, weight_dropout=1.0)


def test_stacked_lstm_drops_its_recurrent_weights():
    model = zoo.build_stacked_lstm(compile=False)
    assert {model.get_layer(f"rnn_{i}").weight_dropout for i in range(2)} == {0.1}
    with pytest.raises(ValueError, match="weight_dropout="):
        zoo.build_stacked_lstm(weight_dropout=1.0)


def test_sentiment_lstm_is_bidirectional_and_stacks():
    model = zoo.build_sentiment_lstm(num_layers=2, num_classes=5, compile=False)
    assert isinstance(model.get_layer("bidirectional_1"), keras.layers.Bidirectional)
    assert model.output_shape == (None, 5)


# --- registry errors -------------------------------------------------------------------------


def test_unknown_model_lists_close_matches():
    with pytest.raises(KeyError, match="sentiment_lstm"):
        zoo.build("sentiment_lstn")
    with pytest.raises(KeyError, match="unknown model"):
        zoo.model_card("transformer")


@pytest.mark.parametrize(
    "setting,value",
    [
        ("units", 0),
        ("vocab_size", 1),
        ("dropout", 1.5),
        ("num_layers", 0),
        ("units", 2.5),
        ("embedding_dim", -1),
        ("cell", "transformer"),
        ("learning_rate", 0),
        ("num_classes", 1),
        ("ema_momentum", 1.0),
        ("ngram_l2", -1e-4),
    ],
)
def test_out_of_range_settings_name_the_setting(setting, value):
    name = "stacked_lstm" if setting == "ema_momentum" else "sentiment_lstm"
    with pytest.raises(ValueError, match=rf"{setting}="):
        zoo.build(name, **{setting: value})


def test_the_tagger_averages_its_weights_and_can_drop_recurrent_ones():
    model = zoo.build_bilstm_tagger()
    assert model.optimizer.use_ema and model.optimizer.ema_momentum == 0.999
    assert not zoo.build_bilstm_tagger(ema_momentum=None).optimizer.use_ema
    dropped = zoo.build_bilstm_tagger(weight_dropout=0.25, compile=False)
    assert dropped.get_layer("bidirectional_0").forward_layer.weight_dropout == 0.25
    for setting, value in (("ema_momentum", 1.0), ("weight_dropout", -0.1)):
        with pytest.raises(ValueError, match=rf"{setting}="):
            zoo.build("bilstm_tagger", **{setting: value})


def test_chatbot_settings_are_checked():
    with pytest.raises(ValueError, match="attention="):
        zoo.build("chatbot", attention="cosine")
    with pytest.raises(ValueError, match="vocab_size="):
        zoo.build("chatbot", vocab_size=1)


def test_unknown_setting_is_a_value_error_listing_accepted_ones():
    with pytest.raises(ValueError, match=r"unknown setting.*hidden_size.*accepted:.*units"):
        zoo.build("topic_gru", hidden_size=3)


def test_registering_a_name_twice_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        zoo.register_model(zoo.model_card("topic_gru"))(zoo.build_topic_gru)


def test_import_zoo_does_not_import_tensorflow():
    code = "import sys, zoo; zoo.list_models(); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_zoo_list_prints_the_catalog():
    out = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "list"], capture_output=True, text=True, check=True
    ).stdout
    for name in MODELS:
        assert name in out
    assert len(out.strip().splitlines()) == 1 + len(MODELS)


def _text_windows(model, windows=8, length=12):
    """A trained-for-a-moment language model's consecutive windows of one random text."""
    import tensorflow as tf

    ids = np.random.default_rng(0).integers(1, VOCAB, size=windows * length + 1)
    pairs = (ids[:-1].reshape(windows, length), ids[1:].reshape(windows, length))
    model.fit(*pairs, epochs=2, verbose=0)
    return tf.data.Dataset.from_tensor_slices(pairs).batch(3)


@pytest.mark.slow
def test_carried_state_metrics_read_the_text_in_order_carrying_state():
    from zoo.tasks.language_modeling.models import carried_state_metrics

    keras.utils.set_random_seed(0)
    model = zoo.build("stacked_lstm", **SMALL["stacked_lstm"], learning_rate=1e-2)
    windows = _text_windows(model)
    independent = model.evaluate(windows, verbose=0, return_dict=True)
    # One stream per window, read in one go: every window from a zero state, as evaluate does.
    alone = carried_state_metrics(model, windows, streams=8, window=12)
    for key in ("loss", "accuracy", "top5_accuracy"):
        assert alone[key] == pytest.approx(independent[key], abs=1e-5)
    # One stream: the state carries across windows, so where the text is cut makes no
    # difference, while independent windows score differently.
    whole = carried_state_metrics(model, windows, streams=1, window=96)
    cut = carried_state_metrics(model, windows, streams=1, window=5)
    assert cut["loss"] == pytest.approx(whole["loss"], abs=1e-5)
    assert abs(whole["loss"] - independent["loss"]) > 1e-4
    with pytest.raises(ValueError, match="window=0"):
        carried_state_metrics(model, windows, window=0)


def test_stacked_lstm_averages_its_weights_by_default():
    assert zoo.build_stacked_lstm(**SMALL["stacked_lstm"]).optimizer.use_ema
    for off in (None, 0):
        model = zoo.build_stacked_lstm(**SMALL["stacked_lstm"], ema_momentum=off)
        assert not model.optimizer.use_ema


def test_classifier_pooling_reads_only_the_unmasked_steps():
    from zoo.tasks.text_classification.layers import MaskedMaxMeanPooling

    x = -np.abs(np.random.default_rng(0).normal(size=(2, 5, 3))).astype("float32") - 1
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    x[0, 3:] = 100.0  # padding that a pooling blind to the mask would pick as the max
    out = MaskedMaxMeanPooling()(x, mask=mask).numpy()
    for row, n in enumerate((3, 5)):
        np.testing.assert_allclose(
            out[row], np.concatenate([x[row, :n].max(0), x[row, :n].mean(0)]), rtol=1e-6
        )


def test_classifier_wide_part_sums_the_weights_of_its_features():
    from zoo.tasks.text_classification.layers import BagOfNgrams

    layer = BagOfNgrams(64, 3)
    score = lambda *ids: layer(np.array([ids], "int64"))[0].numpy()[0]  # noqa: E731
    word, pair, piece = 5, 64 + 7, FEATURE_SPACE + 9  # a piece of a word: in the second range
    np.testing.assert_array_equal(score(word, pair, piece), 0.0)  # starts as no opinion at all
    table = np.random.default_rng(0).normal(size=(2 * 64 + 1, 3))
    layer.table.assign(table)
    np.testing.assert_allclose(score(word, pair, piece), score(word, pair, piece, 0, 0), rtol=1e-6)
    np.testing.assert_allclose(
        score(word, pair, piece), score(word) + score(pair) + score(piece), rtol=1e-5
    )
    np.testing.assert_allclose(score(word), table[word], rtol=1e-6)
    np.testing.assert_allclose(score(pair), table[7], rtol=1e-6)  # folded into 64 buckets
    np.testing.assert_allclose(score(piece), table[64 + 9], rtol=1e-6)


def test_classifier_without_the_wide_part_has_only_the_recurrent_path():
    wide = zoo.build("sentiment_lstm", **SMALL["sentiment_lstm"], compile=False)
    deep = zoo.build("sentiment_lstm", **SMALL["sentiment_lstm"], ngram_buckets=0, compile=False)
    assert "ngram_logits" in [layer.name for layer in wide.layers]
    assert "ngram_logits" not in [layer.name for layer in deep.layers]
    buckets = 2**17  # of words and pairs, and of pieces of words
    # Weights and ratios of every feature; naive Bayes' of words and pairs, class prior and
    # temperature; the vote's weights of its three parts
    assert (
        wide.count_params() - deep.count_params()
        == (2 * buckets + 1) * 2 * 2 + (buckets + 1) * 2 + 2 + 1 + 3
    )
    with pytest.raises(ValueError, match="embedding_dropout"):
        zoo.build("sentiment_lstm", embedding_dropout=1.0)


def test_classifier_parts_vote_together_and_only_the_first_trains():
    import tensorflow as tf

    from zoo.tasks.text_classification.layers import PartsVote

    rng = np.random.default_rng(0)
    first, second, third = (rng.normal(size=(200, 3)).astype("float32") for _ in range(3))
    logs = [tf.nn.log_softmax(x).numpy() for x in (first, second, third)]
    vote = PartsVote()
    # Inference: the parts' log-probabilities, averaged until weights are fitted.
    np.testing.assert_allclose(
        vote([first, second, third]).numpy(), sum(logs) / 3, rtol=1e-5, atol=1e-6
    )
    # Training: the first part alone answers, so its loss is its own and its gradient
    # does not vanish where another part is already sure.
    np.testing.assert_allclose(
        vote([first, second, third], training=True).numpy(), logs[0], rtol=1e-5, atol=1e-6
    )
    sure = np.where(np.arange(3) == 0, 30.0, -30.0)[None].repeat(200, 0).astype("float32")
    unsure = tf.Variable(np.zeros((200, 3), "float32"))
    with tf.GradientTape() as tape:
        loss = -tf.reduce_sum(vote([unsure, sure, sure], training=True)[:, 0])
    assert np.abs(tape.gradient(loss, unsure).numpy()).sum() > 100  # 4/3 a row


def test_classifier_vote_weights_fitted_on_validation_favour_the_part_that_is_right():
    import keras
    import tensorflow as tf

    from zoo.tasks.text_classification.layers import PartsVote

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    right = np.where(np.eye(2)[labels] > 0, 1.0, -1.0).astype("float32")  # sure and right
    noise = rng.normal(scale=3.0, size=(300, 2)).astype("float32")  # sure and random
    parts = [keras.Input(shape=(2,)) for _ in range(3)]
    vote = PartsVote()
    model = keras.Model(parts, vote(parts))
    validation = tf.data.Dataset.from_tensor_slices(((noise, right, noise), labels)).batch(64)
    vote.fit_weights(model, validation)
    weights = vote.part_weights.numpy()
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-6)
    assert weights[1] > 0.5 and weights[1] > 2 * max(weights[0], weights[2])
    assert (model.predict((noise, right, noise), verbose=0).argmax(axis=1) == labels).all()


def test_classifier_wide_part_counts_naive_bayes_ratios_and_votes():
    import tensorflow as tf

    from zoo.tasks.text_classification.layers import BagOfNgrams

    # Class 0 texts hold word 5, class 1 texts word 6; word 7 is in all of them; the
    # piece of a word p (feature 16 + 3) is in the class-0 texts only.
    p = FEATURE_SPACE + 3
    features = np.array([[5, 7, p], [7, 5, p], [6, 7, 0], [7, 6, 0]], "int64")
    labels = np.array([0, 0, 1, 1])
    layer = BagOfNgrams(16, 2)
    before = layer(features)[1].numpy()
    np.testing.assert_allclose(before, np.log(0.5))  # no opinion before counting
    batches = tf.data.Dataset.from_tensor_slices(({"ngrams": features}, labels)).batch(2)
    layer.start_from_naive_bayes(batches)
    scores, naive_bayes = (x.numpy() for x in layer(features))
    np.testing.assert_array_equal(scores, 0.0)  # the weights still start at 0
    ratio = layer.ratio.numpy()
    # Word 5 is in both class-0 texts and no other: log((2+1)/|p|_1 / ((0+1)/|q|_1)), where
    # |p|_1 and |q|_1 count each class's features, plus 1 for each of the 33 features.
    p_sum, q_sum = 6 + 33, 4 + 33
    np.testing.assert_allclose(ratio[5, 0], np.log(3 / p_sum) - np.log(1 / q_sum), rtol=1e-5)
    assert ratio[5, 0] > 0 > ratio[5, 1] and ratio[6, 1] > 0 > ratio[6, 0]
    assert ratio[16 + 3, 0] > 0 and abs(ratio[7, 0]) < 0.2 * ratio[5, 0]
    # A weight counts as far as its feature's ratio: same weights, scores scaled by it.
    layer.table.assign(np.ones_like(ratio))
    np.testing.assert_allclose(layer(np.array([[5]], "int64"))[0].numpy()[0], ratio[5], rtol=1e-5)
    # Naive Bayes over words and pairs (alpha 0.5; 3 words seen): p(5 | class 0) = 2.5 / 5.5
    likelihood = layer.log_likelihood.numpy()
    np.testing.assert_allclose(likelihood[5], np.log([2.5 / 5.5, 0.5 / 5.5]), rtol=1e-5)
    assert not likelihood[8].any()  # a feature no training text holds has no say
    assert (naive_bayes.argmax(axis=1) == labels).all()
    np.testing.assert_allclose(np.exp(naive_bayes).sum(axis=1), 1.0, rtol=1e-5)
    # Pieces of words do not enter naive Bayes.
    np.testing.assert_allclose(layer(np.array([[p]], "int64"))[1].numpy(), np.log(0.5), rtol=1e-5)
    assert float(layer.temperature.numpy()) == 1.0
    # Validation texts that naive Bayes gets wrong half the time: tempered toward no opinion.
    validation = tf.data.Dataset.from_tensor_slices(
        ({"ngrams": np.array([[5, 7], [6, 7], [5, 0], [6, 0]], "int64")}, [0, 1, 1, 0])
    ).batch(2)
    layer.start_from_naive_bayes(batches, validation)
    assert float(layer.temperature.numpy()) > 8.0
    tempered = layer(features)[1].numpy()
    assert (tempered.argmax(axis=1) == labels).all()  # the same answers, less sure of them
    assert (np.abs(np.diff(tempered, axis=1)) < np.abs(np.diff(naive_bayes, axis=1))).all()


def test_classifier_wide_part_penalises_its_weights_in_training_only():
    from zoo.tasks.text_classification.layers import BagOfNgrams

    layer = BagOfNgrams(16, 2, l2=1e-3)
    features = np.array([[5, 6]], "int64")
    layer(features)
    layer.table.assign(np.full((2 * 16 + 1, 2), 0.5))
    layer(features, training=False)
    assert not layer.losses
    layer(features, training=True)
    np.testing.assert_allclose(float(layer.losses[0]), 1e-3 * 0.5**2 * (2 * 16 + 1) * 2, rtol=1e-5)
    layer.trainable = False  # once fitted: no penalty on weights that no longer train
    layer(features, training=True)
    assert not layer.losses


def test_classifier_wide_part_fits_its_logistic_regression_alone_then_freezes():
    import tensorflow as tf

    from zoo.tasks.text_classification.layers import BagOfNgrams

    # Word 5 or 6 tells the class; words 7 to 12 are noise; pairs (ids above 16) too.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    features = np.stack([5 + labels, rng.integers(7, 13, 400), rng.integers(17, 30, 400)], 1)

    def batches(rows):
        return tf.data.Dataset.from_tensor_slices(
            ({"ngrams": features[rows].astype("int64")}, labels[rows])
        ).batch(32)

    layer = BagOfNgrams(32, 2, l2=1e-4)
    layer.start_from_naive_bayes(batches(slice(0, 300)))
    layer.fit_logistic_regression(
        batches(slice(0, 300)), batches(slice(300, 400)), learning_rate=0.05
    )
    assert not layer.trainable and not layer.trainable_weights
    scores = layer(features.astype("int64"))[0].numpy()
    assert (scores.argmax(axis=1) == labels).all()
    margin = np.abs(scores[:, 0] - scores[:, 1])
    assert margin.min() > 2.0  # trained well past the first steps from zero


@pytest.mark.slow
def test_a_classifier_builds_and_runs_without_tensorflow_datasets():
    code = (
        "import sys, numpy as np, zoo; m = zoo.build('sentiment_lstm', vocab_size=50, "
        "embedding_dim=4, units=4, ngram_buckets=8); "
        "m({'tokens': np.ones((1, 3)), 'ngrams': np.array([[5, 2 ** 30 + 7]])}); "
        "print('tensorflow_datasets' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
