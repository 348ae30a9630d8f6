"segnb's models, laid out as mmsegmentation 0.x's `mmseg/models`. Importing this package registers every built-in type."
from . import utils, losses, backbones, necks, decode_heads, segmentors
from .segmentors import build_segmentor

__all__ = ['utils', 'losses', 'backbones', 'necks', 'decode_heads', 'segmentors', 'build_segmentor']
