"Backbones: importing this package registers them in `MODELS`."
from .resnet import *
from .unet import *
from .mobilenet_v2 import *
