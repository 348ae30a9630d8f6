"""Loaders end to end: batches from the shipped VOC config, reproducible per-worker seeding, test-time batches,
RepeatDataset configs, and DistributedSampler / InfiniteSampler sharding under a real 2-process gloo group."""
import itertools, os
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from data_trees import make_voc
from free_port import free_port
from segnb.config import Config
from segnb.data.loader import build_dataset, build_dataloader, InfiniteSampler

CFG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'segnb', 'configs', '_base_', 'datasets', 'pascal_voc12.py')


def voc_cfg(root, split='train', **over):
    cfg = Config.fromfile(CFG).data[split]
    cfg.update(data_root=make_voc(root, train=tuple(f'2007_{i:06d}' for i in range(6))), **over)
    return cfg


def test_train_batches_from_config(tmp_path):
    cfg = Config.fromfile(CFG)
    ds = build_dataset(voc_cfg(tmp_path))
    dl = build_dataloader(ds, samples_per_gpu=cfg.data.samples_per_gpu, workers_per_gpu=2, seed=0, drop_last=True)
    b = next(iter(dl))
    assert b['img'].shape == (4, 3, 512, 512) and b['img'].dtype == torch.float32
    assert b['gt_semantic_seg'].shape == (4, 1, 512, 512) and b['gt_semantic_seg'].dtype == torch.int64
    assert len(b['img_metas']) == 4 and set(b['img_metas'][0]) == {'filename', 'ori_filename', 'ori_shape', 'img_shape',
                                                                    'pad_shape', 'scale_factor', 'flip', 'flip_direction', 'img_norm_cfg'}


def test_seeded_workers_reproducible_and_distinct(tmp_path):
    ds = build_dataset(voc_cfg(tmp_path))
    def metas(seed):
        dl = build_dataloader(ds, 1, 2, shuffle=False, seed=seed, persistent_workers=False)
        return [(float(m['img_metas'][0]['scale_factor'][0]), m['img_metas'][0]['flip']) for m in dl]
    a = metas(0)
    assert a == metas(0) and a != metas(1)
    assert len({s for s, _ in a}) == len(a)     # every sample (over both workers) drew its own resize ratio


def test_test_batches_pad_and_group_by_augmentation(tmp_path):
    cfg = voc_cfg(tmp_path, split='val')
    cfg.pipeline[1].update(img_ratios=[0.5, 1.0], flip=True)
    ds = build_dataset(cfg)
    ds.img_infos = ds.img_infos * 2            # two images per batch
    b = next(iter(build_dataloader(ds, 2, 0, shuffle=False)))
    assert len(b['img']) == len(b['img_metas']) == 4                      # 2 scales x 2 flips
    assert [t.shape for t in b['img']][:2] == [(2, 3, 256, 341)] * 2 and b['img'][2].shape == (2, 3, 512, 683)
    assert [[m['flip'] for m in aug] for aug in b['img_metas']] == [[False, False], [True, True]] * 2


def test_repeat_dataset_config(tmp_path):
    cfg = dict(type='RepeatDataset', times=3, dataset=voc_cfg(tmp_path))
    ds = build_dataset(cfg)
    assert len(ds) == 18 and ds.CLASSES[15] == 'person'


def _ddp_worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        for infinite in (False, True):
            loader = build_dataloader(range(10), 2, 0, dist=True, shuffle=True, seed=3, infinite=infinite)
            batches = itertools.islice(iter(loader), 5) if infinite else iter(loader)
            out.put((rank, type(getattr(loader.sampler, 'sampler', loader.sampler)).__name__, [int(i) for batch in batches for i in batch]))
    finally:
        dist.destroy_process_group()


def test_distributed_sharding():
    "One gloo group of 2 processes: DistributedSampler splits an epoch, InfiniteSampler splits each pass."
    ctx = mp.get_context('spawn')
    q = ctx.Queue()
    mp.start_processes(_ddp_worker, args=(2, free_port(), q), nprocs=2, join=True, start_method='spawn')
    res = {(r, name): seen for r, name, seen in (q.get(timeout=30) for _ in range(4))}
    s0, s1 = res[0, 'DistributedSampler'], res[1, 'DistributedSampler']
    assert len(s0) == len(s1) == 5 and sorted(s0 + s1) == list(range(10))
    i0, i1 = res[0, 'InfiniteSampler'], res[1, 'InfiniteSampler']
    assert len(i0) == len(i1) == 10 and sorted(i0[:5] + i1[:5]) == list(range(10))   # each pass split, no overlap


def test_infinite_sampler_reshuffles_each_pass():
    s = list(itertools.islice(iter(InfiniteSampler(range(5), seed=7)), 15))
    assert all(sorted(s[i:i + 5]) == list(range(5)) for i in (0, 5, 10)) and s[:5] != s[5:10]
    assert list(itertools.islice(iter(InfiniteSampler(range(5), shuffle=False)), 7)) == [0, 1, 2, 3, 4, 0, 1]
