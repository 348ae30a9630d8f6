"""mmcv 1.7's transformer bricks and mmseg 0.30's patch embedding: same keys, same outputs as segnb's (nbs 84a, 84b)."""
import pytest, torch
from segnb.models.utils.transformer import MultiheadAttention, FFN
from segnb.models.utils.embed import PatchEmbed, PatchMerging
from mmseg_venv import needs_mmseg, run_mmseg

BRICKS = dict(MultiheadAttention=MultiheadAttention, FFN=FFN, PatchEmbed=PatchEmbed, PatchMerging=PatchMerging)
pytestmark = [pytest.mark.filterwarnings('ignore'), needs_mmseg]

_MM = '''
from mmcv.cnn.bricks.transformer import MultiheadAttention, FFN
from mmseg.models.utils.embed import PatchEmbed, PatchMerging
for name, (cls, kw, args) in inp['cases'].items():
    m = eval(cls)(**kw).eval()
    m.load_state_dict(inp['sds'][name], strict=True)
    with torch.no_grad(): out[name] = m(*args)
'''

def test_bricks_match_mmcv_and_mmseg():
    torch.manual_seed(0)
    x, q, pos, img = torch.randn(2, 12, 16), torch.randn(2, 5, 16), torch.randn(2, 5, 16), torch.randn(1, 3, 30, 21)
    cases = {
        'mha': ('MultiheadAttention', dict(embed_dims=16, num_heads=4, batch_first=True), (q, x, x, None, pos)),
        'mha_seq_first': ('MultiheadAttention', dict(embed_dims=16, num_heads=2, bias=False), (x.transpose(0, 1),)),
        'ffn': ('FFN', dict(embed_dims=16, feedforward_channels=40, num_fcs=3, act_cfg=dict(type='GELU')), (x,)),
        'embed': ('PatchEmbed', dict(in_channels=3, embed_dims=8, kernel_size=7, stride=4, padding='same',
                                     norm_cfg=dict(type='LN')), (img,)),
        'embed_corner': ('PatchEmbed', dict(in_channels=3, embed_dims=8, kernel_size=8), (img,)),
        'merge': ('PatchMerging', dict(in_channels=16, out_channels=24), (torch.randn(2, 15, 16), (5, 3))),
    }
    ours, sds = {}, {}
    for name, (cls, kw, args) in cases.items():
        m = BRICKS[cls](**kw).eval()
        for p in m.parameters(): p.data.uniform_(-.5, .5)
        sds[name] = m.state_dict()
        with torch.no_grad(): ours[name] = m(*args)
    ref = run_mmseg(_MM, cases=cases, sds=sds)
    for name in cases: torch.testing.assert_close(ours[name], ref[name], rtol=1e-5, atol=1e-5, msg=name)
