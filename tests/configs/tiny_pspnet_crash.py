# The tiny PSPNet whose process dies half-way through writing its 2nd checkpoint (tests/crash_save.py).
_base_ = './tiny_pspnet.py'
custom_imports = dict(imports=['crash_save'], allow_failed_imports=False)
checkpoint_config = dict(interval=2)
