"Backbones: importing this package registers them in `MODELS`."
from .resnet import *
from .bisenetv1 import *
from .icnet import *
from .bisenetv2 import *
from .stdc import *
