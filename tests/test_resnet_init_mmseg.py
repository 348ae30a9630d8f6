"""ResNetV1d's and plain ResNet's initialisation against mmseg 0.30 (tests/test_resnet.py checks ResNetV1c's): after
`init_weights` the same tensors are all-zero / all-one (zero_init_residual, unit norms) and the Kaiming conv weights
have the same spread. Skips without SEGNB_MMSEG_VENV (CI sets it)."""
import torch
from segnb.registry import MODELS
import segnb.models  # noqa: F401  registers the backbones
from mmseg_venv import needs_mmseg, run_mmseg

D8 = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
CASES = {'v1d18_d8': dict(type='ResNetV1d', depth=18, **D8),                      # deep stem, avg_down
         'r50_zero_init': dict(type='ResNet', depth=50, zero_init_residual=True, **D8)}

MM_INIT = '''
from mmseg.models import build_backbone
torch.manual_seed(0)
for name, cfg in inp['cases'].items():
    m = build_backbone(dict(cfg)); m.init_weights()
    out[name] = m.state_dict()
'''


def summary(sd):
    floats = {k: v for k, v in sd.items() if v.dtype.is_floating_point}
    return (sorted(k for k, v in floats.items() if not v.any()), sorted(k for k, v in floats.items() if bool((v == 1).all())),
            {k: float(v.std()) for k, v in floats.items() if k.endswith('.weight') and v.dim() == 4})


@needs_mmseg
def test_resnet_v1d_and_resnet_init_match_mmseg():
    mm = run_mmseg(MM_INIT, cases=CASES)
    for name, cfg in CASES.items():
        torch.manual_seed(0)
        m = MODELS.build(dict(cfg)); m.init_weights()
        zero, one, std = summary(m.state_dict())
        ref_zero, ref_one, ref_std = summary(mm[name])
        assert zero == ref_zero and one == ref_one, name
        assert zero and one, name                          # the check has something to compare
        assert std.keys() == ref_std.keys(), name
        for k, s in ref_std.items(): assert abs(std[k] / s - 1) < 0.15, (name, k, std[k], s)   # Kaiming: same spread
