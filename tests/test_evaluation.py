"""segnb.evaluation cross-checked against torchmetrics (and, when SEGNB_MMSEG_PYTHON names a python with mmseg 0.30, mmseg)."""
import os, subprocess, sys, textwrap
import numpy as np, pytest, torch
from torchmetrics.functional.classification import multiclass_confusion_matrix, multiclass_jaccard_index, multiclass_f1_score
from segnb.evaluation import (confusion_matrix, intersect_and_union, eval_metrics, mean_iou, mean_fscore,
                              pre_eval_to_metrics, SegMetricAccumulator, summarize_metrics, total_area_to_metrics)

N = 7

def _data(seed=0, n_img=5, size=(33, 47)):
    rng = np.random.default_rng(seed)
    labels = [rng.integers(0, N, size).astype(np.uint8) for _ in range(n_img)]
    preds = [np.where(rng.random(size) < 0.6, l, rng.integers(0, N, size)).astype(np.int64) for l in labels]
    for l in labels: l[rng.random(size) < 0.1] = 255
    return preds, labels

def _tm_inputs(preds, labels):
    return torch.from_numpy(np.stack(preds)), torch.from_numpy(np.stack(labels).astype(np.int64))

def test_confusion_matrix_matches_torchmetrics():
    preds, labels = _data()
    cm = sum(confusion_matrix(p, l, N, 255) for p, l in zip(preds, labels))
    p, l = _tm_inputs(preds, labels)
    assert torch.equal(cm, multiclass_confusion_matrix(p, l, N, ignore_index=255))

def test_iou_and_fscore_match_torchmetrics():
    preds, labels = _data(1)
    p, l = _tm_inputs(preds, labels)
    r = eval_metrics(preds, labels, N, 255, ['mIoU', 'mFscore'])
    np.testing.assert_allclose(r['IoU'], multiclass_jaccard_index(p, l, N, average='none', ignore_index=255).numpy(), rtol=1e-6)
    np.testing.assert_allclose(r['Fscore'], multiclass_f1_score(p, l, N, average='none', ignore_index=255, multidim_average='global').numpy(), rtol=1e-6)
    s = summarize_metrics(r)
    assert s['mIoU'] == pytest.approx(multiclass_jaccard_index(p, l, N, average='macro', ignore_index=255).item(), rel=1e-6)

def test_streaming_pre_eval_and_accumulator_agree():
    preds, labels = _data(2)
    direct = mean_iou(preds, labels, N, 255)
    staged = pre_eval_to_metrics([intersect_and_union(p, l, N, 255) for p, l in zip(preds, labels)])
    acc = SegMetricAccumulator(N)
    for p, l in zip(preds, labels): acc.update(torch.from_numpy(p), torch.from_numpy(l))
    for r in (staged, acc.compute()):
        np.testing.assert_allclose(r['IoU'], direct['IoU']); np.testing.assert_allclose(r['aAcc'], direct['aAcc'])

def test_reduce_zero_label_equals_manual_shift():
    preds, labels = _data(3)
    shifted = [np.where(l == 255, 0, l + 1).astype(np.uint8) for l in labels]   # 0 = "other"
    a, b = mean_iou(preds, labels, N, 255), mean_iou(preds, shifted, N, 255, reduce_zero_label=True)
    np.testing.assert_allclose(a['IoU'], b['IoU'])

def test_all_ignored_is_an_error():
    p = np.zeros((4, 4), np.int64)
    with pytest.raises(ValueError, match='every pixel is ignored'): mean_iou([p], [np.full((4, 4), 255, np.uint8)], N, 255)

def test_absent_class_left_out_of_the_mean():
    l = np.zeros((2, 2), np.uint8); p = np.array([[0, 0], [0, 1]])
    s = summarize_metrics(mean_iou([p], [l], 3, 255))
    assert s['mIoU'] == pytest.approx(0.75)   # only class 0 is in the ground truth; mmseg's nanmean would say 0.375

MMSEG_PY = os.environ.get('SEGNB_MMSEG_PYTHON')

@pytest.mark.skipif(not MMSEG_PY, reason='set SEGNB_MMSEG_PYTHON to a python with mmsegmentation 0.30 installed')
def test_matches_mmseg(tmp_path):
    preds, labels = _data(4)
    np.savez(tmp_path / 'd.npz', *preds, *labels)
    code = textwrap.dedent(f'''
        import sys, types, numpy as np; sys.modules['mmcv._ext'] = types.ModuleType('mmcv._ext')
        from mmseg.core.evaluation import eval_metrics
        d = np.load(r"{tmp_path / 'd.npz'}"); a = [d[k] for k in d.files]; n = len(a) // 2
        r = eval_metrics(a[:n], a[n:], {N}, 255, ['mIoU', 'mDice', 'mFscore'])
        np.save(r"{tmp_path / 'r.npy'}", np.stack([r[k] for k in ('IoU', 'Acc', 'Dice', 'Fscore', 'Precision', 'Recall')]))''')
    subprocess.run([MMSEG_PY, '-c', code], check=True)
    ours = eval_metrics(preds, labels, N, 255, ['mIoU', 'mDice', 'mFscore'])
    np.testing.assert_allclose(np.stack([ours[k] for k in ('IoU', 'Acc', 'Dice', 'Fscore', 'Precision', 'Recall')]),
                               np.load(tmp_path / 'r.npy'), rtol=1e-6)
