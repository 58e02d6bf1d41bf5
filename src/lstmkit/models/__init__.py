"""Ready models built from the LSTM layer: sequence and text classification, language modelling,
sequence to sequence with attention, polyphonic music, and the LSTM-transformer comparison. Each
encoder is chosen by name (``lstm``, ``gru``, ``hybrid``, ``transformer``) from
``lstmkit.models.encoders``."""

from .classifier import EnsembleClassifier, SequenceClassifier
from .encoders import KINDS, Encoder, count_parameters, hidden_for_budget
from .language_model import LanguageModel
from .music import PianoRollModel
from .seq2seq import Seq2Seq
from .validation import cross_val_score

__all__ = ["KINDS", "EnsembleClassifier", "Encoder", "LanguageModel", "PianoRollModel", "Seq2Seq", "SequenceClassifier", "count_parameters",
           "cross_val_score", "hidden_for_budget"]
