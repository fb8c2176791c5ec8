"""Re-exports: the models import cells from here."""
from . import rnn_cell
from .rnn_cell import MyGRUCell, PlainCell

__all__ = ["rnn_cell", "MyGRUCell", "PlainCell"]
