"Losses and accuracy: importing this package registers them in `MODELS`."
from .losses import *
