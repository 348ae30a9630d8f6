"Decode heads: importing this package registers them in `MODELS`."
from .decode_head import *
from .heads import *
from .stdc_head import *
