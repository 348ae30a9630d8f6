"""segnb.evaluation cross-checked against torchmetrics (and, when SEGNB_MMSEG_PYTHON names a python with mmseg 0.30, mmseg)."""
import os, re, subprocess, textwrap
import numpy as np, pytest, torch
from torchmetrics.functional.classification import multiclass_confusion_matrix, multiclass_jaccard_index, multiclass_f1_score
from segnb.evaluation import (confusion_matrix, intersect_and_union, eval_metrics, mean_iou, pre_eval_to_metrics, SegMetricAccumulator, summarize_metrics, format_metrics_table)

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

# Hand-computed example: 4 classes, class 3 never labelled but predicted once (all false positive).
HAND_LABEL = np.array([[0, 0, 1, 1], [2, 2, 2, 255]], np.uint8)
HAND_PRED = np.array([[0, 1, 1, 3], [2, 0, 2, 0]])
PRED3 = np.array([[0, 1, 1, 1], [2, 0, 2, 0]])             # the same with 3 classes, all in the ground truth

def test_absent_but_predicted_class_counts_as_in_mmseg():
    r = mean_iou([HAND_PRED], [HAND_LABEL], 4, 255)
    # by hand (intersect, union, label): class 0 (1, 3, 2), class 1 (1, 3, 2), class 2 (2, 3, 3), class 3 (0, 1, 0)
    np.testing.assert_allclose(r['IoU'], [1 / 3, 1 / 3, 2 / 3, 0]); assert np.isnan(r['Acc'][3])
    s = summarize_metrics(r)
    # mmseg 0.30: dataset.evaluate reports np.nanmean(ret_metrics['IoU']): the 0 of class 3 counts, its nan Acc does not
    assert s['mIoU'] == pytest.approx((1 / 3 + 1 / 3 + 2 / 3 + 0) / 4)     # the old present-classes-only rule: 4/9
    assert s['mAcc'] == pytest.approx((1 / 2 + 1 / 2 + 2 / 3) / 3) and s['aAcc'] == pytest.approx(4 / 7)
    assert summarize_metrics(r, rounded=True)['mIoU'] == pytest.approx(0.3333, abs=1e-12)

def test_table_summary_states_and_shows_the_mmseg_mean():
    tbl = format_metrics_table(mean_iou([HAND_PRED], [HAND_LABEL], 4, 255), ['bg', 'circle', 'square', 'star'])
    lines = tbl.splitlines()
    assert lines[7].split() == ['|', 'star', '|', '0.00', '|', 'nan', '|', 'absent', '|']
    assert lines[9] == ('Summary: class means as in mmseg (np.nanmean: nan entries skipped): mIoU over 4, mAcc over 3 of 4 '
                        'classes; the 1 marked absent (not in the ground truth) count as 0 where their value is 0 '
                        '(predicted: false positives only)')
    assert lines[11].split('|')[1:4] == [' aAcc  ', ' mIoU  ', ' mAcc  '] and lines[13] == '| 57.14 | 33.33 | 55.56 |'
    all_present = format_metrics_table(mean_iou([PRED3], [HAND_LABEL], 3, 255))
    assert 'mIoU over 3, mAcc over 3 of 3 classes\n' in all_present and 'absent' not in all_present

@pytest.mark.parametrize('v', [-1, 3, 254, 255, 2 ** 31 - 1])
def test_any_prediction_is_accepted_where_the_label_is_ignored(v):
    pred = np.where(HAND_LABEL == 255, v, PRED3)
    cm = confusion_matrix(pred, HAND_LABEL, 3, 255)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]
    np.testing.assert_allclose(mean_iou([pred], [HAND_LABEL], 3, 255)['IoU'], [1 / 3, 2 / 3, 2 / 3])
    acc = SegMetricAccumulator(3); acc.update(torch.from_numpy(pred), torch.from_numpy(HAND_LABEL))
    assert torch.equal(acc.cm, cm)

def test_out_of_range_prediction_ignored_also_with_reduce_zero_label_and_inner_ignore_index():
    raw = np.array([[0, 1, 2, 3]], np.uint8)                     # reduce_zero_label: 0 -> 255 (ignored)
    cm = confusion_matrix(np.array([[254, 0, 1, 2]], np.uint8), raw, 3, 255, reduce_zero_label=True)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    cm = confusion_matrix(np.array([[0, 1, -1, -1]]), np.array([[0, 1, 2, 2]]), 3, ignore_index=2)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]

def test_out_of_range_prediction_on_a_counted_pixel_is_an_error():
    pred = PRED3
    with pytest.raises(ValueError, match=re.escape('prediction values [-1, 254] are not classes (0..2) on 2 pixel(s) whose '
                                                   'label is a class (not ignore_index 255); predictions must be class '
                                                   'indices: check num_classes and that the predictions are argmax label maps')):
        confusion_matrix(np.where(HAND_LABEL == 1, [[0, 0, -1, 254], [0, 0, 0, 0]], pred), HAND_LABEL, 3, 255)
    # -1 on a class-1 pixel used to land silently in cm[0, 2] (1 * 3 - 1 = 2); now it is caught
    with pytest.raises(ValueError, match=re.escape('prediction values [-1] are not classes (0..2) on 1 pixel(s)')):
        confusion_matrix(np.where((HAND_LABEL == 1) & (np.arange(4) == 2), -1, pred), HAND_LABEL, 3, 255)
    with pytest.raises(ValueError, match=re.escape('prediction values [3] are not classes (0..2) on 1 pixel(s)')):
        mean_iou([HAND_PRED], [HAND_LABEL], 3, 255)
    with pytest.raises(ValueError, match=re.escape('label values [7] are neither classes (0..2) nor ignore_index (255)')):
        confusion_matrix(np.where(HAND_LABEL == 255, -1, pred), np.where(HAND_LABEL == 255, 7, HAND_LABEL), 3, 255)

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

@pytest.mark.skipif(not MMSEG_PY, reason='set SEGNB_MMSEG_PYTHON to a python with mmsegmentation 0.30 installed')
def test_ignored_out_of_range_preds_and_absent_class_match_mmseg(tmp_path):
    preds, labels = _data(5)
    rng = np.random.default_rng(5)
    for p, l in zip(preds, labels):
        p[rng.random(p.shape) < 0.05] = N                                       # class N: predicted, never labelled
        p[l == 255] = rng.choice([-1, 254, N + 5], size=int((l == 255).sum()))  # anything where the label is ignored
    np.savez(tmp_path / 'd.npz', *preds, *labels)
    code = textwrap.dedent(f'''
        import sys, types, numpy as np; sys.modules['mmcv._ext'] = types.ModuleType('mmcv._ext')
        from mmseg.core.evaluation import eval_metrics
        d = np.load(r"{tmp_path / 'd.npz'}"); a = [d[k] for k in d.files]; n = len(a) // 2
        r = eval_metrics(a[:n], a[n:], {N + 1}, 255, ['mIoU', 'mDice'])
        np.save(r"{tmp_path / 'r.npy'}", np.stack([r[k] for k in ('IoU', 'Acc', 'Dice')]))''')
    subprocess.run([MMSEG_PY, '-c', code], check=True)
    ref = np.load(tmp_path / 'r.npy')
    ours = eval_metrics(preds, labels, N + 1, 255, ['mIoU', 'mDice'])
    np.testing.assert_allclose(np.stack([ours[k] for k in ('IoU', 'Acc', 'Dice')]), ref, rtol=1e-6)
    assert ref[0, N] == 0 and np.isnan(ref[1, N])                                 # the case where the old rules differed
    s = summarize_metrics(ours)
    np.testing.assert_allclose([s['mIoU'], s['mAcc'], s['mDice']], np.nanmean(ref, axis=1), rtol=1e-12)
