"segnb's data, laid out as mmsegmentation 0.x's `mmseg/datasets`. Importing this package registers every built-in dataset and pipeline step."
from . import warp, loading, transforms, formatting, test_time_aug, datasets, shapes, checks, loader, sbd
from .loader import build_dataset, build_dataloader

__all__ = ['warp', 'loading', 'transforms', 'formatting', 'test_time_aug', 'datasets', 'shapes', 'checks', 'loader', 'sbd',
           'build_dataset', 'build_dataloader']
