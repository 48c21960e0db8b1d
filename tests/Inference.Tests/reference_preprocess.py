#!/usr/bin/python3
"""Reference CLIP image preprocessing with PIL + numpy, for the C# parity test (ImagePreprocessorTests).

    /usr/bin/python3 reference_preprocess.py IMAGES_DIR OUT_DIR [--size 224]

For every .jpg/.jpeg/.png/.webp/.gif in IMAGES_DIR writes OUT_DIR/<file name>.f32: 3*S*S little-endian float32,
CHW, RGB. The steps are torchvision's CLIP transform (Resize(S, BICUBIC), CenterCrop(S), ToTensor, Normalize)
written out so that torchvision is not needed, plus the platform's handling of frames and transparency:
  first frame only; anything with alpha is composited onto white; convert("RGB");
  shortest side -> S, long side -> int(S * long / short) (torchvision's rule), PIL BICUBIC;
  centre crop with top = int(round((h - S) / 2.0)); float32 / 255; (x - mean) / std with CLIP's constants.
Exit status 3 (with the reason on stderr) when PIL or numpy cannot be imported.
"""
import argparse
import os
import sys

try:
    import numpy as np
    from PIL import Image
except ImportError as e:  # the test skips on this
    print(f"reference preprocessing needs PIL and numpy: {e}", file=sys.stderr)
    sys.exit(3)

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif")


def has_alpha(im):
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def preprocess(path, size):
    im = Image.open(path)
    im.seek(0)  # first frame
    im.load()
    if has_alpha(im):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    im = im.convert("RGB")

    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) != (w, h):
        im = im.resize((new_w, new_h), Image.BICUBIC)

    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    im = im.crop((left, top, left + size, top + size))

    x = np.asarray(im, dtype=np.uint8).astype(np.float32) / np.float32(255)  # HWC
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype="<f4")


def main(argv):
    parser = argparse.ArgumentParser(description="Reference CLIP preprocessing (PIL + numpy).")
    parser.add_argument("images_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--size", type=int, default=224)
    a = parser.parse_args(argv)
    src, out, size = a.images_dir, a.out_dir, a.size
    os.makedirs(out, exist_ok=True)
    n = 0
    for name in sorted(os.listdir(src)):
        if not name.lower().endswith(EXTENSIONS):
            continue
        preprocess(os.path.join(src, name), size).tofile(os.path.join(out, name + ".f32"))
        n += 1
    print(f"{n} images -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
