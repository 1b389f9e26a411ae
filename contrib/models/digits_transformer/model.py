"""A transformer encoder that reads a digit image as a sequence of its 8 rows.

Each row (8 pixels) is projected to 32 features and given a learned position embedding;
two encoder layers (4 heads, feed-forward 64, pre-norm) mix the rows; the mean over rows
goes through a layer norm and a linear layer to 10 logits.
"""

import framework as fw
from framework import nn

D_MODEL = 32


class RowTransformer(nn.Module):
    """Rows of an 8x8 image as an 8-step sequence -> 10 class logits."""

    def __init__(self, d_model: int = D_MODEL, layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.embed = nn.Linear(8, d_model)
        self.position = nn.Parameter(fw.randn(1, 8, d_model) * 0.1)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model,
                                           dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 10)

    def forward(self, rows):
        h = self.encoder(self.embed(rows) + self.position)
        return self.head(self.norm(h.mean(1)))


def build_model() -> nn.Module:
    """The untrained network; ``model.safetensors`` holds its trained ``state_dict``."""
    return RowTransformer()


#: The input the card declares: a batch of 8x8 images (8 rows of 8 pixels in [0, 1]).
INPUT_SPEC = [fw.jit.InputSpec([None, 8, 8], fw.float32)]
