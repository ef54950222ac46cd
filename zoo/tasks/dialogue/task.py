"""Dialogue as a task: (message, reply) pairs, replies searched in the graph, BLEU.

Export signatures: ``signatures.py``; the same search (``search.reply_search``) gives
the BLEU of evaluation, so the figure is what a user of the export gets.
"""

from __future__ import annotations

from zoo.tasks.base import Task
from zoo.tasks.dialogue.models import ATTENTION
from zoo.tasks.dialogue.search import REPLY_BEAM_WIDTH


class Dialogue(Task):
    name = "dialogue"
    # A chatbot is judged by the replies it picks, so by token accuracy: on small dialogue
    # sets its validation loss rises from the first epochs (confidence on the few held-out
    # conversations) while the choices keep improving.
    monitor = ("val_token_accuracy", "max")
    minimums = {"sequence_length": 2, "vocab_size": 5}  # [start] and [end] take two ids
    flag_help = {"attention": "decoder attention: Luong's dot product or Bahdanau's additive"}
    flag_choices = {"attention": ATTENTION}
    signature_defaults = {
        "reply_sampled": {"temperature": 1.0, "seed": 0},
        "reply_beam": {"beam_width": REPLY_BEAM_WIDTH},
    }

    def load_data(self, config):
        from zoo.tasks.dialogue.data import dialogue_data

        return dialogue_data(
            vocab_size=config.vocab_size,
            sequence_length=config.sequence_length,
            **config.data_source_settings(),
        )

    def test_metrics(self, metrics, model, data, config, test) -> dict:
        max_pairs = config.max_steps and config.max_steps * config.batch_size
        return {**metrics, "bleu": bleu(model, data, config.sequence_length, max_pairs=max_pairs)}

    def endpoints(self, model, vectorizers, labels, max_length):
        from zoo.tasks.dialogue.signatures import chatbot_endpoints

        return chatbot_endpoints(model, vectorizers, max_length)

    def evaluate_file(self, predictor, file, batch_size: int) -> dict:
        """Corpus BLEU of the export's default reply on ``message<TAB>reply`` lines."""
        import sacrebleu

        from zoo.data.files import read_pairs

        pairs = read_pairs(file)
        messages = [message for message, _ in pairs]
        replies = [
            reply
            for i in range(0, len(messages), batch_size)
            for reply in predictor.reply(messages[i : i + batch_size])
        ]
        score = sacrebleu.corpus_bleu(replies, [[reply for _, reply in pairs]])
        return {"pairs": len(pairs), "bleu": float(score.score)}


def bleu(
    model,
    data,
    max_length: int,
    max_pairs: int | None = None,
    batch_size: int = 256,
    beam_width: int = REPLY_BEAM_WIDTH,
) -> float:
    """Corpus BLEU (sacreBLEU defaults) of the model's replies against the raw test replies.

    Replies come from the same in-graph search as the export's ``reply`` (a beam of
    ``REPLY_BEAM_WIDTH``, the default) or ``reply_beam`` signatures, detokenized.
    """
    import sacrebleu
    import tensorflow as tf

    from zoo.tasks.dialogue.search import reply_search

    search = reply_search(model, data.vectorizers["text"], max_length)
    replies = tf.function(lambda text: search(text, beam_width)["reply"])
    pairs = data.test_pairs if max_pairs is None else data.test_pairs.take(max_pairs)
    hypotheses, references = [], []
    for messages, answers in pairs.batch(batch_size):
        hypotheses += [r.decode("utf-8") for r in replies(messages).numpy()]
        references += [a.decode("utf-8") for a in answers.numpy()]
    return float(sacrebleu.corpus_bleu(hypotheses, [references]).score) if hypotheses else 0.0


TASK = Dialogue()
