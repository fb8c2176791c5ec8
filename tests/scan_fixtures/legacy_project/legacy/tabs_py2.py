# -*- coding: latin-1 -*-
# Auteur : équipe modèles (Latin-1 bytes, as the cookie says)
from tensorflow.contrib.rnn import DropoutWrapper, GRUBlockCellV2
from tensorflow.contrib.cudnn_rnn import CudnnCompatibleGRUCell


class Encoder(object):
    def __init__(self, keep, cudnn):
        if cudnn:
	    self.cell = CudnnCompatibleGRUCell(64)
        else:
	    self.cell = GRUBlockCellV2(64)
        self.keep = keep

    def build(self):
	print "building"
        return DropoutWrapper(self.cell, state_keep_prob=self.keep)  # expect: TRD104
