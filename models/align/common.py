"""What the alignment scripts share: paths, the held-out split, logging, and the trunk's feature layout.

The held-out split is fixed by the concept's Unicode code alone (SHA-256 of `unified`, first 8 bytes, modulo 100 below
HELD_OUT_PERCENT), so it does not move when the data or the seed changes and every script agrees on it. Held-out
concepts are never trained on, in any form: not their images, not their names, tags or captions in either language.
"""

import hashlib
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for sub in ("pretrained", "train", ""):
    path = os.path.join(REPO, "models", sub) if sub else os.path.join(REPO, "models")
    if path not in sys.path:
        sys.path.insert(0, path)

HELD_OUT_PERCENT = 15
IMAGE_SIZE = 224

# The frozen trunk's outputs the image head reads (ResNet18.onnx tensor names): the last stage's activations (global
# average- and max-pooled) and the third stage's (average-pooled); see features.trunk_features.
STAGE4, STAGE3 = "ReLU393_Output_0", "ReLU347_Output_0"
FEATURE_DIM = 512 + 512 + 256


def held_out(unified: str) -> bool:
    digest = hashlib.sha256(unified.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < HELD_OUT_PERCENT


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, flush=True)


def warmup_cosine(step: int, steps: int, warmup: int, peak: float) -> float:
    """The trainers' learning rate at step 1..steps: a linear warm-up over `warmup` steps under a cosine decay."""
    return peak * min(1.0, step / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps))
