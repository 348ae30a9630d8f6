"Backbones: importing this package registers them in `MODELS`."
from .resnet import *
from .bisenetv1 import *
from .icnet import *
from .bisenetv2 import *
from .stdc import STDCModule as STDCModule, STDCNet as STDCNet, STDCContextPathNet as STDCContextPathNet, STDC_ARCHS as STDC_ARCHS   # not its FeatureFusionModule: bisenetv1 keeps the name
from .hrnet import *
from .unet import *
from .mobilenet_v2 import *
from .resnest import RSoftmax as RSoftmax, SplitAttentionConv2d as SplitAttentionConv2d, ResNeSt as ResNeSt  # not its Bottleneck
from .mobilenet_v3 import *
from .fast_scnn import FastSCNN as FastSCNN, LearningToDownsample as LearningToDownsample, GlobalFeatureExtractor as GlobalFeatureExtractor   # not its FeatureFusionModule: bisenetv1 keeps the name
from .cgnet import *
from .erfnet import *
from .vit import *
from .beit import *
from .mae import *
