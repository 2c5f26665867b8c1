"""JPEG decoding on a GPU (nvJPEG, through torchvision), where one exists; else nothing.

Decoding is what ingest, OCR and thumbnails spend most of their time on. With
``decode_device = "gpu"`` in ``dalil.toml``, and where ``torch`` and ``torchvision`` with CUDA
are importable and a GPU is visible, JPEGs are decoded by nvJPEG: a batch in one call
(:func:`decode_reduced`), reduced on the GPU by area averaging to the size the CPU path would
have made by DCT scaling, then copied back. Everywhere else — no torch, no CUDA, no GPU,
``DALIL_GPU=0`` — :func:`available` says so and the CPU path runs, unchanged. Nothing here
ever makes a GPU a requirement; torch is not a dependency of Dalil.

A JPEG that nvJPEG cannot decode (damaged, CMYK, an unusual sampling) comes back as None: the
caller decodes that one on the CPU, which also names the damage (libjpeg-turbo's warnings).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]


@cache
def available() -> str | None:
    """The CUDA device's name when GPU decoding can run here, else None (never raises)."""
    if os.environ.get("DALIL_GPU", "") == "0":
        return None
    try:
        import torch
        import torchvision.io  # noqa: F401 - decode_jpeg lives there
    except Exception:  # not installed, or a broken CUDA build
        return None
    try:
        if not torch.cuda.is_available():
            return None
        return str(torch.cuda.get_device_name(0))
    except Exception:
        return None


def decode_reduced(datas: list[bytes], side: int) -> list[U8 | None]:
    """Each JPEG decoded (RGB) and reduced like the CPU path, as height x width x 3 arrays;
    None for one the GPU could not decode. Raises RuntimeError when no GPU is available."""
    if available() is None:
        raise RuntimeError("no GPU decoding here (torch with CUDA and a visible GPU needed)")
    import torch
    import torch.nn.functional as F
    from torchvision.io import ImageReadMode, decode_jpeg

    from dalil.ingest.decode import scale_for

    out: list[U8 | None] = [None] * len(datas)
    tensors = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in datas]
    try:
        decoded: list[Any] = decode_jpeg(tensors, mode=ImageReadMode.RGB, device="cuda")
    except RuntimeError:  # one bad JPEG fails the batch: decode them one by one
        decoded = []
        for tensor in tensors:
            try:
                decoded.append(decode_jpeg(tensor, mode=ImageReadMode.RGB, device="cuda"))
            except RuntimeError:
                decoded.append(None)
    for i, image in enumerate(decoded):
        if image is None:
            continue
        _, height, width = (int(v) for v in image.shape)
        factor = scale_for((width, height), side)
        if factor > 1:
            image = F.avg_pool2d(image.unsqueeze(0).float(), factor).round().to(torch.uint8)[0]
        out[i] = np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy())
    return out
