"""Independent, deliberately plain implementations of published models, for checking and timing ours.

``shunted``: the Shunted Transformer (Ren et al., CVPR 2022), against which the ``shunted_*``
presets and ``vt_core.layers.ShuntedAttention`` are tested and ``python -m vt_core.bench`` times them.
"""

from .shunted import ShuntedTransformerReference, copy_into_reference, reference_from_config
from .shunted_attention import ReferenceShuntedAttention, copy_attention_into_reference

__all__ = [
    "ReferenceShuntedAttention", "ShuntedTransformerReference", "copy_attention_into_reference",
    "copy_into_reference", "reference_from_config",
]
