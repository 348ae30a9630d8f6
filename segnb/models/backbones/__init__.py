"Backbones: importing this package registers them in `MODELS`."
from .resnet import *
from .hrnet import *
from .unet import *
from .mobilenet_v2 import *
from .resnest import RSoftmax as RSoftmax, SplitAttentionConv2d as SplitAttentionConv2d, ResNeSt as ResNeSt  # not its Bottleneck
from .mobilenet_v3 import *
