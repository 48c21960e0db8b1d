#!/usr/bin/python3
"""Converts model packages whose towers are TorchScript (.pt, the format before ONNX Runtime) to ONNX towers:

    /usr/bin/python3 models/convert_to_onnx.py PACKAGE_DIR [PACKAGE_DIR ...] [--keep-pt]

For each package: loads image_tower and text_tower named by model.json with torch.jit.load, exports them with
torch.onnx.export (opset 17, symbolic batch axis; models/onnx_towers.py), checks the files' signature, checks that
the TorchScript towers still give the package's reference.json values (the ONNX graphs are made from them, and the
C# tests compare ONNX Runtime's output with reference.json), rewrites model.json to name the .onnx files and their
inputs and outputs, and removes the .pt files (unless --keep-pt).

This is how models/test-clip and models/shopping-clip were converted (test-clip's generator,
models/make_test_model.py, now writes the same ONNX files directly; models/train/export.py and models/export_clip.py
write ONNX too). Run with Debian's interpreter, which has torch 1.13 and python3-onnx.
"""

import argparse
import json
import os
import sys

import torch

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, MODELS_DIR)

import onnx_towers  # noqa: E402
from make_test_model import write_json  # noqa: E402

TOLERANCE = 1e-5  # TorchScript against its own reference.json: the same code, so only thread-count noise


def reference_image(size: int) -> torch.Tensor:
    c = torch.arange(3).reshape(3, 1, 1)
    y = torch.arange(size).reshape(1, size, 1)
    x = torch.arange(size).reshape(1, 1, size)
    return (((37 * c + 11 * y + 7 * x) % 256).float() - 128.0).div(128.0).unsqueeze(0)


def end_token(package: str, manifest: dict) -> int:
    tokenizer = manifest["tokenizer"]
    if tokenizer["kind"] == "clip-bpe":
        with open(os.path.join(package, tokenizer["vocab"]), encoding="utf-8") as f:
            return len(json.load(f)) - 1
    return 49407  # CLIP's bpe_simple_vocab_16e6 vocabulary


def check_reference(package: str, manifest: dict, image, text) -> float:
    """Max |diff| between the TorchScript towers and reference.json (absent: 0)."""
    path = os.path.join(package, "reference.json")
    if not os.path.exists(path):
        return 0.0
    with open(path, encoding="utf-8") as f:
        reference = json.load(f)
    context = manifest["context_length"]
    worst = 0.0
    with torch.no_grad():
        rows = torch.tensor([t["input_ids"] + [0] * (context - len(t["input_ids"])) for t in reference["texts"]])
        embeddings = text(rows)
        for i, entry in enumerate(reference["texts"]):
            expected = torch.tensor(entry["embedding_first8"])
            worst = max(worst, (embeddings[i, :len(expected)] - expected).abs().max().item())
        expected = torch.tensor(reference["image"]["embedding_first8"])
        got = image(reference_image(manifest["image_size"]))[0, :len(expected)]
        worst = max(worst, (got - expected).abs().max().item())
    return worst


def convert(package: str, keep_pt: bool) -> None:
    manifest_path = os.path.join(package, "model.json")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    sources = [os.path.join(package, manifest[key]) for key in ("image_tower", "text_tower")]
    if not all(s.endswith(".pt") for s in sources):
        raise SystemExit(f"{package}: model.json names {manifest['image_tower']} and {manifest['text_tower']}; "
                         "only TorchScript (.pt) towers are converted")
    image, text = (torch.jit.load(s, map_location="cpu").eval() for s in sources)
    worst = check_reference(package, manifest, image, text)
    if worst > TOLERANCE:
        raise SystemExit(f"{package}: the TorchScript towers differ from reference.json by {worst:.2e}")
    onnx_towers.export_package_towers(image, text, package, manifest["image_size"], manifest["context_length"],
                                      manifest["embedding_dim"], end_token(package, manifest))

    # The tower fields, in place of the old ones (same key order otherwise).
    updated = {}
    for key, value in manifest.items():
        if key in ("image_tower", "text_tower"):
            if key == "image_tower":
                updated.update(onnx_towers.manifest_fields())
            continue
        updated[key] = value
    write_json(manifest_path, updated)
    if not keep_pt:
        for source in sources:
            os.remove(source)
    sizes = ", ".join(f"{name} {os.path.getsize(os.path.join(package, name)) / 1e6:.2f} MB"
                      for name in (onnx_towers.IMAGE_FILE, onnx_towers.TEXT_FILE))
    print(f"{package}: {sizes}; TorchScript vs reference.json max |diff| {worst:.2e}", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("packages", nargs="+", help="package folders with TorchScript towers")
    parser.add_argument("--keep-pt", action="store_true", help="leave the .pt files in the package")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for package in args.packages:
        convert(os.path.abspath(package), args.keep_pt)


if __name__ == "__main__":
    main()
