# The tiny PSPNet whose rank 1 dies after iteration 2 (tests/die_hook.py must be importable).
_base_ = './tiny_pspnet.py'
custom_imports = dict(imports=['die_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='DieAtIterHook', rank=1, at_iter=2)]
runner = dict(max_iters=50)
dist_params = dict(backend='gloo', timeout=30)
