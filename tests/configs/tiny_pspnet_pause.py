# The tiny PSPNet that pauses after iteration $SEGNB_TEST_PAUSE_AT, after its checkpoint and log (tests/pause_hook.py).
_base_ = './tiny_pspnet.py'
custom_imports = dict(imports=['pause_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='PauseAtIterHook', priority='LOWEST')]
