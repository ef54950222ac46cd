"""The zoo's text standardizations as data, shared by the graph and by plain Python.

Each rule is an RE2 pattern and its replacement, applied in order: ``zoo.data.text`` and
the tagger's tokenizer run them with ``tf.strings.regex_replace`` inside exports, and
``zoo.edge.tokenizer`` runs the same rules with the ``regex`` package for the LiteRT and
ONNX files, which take ids. No TensorFlow here, so that the tokenizer needs none.
"""

from __future__ import annotations

# TextVectorization's padding and out-of-vocabulary tokens, ids 0 and 1 of every vocabulary:
# never generated.
SPECIAL_TOKENS = ("", "[UNK]")
UNKNOWN_ID = 1

# zoo.data.text.lower_and_split_punctuation, after lowercasing (UTF-8).
LOWER_AND_SPLIT_PUNCTUATION = (
    ("[\u2018\u2019]", "'"),
    (r"([^\pL\pN\pM\s\[\]'])", r" \1 "),
    (r"(^|\s)'", r"\1' "),
    (r"'(\s|$)", r" '\1"),
)
# zoo.data.text.split_edge_punctuation.
SPLIT_EDGE_PUNCTUATION = (
    ("[\u2018\u2019]", "'"),
    (r"([^\pL\pN\pM\s]+)(\s|$)", r" \1\2"),
    (r"(^|\s)([^\pL\pN\pM\s\[]+)", r"\1\2 "),
)
# zoo.data.text.join_words: tokens written against the word before them (closing), and
# after which the next word follows directly (opening); whole-token matches.
CLOSING = r"[.,!?;:%)\]}]+"
OPENING = r"[(\[{$#]+"
# Keras' TextVectorization "lower_and_strip_punctuation", after lowercasing (ASCII).
KERAS_STRIP_PUNCTUATION = ((r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']', ""),)
# The classifiers' linear features: each punctuation mark a word, after lowercasing (UTF-8).
LINEAR_FEATURE_WORDS = ((r"([^\pL\pN\s])", r" \1 "),)
# A small English tokenizer in the style of Universal Dependencies' English treebanks, for
# a sentence a text: clitics (n't, 's, 're, 've, 'll, 'm, 'd) and punctuation are tokens of
# their own; a comma only at a word's end (1,000 stays whole) and a period only at the
# text's end (Mr. and 3.5 stay whole). Text in other conventions goes through ``tag_tokens``.
TAGGER_SPLITS = (
    (r"(?i)(\w)(n't)\b", r"\1 \2"),
    (r"(?i)(\w)('s|'re|'ve|'ll|'m|'d)\b", r"\1 \2"),
    (r"([!?;:()\[\]{}\"“”‘’…])", r" \1 "),
    (r",(\s|$)", r" ,\1"),
    (r"\.\s*$", r" ."),
)


def apply_in_graph(text, rules):
    """``rules`` applied to a string tensor with ``tf.strings.regex_replace``."""
    import tensorflow as tf

    for pattern, replacement in rules:
        text = tf.strings.regex_replace(text, pattern, replacement)
    return text
