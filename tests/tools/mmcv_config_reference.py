"""Write mmcv 1.7.2's merged dicts for every leaf config under a folder, as the reference segnb's Config must match.

Run it with the python of a venv that has mmcv 1.7.2 (never imported by segnb itself):

    /path/to/mmvenv/bin/python tests/tools/mmcv_config_reference.py CONFIG_ROOT OUT.pkl

OUT.pkl holds {relative path: ('ok', plain dict, text) | ('error', 'ExceptionType: message', '')}, where text is
mmcv's `Config.text` (each file's path and content, bases first). Leaf configs are the
.py files outside `_base_` folders. Configs whose `custom_imports` fail to import (any exception) are loaded
again with `import_custom_modules=False` and stored under ('no_custom_imports', dict).
"""
import os, pickle, sys, time, types
sys.modules.setdefault('mmcv._ext', types.ModuleType('mmcv._ext'))   # the venv's mmcv has no compiled ops
import warnings; warnings.filterwarnings('ignore')
from mmcv import Config


def leaf_configs(root):
    "Relative paths of the .py configs under `root` that are not in a `_base_` folder, sorted."
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x != '_base_')
        out += [os.path.relpath(os.path.join(d, f), root) for f in files if f.endswith('.py')]
    return sorted(out)


def load(path):
    "('ok', dict, text), or ('no_custom_imports', dict, text) when custom_imports fail, or ('error', message, '')."
    try:
        cfg = Config.fromfile(path)
        return 'ok', cfg._cfg_dict.to_dict(), cfg.text
    except Exception as e: err = f'{type(e).__name__}: {e}'
    try: cfg = Config.fromfile(path, import_custom_modules=False)
    except Exception: return 'error', err, ''
    # here mmcls imports but its mmcv ops do not (AssertionError); elsewhere it is an ImportError
    return ('no_custom_imports', cfg._cfg_dict.to_dict(), cfg.text) if 'custom_imports' in cfg else ('error', err, '')


def main(root, out):
    t0 = time.perf_counter()
    ref = {rel: load(os.path.join(root, rel)) for rel in leaf_configs(root)}
    with open(out, 'wb') as f: pickle.dump(ref, f)
    kinds = {}
    for kind, *_ in ref.values(): kinds[kind] = kinds.get(kind, 0) + 1
    print(f'{len(ref)} leaf configs -> {out} ({kinds}) in {time.perf_counter() - t0:.1f} s')


if __name__ == '__main__':
    main(*sys.argv[1:3])
