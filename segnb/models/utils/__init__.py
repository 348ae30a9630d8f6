"Building blocks shared by the models (mmcv.cnn's ConvModule and friends, resize, init helpers)."
from .layers import *
from .up_conv_block import *
from .inverted_residual import *
from .inverted_residual_v3 import *
from .self_attention_block import *
from .transformer import *
from .embed import *
