"Necks: importing this package registers them in `MODELS`."
from .ic_neck import *
from .fpn import *
from .jpu import *
from .multilevel_neck import *
from .mla_neck import *
from .featurepyramid import *
