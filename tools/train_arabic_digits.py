"""Train the Arabic-Indic digit classifier shipped as ``src/dalil/ocr/arabic_digits_v1.npz``.

    .venv/bin/python tools/train_arabic_digits.py [--out PATH] [--per-class 140] [--epochs 30]

Offline and deterministic (seed 20240611): the same fonts give the same weights. Training data
are renderings of the Arabic-Indic digits ``٠١٢٣٤٥٦٧٨٩`` in the Debian Arabic fonts
(fonts-kacst, fonts-kacst-one, fonts-hosny-amiri, fonts-arabeyes), each glyph used both as
drawn and as its skeleton re-inked with a round pen of random width (so that calligraphic
fonts teach pen-stroke digits too), under random rotation, shear, aspect change, elastic
distortion, stroke thickening/thinning, reduction to 14-60 px, blur and noise. Class 10
("not an Arabic-Indic digit") holds Latin capitals and the Western digits that do not look
like an Arabic-Indic one (2-8), from DejaVu and the Arabic fonts' Latin glyphs, plus scraps of
lines. The KacstOne family is held out: its accuracy is printed at the end (and checked by
``tests/ocr/test_digits.py``). The demo generator's stroke font (``dalil.demo.handwriting``)
is never used: it is what the tests and the benchmark read.

Needs only numpy, OpenCV and Pillow (no torch, no scikit-learn); takes about five minutes on
two cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from dalil.ocr.digits import ARABIC_INDIC, FEATURES, OTHER, WEIGHTS_PATH, glyph_vector

SEED = 20240611
FONT_DIRS = (
    "/usr/share/fonts/truetype/kacst",
    "/usr/share/fonts/truetype/kacst-one",
    "/usr/share/fonts/truetype/fonts-arabeyes",
    "/usr/share/fonts/opentype/fonts-hosny-amiri",
)
LATIN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
)
HOLDOUT = ("KacstOne.ttf", "KacstOne-Bold.ttf")
SKIP = ("AmiriQuran",)  # the Quran fonts draw no plain digits
# Latin capitals and Western digits that cannot be mistaken for an Arabic-Indic digit
# (I and 1 look like Arabic-Indic one, O and 0 like five, V like seven, A like eight,
# 9 like nine: they are left out)
OTHERS = "BCDEFGHJKLMNPQRSTUWXYZ2345678#/"
RENDER = 96

Mask = npt.NDArray[np.bool_]
F32 = npt.NDArray[np.float32]


def arabic_fonts() -> list[Path]:
    found: list[Path] = []
    for d in FONT_DIRS:
        found.extend(sorted(Path(d).glob("*.[ot]tf")))
    return [p for p in found if not any(p.name.startswith(s) for s in SKIP)]


def render(font: ImageFont.FreeTypeFont, ch: str) -> Mask | None:
    canvas = Image.new("L", (RENDER * 2, RENDER * 2), 0)
    ImageDraw.Draw(canvas).text((RENDER // 2, RENDER // 3), ch, font=font, fill=255)
    a = np.asarray(canvas) > 127
    ys, xs = np.nonzero(a)
    if len(ys) == 0:
        return None
    return a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def skeleton(mask: Mask) -> Mask:
    """Zhang-Suen thinning (vectorised), to re-ink a glyph with a round pen."""
    img = np.pad(mask, 1).astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            p = img
            n = [
                np.roll(p, s, axis=(0, 1))
                for s in ((1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1))
            ]
            p2, p3, p4, p5, p6, p7, p8, p9 = n
            b = sum(n)
            seq = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            a = sum(((seq[i] == 0) & (seq[i + 1] == 1)).astype(np.uint8) for i in range(8))
            if step == 0:
                c1, c2 = p2 * p4 * p6, p4 * p6 * p8
            else:
                c1, c2 = p2 * p4 * p8, p2 * p6 * p8
            kill = (p == 1) & (b >= 2) & (b <= 6) & (a == 1) & (c1 == 0) & (c2 == 0)
            if kill.any():
                img = img.copy()
                img[kill] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1] > 0


def augment(base: Mask, pen: bool, ref: float, rng: np.random.Generator) -> F32 | None:
    """One distorted sample of ``base`` as a classifier input vector."""
    pad = 40
    src = np.pad(base, pad).astype(np.float32)
    h, w = src.shape
    angle = np.deg2rad(rng.normal(0, 6))
    shear = rng.uniform(-0.4, 0.4)
    sx, sy = rng.uniform(0.7, 1.3), rng.uniform(0.85, 1.15)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lin = rot @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    centre = np.array([w / 2, h / 2])
    m = np.hstack([lin, (centre - lin @ centre)[:, None]]).astype(np.float32)
    out = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR)
    # elastic distortion: a smooth random displacement field
    alpha, sigma = rng.uniform(0, 5), rng.uniform(6, 12)
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    norm = max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out = cv2.remap(out, gx + dx * alpha / norm, gy + dy * alpha / norm, cv2.INTER_LINEAR)
    ink = (out > 0.5).astype(np.uint8)
    if pen:
        k = int(rng.integers(4, 13))
        ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    else:
        k = int(rng.integers(0, 4))
        if k and rng.random() < 0.5:
            ink = cv2.dilate(ink, np.ones((k, k), np.uint8))
        elif k:
            thin = cv2.erode(ink, np.ones((k, k), np.uint8))
            ink = thin if thin.sum() > 0.4 * ink.sum() else ink
    ys, xs = np.nonzero(ink)
    if len(ys) == 0:
        return None
    ink = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    # reduce to the size a digit has in a photo, blur, add noise, threshold again
    target = rng.uniform(14, 60) / RENDER
    gh, gw = ink.shape
    nh, nw = max(2, round(gh * target)), max(2, round(gw * target))
    small = cv2.resize(ink.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA)
    small = np.pad(small, 3)
    if rng.random() < 0.5:
        small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.3, 1.0))
    small += rng.normal(0, rng.uniform(0, 0.12), small.shape).astype(np.float32)
    low = small > rng.uniform(0.35, 0.6)
    ys, xs = np.nonzero(low)
    if len(ys) == 0:
        return None
    crop = low[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = (crop.shape[0] / max(gh * target, 1.0)) * target
    glyph_ref = ref * sy * scale * rng.uniform(0.85, 1.15)
    return glyph_vector(crop, glyph_ref)


def scraps(rng: np.random.Generator, n: int) -> list[F32]:
    """Pieces of ruled lines, underlines and blots: not digits."""
    out: list[F32] = []
    while len(out) < n:
        h = int(rng.integers(2, 8))
        w = int(rng.integers(h * 4, 60))
        mask = np.ones((h, w), bool)
        if rng.random() < 0.3:
            mask = np.rot90(mask)
        out.append(glyph_vector(mask, float(rng.uniform(15, 50))))
    return out


def build(
    fonts: list[Path], per_class: int, rng: np.random.Generator, with_other: bool = True
) -> tuple[F32, npt.NDArray[np.int64]]:
    xs: list[F32] = []
    ys: list[int] = []
    bases: list[tuple[Mask, Mask, float, int]] = []
    for path in fonts:
        font = ImageFont.truetype(str(path), 80)
        glyphs = [render(font, ch) for ch in ARABIC_INDIC]
        if any(g is None for g in glyphs):
            continue
        ref = float(max(g.shape[0] for g in glyphs if g is not None))
        for label, g in enumerate(glyphs):
            assert g is not None
            bases.append((g, skeleton(g), ref, label))
    per_base = max(1, per_class * 10 // max(1, len(bases)))
    for g, skel, ref, label in bases:
        for _ in range(per_base):
            pen = rng.random() < 0.5
            v = augment(skel if pen else g, pen, ref, rng)
            if v is not None:
                xs.append(v)
                ys.append(label)
    if with_other:
        others: list[tuple[Mask, Mask, float]] = []
        for path in [*map(Path, LATIN_FONTS), *fonts[::3]]:
            font = ImageFont.truetype(str(path), 80)
            cap = render(font, "H")
            if cap is None:
                continue
            for ch in OTHERS:
                g = render(font, ch)
                if g is not None:
                    others.append((g, skeleton(g), float(cap.shape[0])))
        n_other = per_class * 2
        for i in range(n_other - n_other // 8):
            g, skel, ref = others[i % len(others)]
            pen = rng.random() < 0.5
            v = augment(skel if pen else g, pen, ref, rng)
            if v is not None:
                xs.append(v)
                ys.append(OTHER)
        for v in scraps(rng, n_other // 8):
            xs.append(v)
            ys.append(OTHER)
    return np.stack(xs).astype(np.float32), np.array(ys, np.int64)


def train(
    x: F32, y: npt.NDArray[np.int64], epochs: int, rng: np.random.Generator
) -> dict[str, F32]:
    mean = x.mean(axis=0)
    std = np.maximum(x.std(axis=0), 0.05)
    z = (x - mean) / std
    sizes = (FEATURES, 256, 128, OTHER + 1)
    params: dict[str, F32] = {}
    for i in range(3):
        fan_in, fan_out = sizes[i], sizes[i + 1]
        params[f"w{i + 1}"] = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(
            np.float32
        )
        params[f"b{i + 1}"] = np.zeros(fan_out, np.float32)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    step, batch, decay = 0, 256, 1e-4
    for epoch in range(epochs):
        lr = 2e-3 * (0.5 * (1 + np.cos(np.pi * epoch / epochs)))
        order = rng.permutation(len(z))
        loss_sum = 0.0
        for start in range(0, len(z), batch):
            idx = order[start : start + batch]
            xb, yb = z[idx], y[idx]
            # light dropout on the input, for robustness to missing strokes
            xb = xb * (rng.random(xb.shape) > 0.1).astype(np.float32)
            h1 = np.maximum(xb @ params["w1"] + params["b1"], 0)
            h2 = np.maximum(h1 @ params["w2"] + params["b2"], 0)
            logits = h2 @ params["w3"] + params["b3"]
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            loss_sum += float(-np.log(p[np.arange(len(yb)), yb] + 1e-9).sum())
            d3 = p
            d3[np.arange(len(yb)), yb] -= 1
            d3 /= len(yb)
            grads = {"w3": h2.T @ d3, "b3": d3.sum(0)}
            d2 = (d3 @ params["w3"].T) * (h2 > 0)
            grads |= {"w2": h1.T @ d2, "b2": d2.sum(0)}
            d1 = (d2 @ params["w2"].T) * (h1 > 0)
            grads |= {"w1": xb.T @ d1, "b1": d1.sum(0)}
            step += 1
            for k in params:
                g = grads[k] + (decay * params[k] if k.startswith("w") else 0)
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                mh = m[k] / (1 - 0.9**step)
                vh = v[k] / (1 - 0.999**step)
                params[k] = (params[k] - lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        print(f"epoch {epoch + 1}/{epochs}  loss {loss_sum / len(z):.4f}", file=sys.stderr)
    return params | {"mean": mean.astype(np.float32), "std": std.astype(np.float32)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--per-class", type=int, default=4000, help="samples per digit")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    fonts = arabic_fonts()
    train_fonts = [p for p in fonts if p.name not in HOLDOUT]
    held = [p for p in fonts if p.name in HOLDOUT]
    print(f"{len(train_fonts)} training fonts, held out: {[p.name for p in held]}", file=sys.stderr)
    started = time.perf_counter()
    x, y = build(train_fonts, args.per_class, rng)
    print(f"{len(x)} samples in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    params = train(x, y, args.epochs, rng)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        **{k: v.astype(np.float16 if k[0] == "w" else np.float32) for k, v in params.items()},
    )
    from dalil.ocr.digits import DigitClassifier

    model = DigitClassifier.load(args.out)
    if held:
        hx, hy = build(held, 200, np.random.default_rng(SEED + 1), with_other=False)
        acc = float((model.predict(hx).argmax(1) == hy).mean())
        print(f"held-out fonts, augmented: {acc:.3f} on {len(hy)} samples", file=sys.stderr)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)", file=sys.stderr)


if __name__ == "__main__":
    main()
