"Decode heads: importing this package registers them in `MODELS`."
from .decode_head import *
from .heads import *
from .ocr_head import *
from .nl_head import *
from .gc_head import *
from .da_head import *
from .cc_head import *
from .ann_head import *
from .enc_head import *
from .apc_head import *
from .dm_head import *
from .dnl_head import *
from .isa_head import *
from .psa_head import *
from .ema_head import *
