#!/usr/bin/python3
"""Exports a real CLIP checkpoint (ViT image tower) to a model package (models/README.md).

    /usr/bin/python3 models/export_clip.py HF_DIR OUT_DIR                  # Hugging Face CLIPModel folder
    /usr/bin/python3 models/export_clip.py CHECKPOINT OUT_DIR --bpe-gz bpe_simple_vocab_16e6.txt.gz
                                                                          # OpenAI / OpenCLIP state dict

Inputs:
  * a Hugging Face CLIPModel folder: config.json, the weights as pytorch_model.bin or model.safetensors (read by a
    small built-in reader; `transformers` and `safetensors` are not needed), and its tokenizer files vocab.json and
    merges.txt (copied; tokenizer kind clip-bpe). preprocessor_config.json, when present, gives mean and std.
  * an OpenAI CLIP / OpenCLIP ViT state dict (keys visual.conv1.weight, transformer.resblocks.N..., the form
    open_clip and OpenAI's clip package use; a TorchScript archive from OpenAI is read too). The architecture is
    read off the tensor shapes. The tokenizer comes from --bpe-gz: referenced as is (kind clip-bpe-gz), or with
    --convert-bpe written out as vocab.json + merges.txt (kind clip-bpe).

Both become the same modules, written here (no transformers): a ViT (patch convolution without bias, class token,
learned positions, pre-LN, pre-LN residual blocks, LN of the class token, projection) and CLIP's causal text
transformer pooled at the end token (argmax of the ids, as the package contract says: the end token is the
highest id and the padding is zeros). Activation QuickGELU (OpenAI's) or GELU, as the config says (--act for a
state dict). Preprocessing constants are CLIP's unless the checkpoint says otherwise; the context is the model's
(77 for CLIP). Weights stay float32 (--half stores matrices as float16, widened in forward).

The towers are written as ONNX (image_encoder.onnx, text_encoder.onnx: scripted, then torch.onnx.export at opset 17
with a symbolic batch axis; models/onnx_towers.py), the format Platform.Inference runs with ONNX Runtime. The package
also gets reference.json (token ids and leading embedding values for a few texts and a formula image, computed with
the scripted modules the ONNX files were made from) so the C# side can check it computes the same.
"""

import argparse
import gzip
import json
import os
import shutil
import struct
import sys
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(MODELS_DIR, "train"))

from bpe import ClipBpe, _clip  # noqa: E402  (make_test_model's tokenizer pieces, write_json)
import onnx_towers  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CLIP_MERGES = 49152 - 256 - 2  # merges of bpe_simple_vocab_16e6.txt.gz that CLIP's 49,408-token vocabulary uses
REFERENCE_TEXTS = ["a photo of a red dress", "Men's Running Shoes, size 42!", "红色连衣裙 夏季新款"]

TEXT_DEFAULTS = {"vocab_size": 49408, "hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
                 "num_attention_heads": 8, "max_position_embeddings": 77, "hidden_act": "quick_gelu",
                 "layer_norm_eps": 1e-5}
VISION_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
                   "image_size": 224, "patch_size": 32, "num_channels": 3, "hidden_act": "quick_gelu",
                   "layer_norm_eps": 1e-5}


# ---------------------------------------------------------------------------------------------------------------
# Modules (TorchScript-friendly). Weights may be stored float16; every use widens them (.float() is free on float32).
# ---------------------------------------------------------------------------------------------------------------


def _p(t: torch.Tensor, dtype: torch.dtype = torch.float32) -> nn.Parameter:
    return nn.Parameter(t.detach().to(dtype).contiguous().clone(), requires_grad=False)


class LayerNorm(nn.Module):
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, eps: float):
        super().__init__()
        self.width = int(weight.shape[0])
        self.eps = float(eps)
        self.weight = _p(weight)
        self.bias = _p(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, [self.width], self.weight, self.bias, self.eps)


class Linear(nn.Module):
    def __init__(self, weight: torch.Tensor, bias: Optional[torch.Tensor], dtype: torch.dtype):
        super().__init__()
        self.weight = _p(weight, dtype)
        self.bias = _p(bias if bias is not None else torch.zeros(weight.shape[0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight.float(), self.bias)


class Block(nn.Module):
    """Pre-LN residual attention block: x + out(attn(ln_1 x)); x + fc2(act(fc1(ln_2 x)))."""

    def __init__(self, w: Dict[str, torch.Tensor], heads: int, eps: float, quick_gelu: bool, dtype: torch.dtype):
        super().__init__()
        self.heads = heads
        self.quick_gelu = quick_gelu
        width = int(w["ln_1.weight"].shape[0])
        self.scale = float((width // heads) ** -0.5)
        self.ln_1 = LayerNorm(w["ln_1.weight"], w["ln_1.bias"], eps)
        self.in_proj = Linear(w["in_proj.weight"], w["in_proj.bias"], dtype)  # q, k, v stacked: [3W, W]
        self.out_proj = Linear(w["out_proj.weight"], w["out_proj.bias"], dtype)
        self.ln_2 = LayerNorm(w["ln_2.weight"], w["ln_2.bias"], eps)
        self.fc1 = Linear(w["fc1.weight"], w["fc1.bias"], dtype)
        self.fc2 = Linear(w["fc2.weight"], w["fc2.bias"], dtype)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        n, length, width = x.shape
        qkv = self.in_proj(self.ln_1(x)).reshape(n, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = torch.matmul(q * self.scale, k.transpose(-2, -1))
        if mask is not None:
            weights = weights + mask
        y = torch.matmul(weights.softmax(dim=-1), v).transpose(1, 2).reshape(n, length, width)
        x = x + self.out_proj(y)
        h = self.fc1(self.ln_2(x))
        if self.quick_gelu:
            h = h * torch.sigmoid(1.702 * h)
        else:
            h = F.gelu(h)
        return x + self.fc2(h)


class VisionTower(nn.Module):
    def __init__(self, w: Dict[str, torch.Tensor], layers: int, heads: int, eps: float, quick_gelu: bool,
                 dtype: torch.dtype):
        super().__init__()
        self.patch = int(w["patch.weight"].shape[-1])
        self.patch_weight = _p(w["patch.weight"], dtype)
        self.class_embedding = _p(w["class_embedding"])
        self.positional_embedding = _p(w["positional_embedding"])
        self.ln_pre = LayerNorm(w["ln_pre.weight"], w["ln_pre.bias"], eps)
        self.blocks = nn.ModuleList([Block(_sub(w, f"blocks.{i}."), heads, eps, quick_gelu, dtype) for i in range(layers)])
        self.ln_post = LayerNorm(w["ln_post.weight"], w["ln_post.bias"], eps)
        self.proj = _p(w["proj"], dtype)  # [D, W]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(image, self.patch_weight.float(), stride=self.patch)  # [N, W, g, g]
        x = x.flatten(2).transpose(1, 2)
        cls = self.class_embedding.reshape(1, 1, -1).expand(x.shape[0], 1, x.shape[2])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        for block in self.blocks:
            x = block(x, None)
        x = self.ln_post(x[:, 0, :])
        return F.normalize(F.linear(x, self.proj.float()), dim=-1)


class TextTower(nn.Module):
    def __init__(self, w: Dict[str, torch.Tensor], layers: int, heads: int, eps: float, quick_gelu: bool,
                 dtype: torch.dtype):
        super().__init__()
        self.token_embedding = _p(w["token_embedding"], dtype)
        self.positional_embedding = _p(w["positional_embedding"])
        self.blocks = nn.ModuleList([Block(_sub(w, f"blocks.{i}."), heads, eps, quick_gelu, dtype) for i in range(layers)])
        self.ln_final = LayerNorm(w["ln_final.weight"], w["ln_final.bias"], eps)
        self.proj = _p(w["proj"], dtype)  # [D, W]
        context = int(w["positional_embedding"].shape[0])
        self.register_buffer("attn_mask", torch.full((context, context), float("-inf")).triu(1))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        length = text.shape[1]
        x = F.embedding(text, self.token_embedding).float() + self.positional_embedding[:length]
        mask = self.attn_mask[:length, :length]
        for block in self.blocks:
            x = block(x, mask)
        x = self.ln_final(x[torch.arange(x.shape[0]), text.argmax(dim=-1)])  # the end token has the highest id
        return F.normalize(F.linear(x, self.proj.float()), dim=-1)


def _sub(w: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}


# ---------------------------------------------------------------------------------------------------------------
# Reading checkpoints
# ---------------------------------------------------------------------------------------------------------------

_SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
                       "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """The safetensors format: 8-byte little-endian header length, a JSON header {name: {dtype, shape,
    data_offsets}}, then the tensors' bytes."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = _SAFETENSORS_DTYPES[info["dtype"]]
        raw = bytearray(data[begin:end])
        tensor = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = tensor.reshape(info["shape"]).clone()
    return out


def load_state_dict(path: str) -> Dict[str, torch.Tensor]:
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    try:
        state = torch.load(path, map_location="cpu")
    except RuntimeError:
        state = torch.jit.load(path, map_location="cpu").state_dict()  # OpenAI's TorchScript archives
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if hasattr(state, "state_dict") and not isinstance(state, dict):
        state = state.state_dict()
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items() if torch.is_tensor(v)}


def hf_config(folder: str) -> Tuple[dict, dict, int]:
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        config = json.load(f)

    def merged(key: str, defaults: dict) -> dict:
        given = config.get(key) or config.get(key + "_dict") or {}
        return {**defaults, **{k: v for k, v in given.items() if v is not None}}

    return merged("text_config", TEXT_DEFAULTS), merged("vision_config", VISION_DEFAULTS), config.get("projection_dim", 512)


def _act(name: str) -> bool:
    """True for QuickGELU, False for GELU."""
    if name == "quick_gelu":
        return True
    if name in ("gelu", "gelu_new", "gelu_pytorch_tanh"):
        if name != "gelu":
            print(f"export_clip: activation {name} is exported as exact GELU", file=sys.stderr)
        return False
    raise ValueError(f"unsupported activation '{name}'")


def towers_from_hf(folder: str, dtype: torch.dtype = torch.float32):
    """(vision tower, text tower, facts) from a Hugging Face CLIPModel folder."""
    text_cfg, vision_cfg, _ = hf_config(folder)
    for name in ("model.safetensors", "pytorch_model.bin"):
        if os.path.exists(os.path.join(folder, name)):
            state = load_state_dict(os.path.join(folder, name))
            break
    else:
        raise FileNotFoundError(f"{folder} has neither model.safetensors nor pytorch_model.bin")
    for prefix in ("clip.", "model."):
        if "text_model.embeddings.token_embedding.weight" not in state and any(k.startswith(prefix) for k in state):
            state = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()}

    def blocks(src_prefix: str, layers: int) -> Dict[str, torch.Tensor]:
        out = {}
        for i in range(layers):
            s, d = f"{src_prefix}.encoder.layers.{i}.", f"blocks.{i}."
            a = s + "self_attn."
            out[d + "in_proj.weight"] = torch.cat([state[a + "q_proj.weight"], state[a + "k_proj.weight"], state[a + "v_proj.weight"]])
            out[d + "in_proj.bias"] = torch.cat([state[a + "q_proj.bias"], state[a + "k_proj.bias"], state[a + "v_proj.bias"]])
            out[d + "out_proj.weight"], out[d + "out_proj.bias"] = state[a + "out_proj.weight"], state[a + "out_proj.bias"]
            for ln, to in (("layer_norm1", "ln_1"), ("layer_norm2", "ln_2")):
                out[d + to + ".weight"], out[d + to + ".bias"] = state[s + ln + ".weight"], state[s + ln + ".bias"]
            for fc in ("fc1", "fc2"):
                out[d + fc + ".weight"], out[d + fc + ".bias"] = state[s + "mlp." + fc + ".weight"], state[s + "mlp." + fc + ".bias"]
        return out

    v, t = "vision_model", "text_model"
    vision_w = {
        "patch.weight": state[f"{v}.embeddings.patch_embedding.weight"],
        "class_embedding": state[f"{v}.embeddings.class_embedding"],
        "positional_embedding": state[f"{v}.embeddings.position_embedding.weight"],
        "ln_pre.weight": state[f"{v}.pre_layrnorm.weight"], "ln_pre.bias": state[f"{v}.pre_layrnorm.bias"],
        "ln_post.weight": state[f"{v}.post_layernorm.weight"], "ln_post.bias": state[f"{v}.post_layernorm.bias"],
        "proj": state["visual_projection.weight"],
        **blocks(v, vision_cfg["num_hidden_layers"]),
    }
    text_w = {
        "token_embedding": state[f"{t}.embeddings.token_embedding.weight"],
        "positional_embedding": state[f"{t}.embeddings.position_embedding.weight"],
        "ln_final.weight": state[f"{t}.final_layer_norm.weight"], "ln_final.bias": state[f"{t}.final_layer_norm.bias"],
        "proj": state["text_projection.weight"],
        **blocks(t, text_cfg["num_hidden_layers"]),
    }
    vision = VisionTower(vision_w, vision_cfg["num_hidden_layers"], vision_cfg["num_attention_heads"],
                         vision_cfg["layer_norm_eps"], _act(vision_cfg["hidden_act"]), dtype)
    text = TextTower(text_w, text_cfg["num_hidden_layers"], text_cfg["num_attention_heads"], text_cfg["layer_norm_eps"],
                     _act(text_cfg["hidden_act"]), dtype)
    facts = {"image_size": int(vision_cfg["image_size"]), "context_length": int(text_cfg["max_position_embeddings"]),
             "embedding_dim": int(state["visual_projection.weight"].shape[0]), "vocab_size": int(text_cfg["vocab_size"]),
             "vision": vision_cfg, "text": text_cfg}
    return vision.eval(), text.eval(), facts


def towers_from_openai(path: str, quick_gelu: bool = True, dtype: torch.dtype = torch.float32,
                       vision_heads: int = 0, text_heads: int = 0):
    """(vision tower, text tower, facts) from an OpenAI CLIP / OpenCLIP ViT state dict. The head counts are not in
    the weights: by default width / 64, as in every OpenAI and OpenCLIP ViT."""
    state = load_state_dict(path)
    if "visual.conv1.weight" not in state:
        raise ValueError(f"{path}: no visual.conv1.weight; only ViT image towers are supported (not ModifiedResNet)")

    def blocks(prefix: str) -> Tuple[Dict[str, torch.Tensor], int]:
        out, i = {}, 0
        while f"{prefix}transformer.resblocks.{i}.ln_1.weight" in state:
            s, d = f"{prefix}transformer.resblocks.{i}.", f"blocks.{i}."
            out[d + "in_proj.weight"], out[d + "in_proj.bias"] = state[s + "attn.in_proj_weight"], state[s + "attn.in_proj_bias"]
            out[d + "out_proj.weight"], out[d + "out_proj.bias"] = state[s + "attn.out_proj.weight"], state[s + "attn.out_proj.bias"]
            for ln in ("ln_1", "ln_2"):
                out[d + ln + ".weight"], out[d + ln + ".bias"] = state[s + ln + ".weight"], state[s + ln + ".bias"]
            for src, to in (("mlp.c_fc", "fc1"), ("mlp.c_proj", "fc2")):
                out[d + to + ".weight"], out[d + to + ".bias"] = state[s + src + ".weight"], state[s + src + ".bias"]
            i += 1
        return out, i

    vision_blocks, vision_layers = blocks("visual.")
    text_blocks, text_layers = blocks("")
    vision_width = int(state["visual.conv1.weight"].shape[0])
    text_width = int(state["ln_final.weight"].shape[0])
    vision_w = {
        "patch.weight": state["visual.conv1.weight"], "class_embedding": state["visual.class_embedding"],
        "positional_embedding": state["visual.positional_embedding"],
        "ln_pre.weight": state["visual.ln_pre.weight"], "ln_pre.bias": state["visual.ln_pre.bias"],
        "ln_post.weight": state["visual.ln_post.weight"], "ln_post.bias": state["visual.ln_post.bias"],
        "proj": state["visual.proj"].t(), **vision_blocks,
    }
    text_w = {
        "token_embedding": state["token_embedding.weight"], "positional_embedding": state["positional_embedding"],
        "ln_final.weight": state["ln_final.weight"], "ln_final.bias": state["ln_final.bias"],
        "proj": state["text_projection"].t(), **text_blocks,
    }
    vision = VisionTower(vision_w, vision_layers, vision_heads or vision_width // 64, 1e-5, quick_gelu, dtype)
    text = TextTower(text_w, text_layers, text_heads or text_width // 64, 1e-5, quick_gelu, dtype)
    grid = int(round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5))
    facts = {"image_size": grid * int(state["visual.conv1.weight"].shape[-1]),
             "context_length": int(state["positional_embedding"].shape[0]),
             "embedding_dim": int(state["text_projection"].shape[1]),
             "vocab_size": int(state["token_embedding.weight"].shape[0])}
    return vision.eval(), text.eval(), facts


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer files
# ---------------------------------------------------------------------------------------------------------------


def merges_from_bpe_gz(path: str) -> List[Tuple[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:1 + CLIP_MERGES]]
    if len(merges) < CLIP_MERGES or any(len(m) != 2 for m in merges):
        raise ValueError(f"{path}: expected a header line and {CLIP_MERGES} merges")
    return merges


def gz_tokenizer(path: str) -> ClipBpe:
    """CLIP's vocabulary from the merge list: byte symbols, the same with </w>, each merge, SOT, EOT."""
    merges = merges_from_bpe_gz(path)
    symbols = [_clip.BYTE_TO_CHAR[b] for b in _clip.VOCAB_BYTE_ORDER]
    vocab = symbols + [s + _clip.END_OF_WORD for s in symbols] + [a + b for a, b in merges] + [_clip.SOT, _clip.EOT]
    return ClipBpe({token: i for i, token in enumerate(vocab)}, merges)


# ---------------------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------------------


def reference_image(size: int) -> torch.Tensor:
    c = torch.arange(3).reshape(3, 1, 1)
    y = torch.arange(size).reshape(1, size, 1)
    x = torch.arange(size).reshape(1, 1, size)
    return (((37 * c + 11 * y + 7 * x) % 256).float() - 128.0).div(128.0).unsqueeze(0)


class Exported(NamedTuple):
    """What export() wrote: the manifest, and the scripted towers the ONNX files were exported from."""
    manifest: dict
    image: torch.jit.ScriptModule
    text: torch.jit.ScriptModule


def export(vision: nn.Module, text: nn.Module, facts: dict, tokenizer: ClipBpe, tokenizer_manifest: dict, out: str,
           mean: List[float], std: List[float], name: str, description: str,
           reference_texts: List[str] = REFERENCE_TEXTS) -> Exported:
    """Writes both towers into `out` as ONNX, with model.json and reference.json."""
    os.makedirs(out, exist_ok=True)
    if tokenizer.vocab_size != facts["vocab_size"] or tokenizer.eot != facts["vocab_size"] - 1:
        raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens (end token {tokenizer.eot}); the text "
                         f"tower's embedding has {facts['vocab_size']} rows, and the end token must be the last")
    size, context, dim = facts["image_size"], facts["context_length"], facts["embedding_dim"]
    with torch.no_grad():
        image_module, text_module = onnx_towers.export_package_towers(vision, text, out, size, context, dim, tokenizer.eot)

    with torch.no_grad():
        # The scripted towers must equal the eager ones, for any batch size.
        pixels = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(0))
        rows = torch.tensor([tokenizer.encode_for_model(t, context) for t in reference_texts], dtype=torch.long)
        for eager, scripted, batch, what in ((vision, image_module, pixels, "image"), (text, text_module, rows, "text")):
            expected, got = eager(batch), scripted(batch)
            if got.shape != (len(batch), dim) or not torch.allclose(got, expected, atol=1e-5):
                raise AssertionError(f"the scripted {what} tower differs from the eager one")
            if not torch.allclose(scripted(batch[1:2])[0], got[1], atol=1e-5):
                raise AssertionError(f"the scripted {what} tower depends on the batch")
        text_emb = text_module(rows)
        image_emb = image_module(reference_image(size))[0]

    manifest = {
        "name": name,
        "description": description,
        "embedding_dim": dim,
        "image_size": size,
        "mean": mean,
        "std": std,
        "context_length": context,
        "tokenizer": tokenizer_manifest,
        **onnx_towers.manifest_fields(),
    }
    _clip.write_json(os.path.join(out, "model.json"), manifest)
    reference = {
        "about": "Values the C# side must reproduce from this package. input_ids are unpadded: the model input is "
                 f"them followed by zeros up to context_length. Embeddings are the first 8 of {dim} L2-normalised "
                 "values; compare with a tolerance of about 1e-4.",
        "context_length": context,
        "vocab_size": tokenizer.vocab_size,
        "texts": [
            {"text": t, "bpe_ids": tokenizer.encode(t), "input_ids": [i for i in row.tolist() if i != 0],
             "embedding_first8": [float(v) for v in text_emb[k, :8]]}
            for k, (t, row) in enumerate(zip(reference_texts, rows))
        ],
        "image": {
            "formula": f"float32 tensor [1,3,{size},{size}], already normalised (no mean/std applied): "
                       "value(c,y,x) = (((37*c + 11*y + 7*x) mod 256) - 128) / 128",
            "embedding_first8": [float(v) for v in image_emb[:8]],
        },
    }
    _clip.write_json(os.path.join(out, "reference.json"), reference)
    return Exported(manifest, image_module, text_module)


def preprocessing_from_hf(folder: str) -> Tuple[List[float], List[float]]:
    path = os.path.join(folder, "preprocessor_config.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        return list(config.get("image_mean", CLIP_MEAN)), list(config.get("image_std", CLIP_STD))
    return CLIP_MEAN, CLIP_STD


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="Hugging Face CLIPModel folder, or an OpenAI/OpenCLIP state dict file")
    parser.add_argument("out", help="package folder to write")
    parser.add_argument("--bpe-gz", help="bpe_simple_vocab_16e6.txt.gz (for a state dict, or a folder without vocab.json)")
    parser.add_argument("--convert-bpe", action="store_true", help="write the .gz merges as vocab.json + merges.txt")
    parser.add_argument("--act", choices=["quick_gelu", "gelu"], default="quick_gelu",
                        help="activation of a state dict's blocks (OpenAI: quick_gelu; most OpenCLIP-trained: gelu)")
    parser.add_argument("--vision-heads", type=int, default=0, help="a state dict's image tower heads (default width/64)")
    parser.add_argument("--text-heads", type=int, default=0, help="a state dict's text tower heads (default width/64)")
    parser.add_argument("--half", action="store_true", help="store matrices as float16 (widened in forward)")
    parser.add_argument("--name", help="model.json name (default: the source's folder or file name)")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    dtype = torch.float16 if args.half else torch.float32
    source = os.path.abspath(args.source)

    if os.path.isdir(source):
        vision, text, facts = towers_from_hf(source, dtype)
        mean, std = preprocessing_from_hf(source)
        kind = "Hugging Face CLIPModel"
    else:
        vision, text, facts = towers_from_openai(source, args.act == "quick_gelu", dtype, args.vision_heads, args.text_heads)
        mean, std = CLIP_MEAN, CLIP_STD
        kind = "OpenAI/OpenCLIP state dict"

    os.makedirs(args.out, exist_ok=True)
    hf_vocab = os.path.join(source, "vocab.json") if os.path.isdir(source) else None
    if hf_vocab and os.path.exists(hf_vocab) and os.path.exists(os.path.join(source, "merges.txt")):
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(os.path.join(source, name), os.path.join(args.out, name))
        tokenizer = ClipBpe.from_files(os.path.join(args.out, "vocab.json"), os.path.join(args.out, "merges.txt"))
        tokenizer_manifest = {"kind": "clip-bpe", "vocab": "vocab.json", "merges": "merges.txt"}
    elif args.bpe_gz:
        tokenizer = gz_tokenizer(args.bpe_gz)
        if args.convert_bpe:
            tokenizer.save(args.out)
            tokenizer_manifest = {"kind": "clip-bpe", "vocab": "vocab.json", "merges": "merges.txt"}
        else:
            name = os.path.basename(args.bpe_gz)
            shutil.copyfile(args.bpe_gz, os.path.join(args.out, name))
            tokenizer_manifest = {"kind": "clip-bpe-gz", "vocab": name}
    else:
        parser.error("no tokenizer: the folder has no vocab.json + merges.txt; give --bpe-gz")

    name = args.name or os.path.basename(source.rstrip("/"))
    description = (f"{name}: a CLIP checkpoint ({kind}) exported by models/export_clip.py; ViT image tower "
                   f"{facts['image_size']} px, text context {facts['context_length']}, {facts['embedding_dim']}-d.")
    exported = export(vision, text, facts, tokenizer, tokenizer_manifest, args.out, mean, std, name, description)
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"exported {name} to {args.out} ({total / 1e6:.1f} MB)", file=sys.stderr)
    return exported


if __name__ == "__main__":
    main()
