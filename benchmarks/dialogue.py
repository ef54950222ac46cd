"""The chatbot recipe on real dialogue pairs against two retrieval baselines, by corpus BLEU.

Trains the chatbot recipe with its defaults on ``--train-file`` (``message<TAB>reply``
lines), exports it, and scores the export's default replies (``reply``: a beam of 4 with
a length penalty) and its greedy ones (``reply_beam`` of width 1) on ``--eval-file``
with sacreBLEU's defaults against the raw replies, beside two baselines on the same split: the most frequent training reply
for every message, and the reply of the training message nearest by TF-IDF cosine
(word uni-grams, lowercased, smoothed idf, as scikit-learn's ``TfidfVectorizer``).
Prints ten sample replies and the training time.

    python -m benchmarks.dialogue --train-file sgd_dev/train.tsv \
        --eval-file sgd_dev/test.tsv

``--export DIR`` scores an existing export instead of training; other flags go to the
recipe (``--max-minutes 10``).
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import re
from pathlib import Path

from benchmarks.common import add_record_flag, print_machine, record_model, report

WORD = re.compile(r"(?u)\b\w\w+\b")


def most_frequent_reply(train_pairs, messages) -> list[str]:
    reply = collections.Counter(r for _, r in train_pairs).most_common(1)[0][0]
    return [reply] * len(messages)


def tfidf_nearest_reply(train_pairs, messages) -> list[str]:
    """The reply of the training message with the highest TF-IDF cosine to each message."""

    def counts(text):
        return collections.Counter(WORD.findall(text.lower()))

    documents = [counts(m) for m, _ in train_pairs]
    frequency = collections.Counter(w for d in documents for w in d)
    n = len(documents)
    idf = {w: math.log((1 + n) / (1 + df)) + 1 for w, df in frequency.items()}

    def vector(bag):
        weights = {w: c * idf[w] for w, c in bag.items() if w in idf}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        return {w: v / norm for w, v in weights.items()}

    postings = collections.defaultdict(list)
    for i, document in enumerate(documents):
        for w, v in vector(document).items():
            postings[w].append((i, v))
    replies = []
    for message in messages:
        scores = collections.defaultdict(float)
        for w, v in vector(counts(message)).items():
            for i, weight in postings[w]:
                scores[i] += v * weight
        best = min(scores, key=lambda i: (-scores[i], i)) if scores else 0
        replies.append(train_pairs[best][1])
    return replies


def export_replies(export_dir, messages, batch_size: int = 256):
    """Default and greedy (a beam of 1) replies of a chatbot export, as a server gives them."""
    import zoo

    predictor = zoo.load(export_dir)
    default, greedy = [], []
    for start in range(0, len(messages), batch_size):
        batch = messages[start : start + batch_size]
        default += predictor.reply(batch)
        greedy += predictor.reply(batch, beam_width=1)
    return default, greedy


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--eval-file", required=True)
    parser.add_argument("--export", help="score this chatbot export instead of training one")
    parser.add_argument("--samples", type=int, default=10)
    add_record_flag(parser)
    args, recipe_flags = parser.parse_known_args(argv)

    import sacrebleu

    from zoo import training
    from zoo.data.files import read_pairs
    from zoo.recipes.chatbot import ChatbotRecipe

    print_machine()
    train_pairs, test_pairs = read_pairs(args.train_file), read_pairs(args.eval_file)
    messages, references = [m for m, _ in test_pairs], [r for _, r in test_pairs]
    print(f"pairs: {len(train_pairs)} train, {len(test_pairs)} test")

    minutes, test = None, {}
    if args.export:
        export = Path(args.export)
    else:
        config = training.parse_config(
            ChatbotRecipe,
            ["--train-file", args.train_file, "--eval-file", args.eval_file, *recipe_flags],
        )
        print(
            "recipe: "
            + json.dumps(
                {
                    k: v
                    for k, v in vars(config).items()
                    if v is not None and k not in ("train_file", "eval_file")
                }
            )
        )
        metrics = training.run(config)
        export, minutes = Path(metrics["export"]), metrics["wall_seconds"] / 60
        test = {**metrics["test"], "epochs": metrics["epochs_run"]}
    default, greedy = export_replies(export, messages)

    def bleu(hypotheses):
        return sacrebleu.corpus_bleu(hypotheses, [references])

    systems = {
        "most frequent training reply": most_frequent_reply(train_pairs, messages),
        "TF-IDF nearest training message": tfidf_nearest_reply(train_pairs, messages),
        "chatbot, default reply (beam of 4)": default,
        "chatbot, greedy": greedy,
    }
    results = {name: bleu(replies) for name, replies in systems.items()}
    scores = {name: float(result.score) for name, result in results.items()}
    print(
        f"\nexport: {export}\n\n| system | BLEU | brevity penalty | length / reference length |"
        "\n|---|---|---|---|"
    )
    for name, result in results.items():
        print(
            f"| {name} | {result.score:.2f} | {result.bp:.3f} | "
            f"{result.sys_len / result.ref_len:.3f} |"
        )
    print("\nsamples (message / reference / default reply / greedy):")
    for i in range(0, len(messages), max(1, len(messages) // max(args.samples, 1)))[: args.samples]:
        print(
            f"- {messages[i]}\n  reference: {references[i]}\n  reply:     {default[i]}\n"
            f"  greedy:    {greedy[i]}"
        )
    values = list(scores.values())
    figures = {
        "test_pairs": len(messages),
        "bleu_most_frequent_reply": values[0],
        "bleu_tfidf_retrieval": values[1],
        "bleu_reply": values[2],
        "bleu_greedy": values[3],
        "reply_over_tfidf": values[2] / values[1] if values[1] else math.inf,
    }
    if minutes is not None:
        figures["training_minutes"] = minutes
    print()
    data = Path(args.train_file).parent.name
    report(figures, record=args.record and "dialogue", data=data)
    if args.record:
        from zoo.results import Figure

        detail = {
            "training_minutes": minutes,
            "epochs": test.get("epochs"),
            "recipe_flags": recipe_flags,
        }
        found = [
            Figure(
                metric="bleu",
                value=values[2],
                data=data,
                detail=detail,
                baseline={"name": "TF-IDF retrieval", "value": values[1]},
            ),
            Figure(metric="bleu_greedy", value=values[3], data=data, detail=detail),
        ]
        if "token_accuracy" in test:
            found.append(
                Figure(
                    metric="token_accuracy", value=test["token_accuracy"], data=data, detail=detail
                )
            )
        record_model("chatbot", found)


if __name__ == "__main__":
    main()
