"""Builders, one module per family; importing this registers them all."""

from zoo.models.classifier import build_sentiment_lstm, build_topic_gru
from zoo.models.language_model import build_next_word_rnn, build_stacked_lstm
from zoo.models.seq2seq import build_chatbot

__all__ = ["build_chatbot", "build_next_word_rnn", "build_sentiment_lstm",
           "build_stacked_lstm", "build_topic_gru"]
