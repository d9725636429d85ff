"""Building blocks, one concept per file."""

from .aggregation import TokenAggregation
from .attention import Attention, attend
from .block import Block
from .ffn import ConvMlp, Mlp
from .global_filter import GlobalFilter, GlobalLocalFilter
from .gnconv import GnConv
from .ln_conv import LayerNormConvDownsample
from .merge import ConvDownsample, PatchMerging
from .mixer import TokenMixer
from .patch_embed import ConvStem, OverlapPatchEmbed, PatchEmbed
from .position import AbsolutePositionEmbedding, RelativePositionBias, relative_position_index
from .shunted_attention import ShuntedAttention
from .sr_attention import SpatialReductionAttention
from .window_attention import WindowAttention
from .windows import window_attention_mask, window_partition, window_reverse

__all__ = [
    "AbsolutePositionEmbedding", "Attention", "Block", "ConvDownsample", "ConvMlp", "ConvStem", "GlobalFilter",
    "GlobalLocalFilter", "GnConv", "LayerNormConvDownsample", "Mlp", "OverlapPatchEmbed", "PatchEmbed", "PatchMerging",
    "RelativePositionBias", "ShuntedAttention", "SpatialReductionAttention", "TokenAggregation", "TokenMixer",
    "WindowAttention", "attend", "relative_position_index", "window_attention_mask", "window_partition",
    "window_reverse",
]
