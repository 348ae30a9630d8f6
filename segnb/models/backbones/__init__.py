"Backbones: importing this package registers them in `MODELS`."
from .resnet import *
from .bisenetv1 import *
from .icnet import *
from .bisenetv2 import *
from .stdc import STDCModule, STDCNet, STDCContextPathNet, STDC_ARCHS   # not its FeatureFusionModule: bisenetv1 keeps the name
from .hrnet import *
from .unet import *
from .mobilenet_v2 import *
from .resnest import RSoftmax, SplitAttentionConv2d, ResNeSt   # not its Bottleneck: resnet.Bottleneck keeps the name
from .mobilenet_v3 import *
from .fast_scnn import FastSCNN, LearningToDownsample, GlobalFeatureExtractor   # not its FeatureFusionModule: bisenetv1 keeps the name
from .cgnet import *
from .erfnet import *
