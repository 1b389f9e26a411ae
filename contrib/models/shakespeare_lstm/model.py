"""A character-level LSTM language model for the bundled Shakespeare text.

Character ids (the sorted characters of the whole text, as ``fw.data.CharCorpus`` numbers
them) -> a 32-feature embedding -> one LSTM layer of 128 units -> logits over the next
character at every position.
"""

import framework as fw
from framework import nn

#: Characters of the bundled text (``fw.data.CharCorpus().vocab_size``).
VOCAB_SIZE = 62
#: The window length the saved program reads (the card's input shape; training used 64).
SEQ_LEN = 32


class CharLSTM(nn.Module):
    """(batch, seq) character ids -> (batch, seq, vocab) next-character logits."""

    def __init__(self, vocab_size: int = VOCAB_SIZE, embed: int = 32, hidden: int = 128) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids):
        x = self.embed(ids)
        # The zero initial state, written as an op on the input so that a saved program
        # keeps the batch size dynamic (a constant of the traced batch size would not).
        h0 = (x[:, 0, :1] * 0 + fw.zeros(1, self.lstm.hidden_size)).unsqueeze(0)
        out, _ = self.lstm(x, (h0, h0))
        return self.head(out)


def build_model() -> nn.Module:
    """The untrained network; ``model.safetensors`` holds its trained ``state_dict``."""
    return CharLSTM()


INPUT_SPEC = [fw.jit.InputSpec([None, SEQ_LEN], fw.int64)]
