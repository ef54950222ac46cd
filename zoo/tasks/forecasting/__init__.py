"""Forecasting: the next values of one or more numeric series from a window of the past."""

from zoo.tasks.forecasting.models import build_rnn_forecaster
from zoo.tasks.forecasting.task import TASK

__all__ = ["TASK", "build_rnn_forecaster"]
