"Necks: importing this package registers them in `MODELS`."
from .fpn import *
from .jpu import *
