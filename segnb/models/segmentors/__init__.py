"Segmentors: importing this package registers them in `MODELS`."
from .encoder_decoder import *
