#!/usr/bin/python3
"""Writes models/pretrained/reference.json: what the pretrained models give in Python, for the C# side to match.

    /usr/bin/python3 models/pretrained/make_reference.py [CACHE]    # CACHE: $PLATFORM_PRETRAINED_CACHE, else <repo>/.cache/pretrained

CACHE is the folder fetch_pretrained.py fills. The json holds, computed with minilm.py and resnet18.py (the torch
modules built from the packaged ONNX graphs):

- minilm.texts: for each text, the WordPiece ids with [CLS] and [SEP] (unpadded, at most `max_length`) and the first
  16 values of its sentence embedding (token states mean-pooled over the attention mask, L2-normalised), each text
  run alone. The texts cover English, Chinese, mixed scripts, accents, punctuation, numbers, words the vocabulary
  lacks, and one text longer than 64 tokens (so a shorter context must cut it).
- resnet18: the 512 pooled features of the formula image below, their first 16 values and their L2 norm.

The formula image is 224x224, RGB in 0..1, at column x and row y (both 0..223):
    r = x / 223,  g = y / 223,  b = ((7x + 3y) mod 224) / 223
each computed in float64 and rounded to float32 (tests/Inference.Tests/PretrainedModelTests.cs builds the same).
Floats are written as Python prints them, which round-trips the float32 values exactly. Deterministic: the same
bytes every run on the same torch.
"""

import json
import os
import re
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import minilm  # noqa: E402
import resnet18  # noqa: E402

OUT = os.path.join(HERE, "reference.json")
FIRST = 16
MAX_LENGTH = 128
SIZE = 224

TEXTS = [
    "a red apple",
    "Wireless noise-cancelling headphones",
    "Crème brûlée",
    "跑步鞋",
    "红色的 running shoes",
    "50% off: $19.99 (was $24.50)!!",
    "iPhone 15 Pro Max 256GB",
    "supercalifragilistic hiking boots 🥾",
    "ΟΔΥΣΣΕΥΣ İstanbul ＡＢＣ１２３",
    "東京 ランニングシューズ 한국어",
    "tab\tseparated\u00a0nbsp\u200bzero-width",
    "A lightweight, water-resistant hiking jacket with a detachable hood, two zip pockets, taped seams and "
    "an adjustable hem; packs into its own chest pocket, weighs 310 g, and comes in navy, olive & charcoal "
    "(sizes XS-XXL). Machine washable at 30°C; ships worldwide within 3–5 business days, free returns for 30 days.",
]


def formula_image():
    """[1, 3, 224, 224] float32, RGB in 0..1 (see the module docstring)."""
    y, x = np.meshgrid(np.arange(SIZE, dtype=np.float64), np.arange(SIZE, dtype=np.float64), indexing="ij")
    rgb = np.stack([x / 223.0, y / 223.0, np.mod(7 * x + 3 * y, 224) / 223.0]).astype(np.float32)
    return torch.from_numpy(rgb).unsqueeze(0)


def main(argv):
    cache = argv[1] if len(argv) > 1 else (os.environ.get("PLATFORM_PRETRAINED_CACHE")
                                           or os.path.join(REPO, ".cache", "pretrained"))
    model_path, vocab_path = (os.path.join(cache, "minilm", f) for f in ("model.onnx", "vocab.txt"))
    for path in (model_path, vocab_path, os.path.join(cache, "resnet18", resnet18.GRAPH)):
        if not os.path.isfile(path):
            sys.exit(f"{path} is missing; run /usr/bin/python3 models/pretrained/fetch_pretrained.py first")
    torch.set_grad_enabled(False)

    tokenizer = minilm.WordPiece(vocab_path, max_length=MAX_LENGTH)
    model = minilm.load(model_path).eval()
    texts = []
    for text in TEXTS:
        ids = tokenizer.encode(text)
        ids_tensor = torch.tensor([ids], dtype=torch.long)
        embedding = model.embed(ids_tensor, torch.ones_like(ids_tensor))[0]
        texts.append({"text": text, "input_ids": ids, "embedding_first16": embedding[:FIRST].tolist()})
    if not any(len(t["input_ids"]) > 64 for t in texts):
        sys.exit("no reference text is longer than 64 tokens")

    net = resnet18.load(os.path.join(cache, "resnet18"))
    features = net(formula_image())[0]
    reference = {
        "generated_by": "models/pretrained/make_reference.py",
        "torch_version": torch.__version__,
        "minilm": {
            "max_length": MAX_LENGTH,
            "embedding_dim": int(embedding.shape[0]),
            "pooling": "mean of last_hidden_state over the attention mask, then L2-normalised",
            "texts": texts,
        },
        "resnet18": {
            "image": "224x224 RGB in 0..1: r = x/223, g = y/223, b = ((7x + 3y) mod 224)/223 (x column, y row), float32",
            "input": "ResNetPreprocess.onnx takes the image scaled to 0..255; ResNet18.onnx takes its output",
            "features_dim": int(features.shape[0]),
            "features_first16": features[:FIRST].tolist(),
            "features_norm": features.norm().item(),
        },
    }
    text = json.dumps(reference, indent=1, ensure_ascii=False)
    # One line per list of numbers, so the file reads (and diffs) one text at a time.
    text = re.sub(r"\[\s+([-+0-9.e,\s]+?)\s+\]", lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"wrote {os.path.relpath(OUT, REPO)}: {len(texts)} texts, ResNet-18 features norm {features.norm().item():.4f}")


if __name__ == "__main__":
    main(sys.argv)
