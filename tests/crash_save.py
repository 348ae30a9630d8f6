"""Imported through custom_imports by tests/configs/tiny_pspnet_crash.py: the process dies in the middle of writing
its 2nd checkpoint (half the bytes written and flushed, then os._exit), as a SIGKILL or power cut would leave it."""
import io, os
import torch

_real_save, _calls = torch.save, [0]

def _crashing_save(obj, f, *args, **kwargs):
    _calls[0] += 1
    if _calls[0] < 2: return _real_save(obj, f, *args, **kwargs)
    buf = io.BytesIO(); _real_save(obj, buf, *args, **kwargs)
    data = buf.getvalue()
    f.write(data[:len(data) // 2]); f.flush()
    os._exit(9)

torch.save = _crashing_save
