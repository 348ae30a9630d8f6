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
from .convnext import *
from .poolformer import PoolFormer as PoolFormer, PoolFormerBlock as PoolFormerBlock, Pooling as Pooling, basic_blocks as basic_blocks   # not its PatchEmbed and Mlp: mmseg's transformer bricks keep those names
from .mit import MixFFN as MixFFN, EfficientMultiheadAttention as EfficientMultiheadAttention, MixVisionTransformer as MixVisionTransformer   # not its TransformerEncoderLayer: ViT's keeps the name
from .twins import PCPVT as PCPVT, SVT as SVT, GlobalSubsampledAttention as GlobalSubsampledAttention, LocallyGroupedSelfAttention as LocallyGroupedSelfAttention, ConditionalPositionEncoding as ConditionalPositionEncoding, GSAEncoderLayer as GSAEncoderLayer, LSAEncoderLayer as LSAEncoderLayer
from .swin import WindowMSA as WindowMSA, ShiftWindowMSA as ShiftWindowMSA, SwinBlock as SwinBlock, SwinBlockSequence as SwinBlockSequence, SwinTransformer as SwinTransformer
from .beit import *
from .mae import *
