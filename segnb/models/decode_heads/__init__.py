"Decode heads: importing this package registers them in `MODELS`."
from .decode_head import *
from .heads import *
from .stdc_head import *
from .ocr_head import *
from .fpn_head import *
from .lraspp_head import *
from .sep_fcn_head import *
