"""Exports a shopping-clip checkpoint (train.py's final.pt) to a model package (models/README.md):

    /usr/bin/python3 models/train/export.py --checkpoint CKPT.pt --tokenizer TOKENIZER_DIR --out models/shopping-clip \\
        [--concepts concepts.jsonl]

image_encoder.onnx  ONNX (opset 17, symbolic batch axis; models/onnx_towers.py), "pixels" float [N,3,S,S] normalised
                    -> "embedding" [N,D] L2-normalised. BatchNorm is folded into the convolutions, weights float32.
text_encoder.onnx   ONNX, "input_ids" int64 [N,context_length] (SOT, ids, EOT, zeros) -> "embedding" [N,D]
                    L2-normalised. Pools at the end token (argmax of the ids); cuts the padding after the longest text
                    first (the attention is causal, so that changes nothing; the towers are scripted, not traced, so
                    the cut follows each batch). Matrices and the token embedding are stored as float16 and widened to
                    float32 in the graph (all arithmetic float32), to keep the package small.
model.json, vocab.json, merges.txt, reference.json (ids and leading embedding values the C# side must reproduce),
training.json (configuration and validation metrics, for people).

Checks before it finishes: the ONNX files have the package signature, both scripted towers (what the ONNX graphs
are made from) run any batch size (each row equals its own run), outputs are unit length, they agree with the
checkpoint's eager model, and with --concepts, the validation retrieval metrics computed through them. This Python
has no ONNX Runtime: the C# tests run the ONNX files against reference.json.
"""

import argparse
import json
import os
import shutil
import sys
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from bpe import ClipBpe, _clip  # noqa: E402
import onnx_towers  # noqa: E402  (models/, on the path through bpe)
from model import BasicBlock, Config, ShoppingClip  # noqa: E402

REFERENCE_TEXTS = ["a photo of a red apple", "Men's Running Shoes, size 42!", "红色连衣裙 夏季新款", "雨伞", "soccer ball"]


# ---------------------------------------------------------------------------------------------------------------
# Inference modules
# ---------------------------------------------------------------------------------------------------------------


class FusedConv(nn.Module):
    """Convolution with the following BatchNorm folded in, optionally ReLU."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, relu: bool):
        super().__init__()
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        self.weight = nn.Parameter((conv.weight.detach() * scale.reshape(-1, 1, 1, 1)).float().contiguous(), requires_grad=False)
        self.bias = nn.Parameter((bn.bias.detach() - bn.running_mean * scale).float(), requires_grad=False)
        self.stride = int(conv.stride[0])
        self.padding = int(conv.padding[0])
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        if self.relu:
            x = F.relu(x)
        return x


def fuse(sequential: nn.Sequential) -> FusedConv:
    return FusedConv(sequential[0], sequential[1], relu=len(sequential) > 2)


class FusedBlock(nn.Module):
    def __init__(self, block: BasicBlock):
        super().__init__()
        self.conv1 = fuse(block.conv1)
        self.conv2 = fuse(block.conv2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.conv2(self.conv1(x)))


class ImageTower(nn.Module):
    def __init__(self, trained):
        super().__init__()
        layers: List[nn.Module] = []
        for layer in trained.features:
            layers.append(FusedBlock(layer) if isinstance(layer, BasicBlock) else fuse(layer))
        self.features = nn.Sequential(*layers)
        self.proj = nn.Parameter(trained.proj.weight.detach().float().clone(), requires_grad=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.features(image).mean(dim=(2, 3))
        return F.normalize(F.linear(x, self.proj), dim=-1)


def _half(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t.detach().half().clone(), requires_grad=False)


def _float(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t.detach().float().clone(), requires_grad=False)


class TextTower(nn.Module):
    """The trained text tower on make_test_model's scripted blocks (float16 matrices widened on use)."""

    def __init__(self, trained, cfg: Config):
        super().__init__()
        self.token_embedding = _half(trained.token_embedding.weight)
        self.positional_embedding = _float(trained.positional_embedding)
        self.blocks = nn.ModuleList()
        for src in trained.blocks:
            block = _clip.ResidualBlock(cfg.text_width, cfg.text_heads, cfg.text_layers)
            for name in ("ln_1", "ln_2"):
                getattr(block, name).weight = _float(getattr(src, name).weight)
                getattr(block, name).bias = _float(getattr(src, name).bias)
            for name in ("qkv", "out_proj", "c_fc", "c_proj"):
                getattr(block, name).weight = _half(getattr(src, name).weight)
                getattr(block, name).bias = _float(getattr(src, name).bias)
            self.blocks.append(block)
        self.ln_final = _clip.LayerNorm(cfg.text_width)
        self.ln_final.weight = _float(trained.ln_final.weight)
        self.ln_final.bias = _float(trained.ln_final.bias)
        self.text_projection = _half(trained.text_projection.weight)  # [D, width]
        self.register_buffer("attn_mask", torch.full((cfg.context_length, cfg.context_length), float("-inf")).triu(1))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        eot = text.argmax(dim=-1)  # the end token has the highest id
        length = int(eot.max()) + 1
        text = text[:, :length]
        x = F.embedding(text, self.token_embedding).float() + self.positional_embedding[:length]
        mask = self.attn_mask[:length, :length]
        for block in self.blocks:
            x = block(x, mask)
        x = self.ln_final(x[torch.arange(x.shape[0]), eot])
        return F.normalize(F.linear(x, self.text_projection.float()), dim=-1)


# ---------------------------------------------------------------------------------------------------------------
# Checks and files
# ---------------------------------------------------------------------------------------------------------------


def check_batches(module, batch: torch.Tensor, dim: int, name: str) -> None:
    together = module(batch)
    assert together.shape == (len(batch), dim), f"{name}: shape {tuple(together.shape)}"
    for i in range(len(batch)):
        alone = module(batch[i:i + 1])
        assert torch.allclose(alone[0], together[i], atol=1e-5), f"{name}: batch row {i} differs from its own run"
    norms = together.norm(dim=-1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5), f"{name}: outputs are not L2-normalised"


def reference_image(size: int) -> torch.Tensor:
    """[1,3,S,S]: value(c,y,x) = (((37c + 11y + 7x) mod 256) - 128) / 128, exact in float32 (as test-clip's)."""
    c = torch.arange(3).reshape(3, 1, 1)
    y = torch.arange(size).reshape(1, size, 1)
    x = torch.arange(size).reshape(1, 1, size)
    return (((37 * c + 11 * y + 7 * x) % 256).float() - 128.0).div(128.0).unsqueeze(0)


def write_reference(path, tokenizer: ClipBpe, text_module, image_module, context_length: int, image_size: int,
                    dim: int, texts=REFERENCE_TEXTS) -> None:
    rows = [tokenizer.encode_for_model(t, context_length) for t in texts]
    with torch.no_grad():
        text_emb = text_module(torch.tensor(rows, dtype=torch.long))
        image_emb = image_module(reference_image(image_size))[0]
    reference = {
        "about": "Values the C# side must reproduce from this package. input_ids are unpadded: the model input is "
                 f"them followed by zeros up to context_length. Embeddings are the first 8 of {dim} L2-normalised "
                 "values; compare with a tolerance of about 1e-4.",
        "context_length": context_length,
        "vocab_size": tokenizer.vocab_size,
        "texts": [
            {
                "text": text,
                "bpe_ids": tokenizer.encode(text),
                "input_ids": [t for t in row if t != 0],
                "embedding_first8": [float(v) for v in text_emb[i, :8]],
            }
            for i, (text, row) in enumerate(zip(texts, rows))
        ],
        "image": {
            "formula": f"float32 tensor [1,3,{image_size},{image_size}], already normalised (no mean/std applied): "
                       "value(c,y,x) = (((37*c + 11*y + 7*x) mod 256) - 128) / 128",
            "embedding_first8": [float(v) for v in image_emb[:8]],
        },
    }
    _clip.write_json(path, reference)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--tokenizer", required=True, help="folder with vocab.json and merges.txt")
    parser.add_argument("--out", required=True)
    parser.add_argument("--concepts", help="concepts.jsonl: also report validation metrics through the exported files")
    parser.add_argument("--max-mb", type=float, default=25.0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)

    state = torch.load(args.checkpoint, map_location="cpu")
    cfg = Config(**state["cfg"])
    mean, std = state["mean"], state["std"]
    model = ShoppingClip(cfg)
    model.load_state_dict(state["model"])
    model.eval()
    tokenizer = ClipBpe.from_files(os.path.join(args.tokenizer, "vocab.json"), os.path.join(args.tokenizer, "merges.txt"))
    assert tokenizer.vocab_size == cfg.vocab_size, "the tokenizer is not the one the checkpoint was trained with"
    assert tokenizer.eot == cfg.vocab_size - 1, "the end token must be the highest id"

    os.makedirs(args.out, exist_ok=True)
    with torch.no_grad():
        image_module, text_module = onnx_towers.export_package_towers(
            ImageTower(model.visual).eval(), TextTower(model.text, cfg).eval(), args.out, cfg.image_size,
            cfg.context_length, cfg.embed_dim, tokenizer.eot)
    for stale in ("image_encoder.pt", "text_encoder.pt"):  # TorchScript towers of an earlier export
        if os.path.exists(os.path.join(args.out, stale)):
            os.remove(os.path.join(args.out, stale))
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(args.tokenizer, name), os.path.join(args.out, name))

    # Checks: batch independence, unit length, agreement with the eager model.
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        pixels = torch.randn(4, 3, cfg.image_size, cfg.image_size, generator=gen)
        check_batches(image_module, pixels, cfg.embed_dim, "image tower")
        sample = [tokenizer.encode_for_model(t, cfg.context_length) for t in
                  ["red dress", "a very long " * 40, "手机", "a photo of a cat"]]
        tokens = torch.tensor(sample, dtype=torch.long)
        check_batches(text_module, tokens, cfg.embed_dim, "text tower")
        image_diff = (image_module(pixels) - model.visual(pixels)).abs().max().item()
        text_diff = (text_module(tokens) - model.text(tokens)).abs().max().item()
    print(f"exported vs eager: image max |diff| {image_diff:.2e}, text max |diff| {text_diff:.2e} "
          "(text matrices are float16)", file=sys.stderr)
    assert image_diff < 1e-4 and text_diff < 2e-2, "the exported towers do not match the trained model"

    manifest = {
        "name": "shopping-clip",
        "description": "CLIP-architecture dual encoder trained from scratch on emoji concepts (Fluent 3D renders and "
                       "Noto drawings, English and Chinese names, tags and shopping phrasings): a small ResNet image "
                       f"tower at {cfg.image_size} px and a {cfg.text_layers}-layer causal text transformer, "
                       f"{cfg.embed_dim}-d embeddings. Reproduce with models/train/reproduce.sh.",
        "embedding_dim": cfg.embed_dim,
        "image_size": cfg.image_size,
        "mean": mean,
        "std": std,
        "context_length": cfg.context_length,
        "tokenizer": {"kind": "clip-bpe", "vocab": "vocab.json", "merges": "merges.txt"},
        **onnx_towers.manifest_fields(),
    }
    _clip.write_json(os.path.join(args.out, "model.json"), manifest)
    write_reference(os.path.join(args.out, "reference.json"), tokenizer, text_module, image_module, cfg.context_length,
                    cfg.image_size, cfg.embed_dim)

    training = {"config": cfg.to_dict(), "steps": state.get("step"), "minutes": round(state.get("elapsed", 0) / 60, 1),
                "args": state.get("args")}
    if args.concepts:
        from captions import load_concepts
        from train import Images, Validation, format_metrics

        concepts = load_concepts(args.concepts)
        images = Images(concepts, cfg.image_size, int(round(cfg.image_size * 1.25)))
        validation = Validation(concepts, images, tokenizer, cfg, state["args"]["seed"])
        metrics = validation.run(image_module, text_module)
        training["validation"] = metrics
        print(f"validation through the exported (scripted) towers: {format_metrics(metrics)}", file=sys.stderr)
    _clip.write_json(os.path.join(args.out, "training.json"), training)

    sizes = {n: os.path.getsize(os.path.join(args.out, n)) for n in sorted(os.listdir(args.out))}
    total = sum(sizes.values())
    print("package " + ", ".join(f"{n} {s / 1e6:.2f} MB" for n, s in sizes.items()) + f"; total {total / 1e6:.2f} MB",
          file=sys.stderr)
    assert total < args.max_mb * 1e6, f"the package is {total / 1e6:.1f} MB, over {args.max_mb} MB"


if __name__ == "__main__":
    main()
