#!/usr/bin/python3
"""Writes a tiny exported CLIP package, made by models/export_clip.py from a randomly initialised model in the
Hugging Face CLIPModel layout, into the folder given as the argument:

    /usr/bin/python3 models/tests/make_export_fixture.py OUT_DIR

The source model (kept in OUT_DIR/hf-source/ with --keep-source) is a ViT with 32 px images, patch 8, width 96,
2 layers (GELU), and a text transformer of width 64, 2 layers (QuickGELU), context 77, 48-d embeddings. Its
tokenizer is models/test-clip's vocab.json + merges.txt (3,514 tokens), so the text embedding has 3,514 rows.
Deterministic: the same bytes for the JSON files every run.

OUT_DIR/reference.json is export_clip's (ids and first 8 embedding values of three texts and the formula image)
plus, for each, "embedding": the whole vector, so a test can compare all of it.

build_tiny_hf(folder) is also what models/tests/test_export_clip.py uses.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

import torch

MODELS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, MODELS_DIR)

import export_clip  # noqa: E402

SEED = 20240612
TEST_CLIP = os.path.join(MODELS_DIR, "test-clip")

TEXT_CONFIG = {"vocab_size": 3514, "hidden_size": 64, "intermediate_size": 256, "num_hidden_layers": 2,
               "num_attention_heads": 4, "max_position_embeddings": 77, "hidden_act": "quick_gelu",
               "layer_norm_eps": 1e-5, "eos_token_id": 3513, "bos_token_id": 3512, "pad_token_id": 1}
VISION_CONFIG = {"hidden_size": 96, "intermediate_size": 384, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "image_size": 32, "patch_size": 8, "num_channels": 3, "hidden_act": "gelu", "layer_norm_eps": 1e-5}
PROJECTION_DIM = 48
MEAN = [0.5, 0.45, 0.4]
STD = [0.25, 0.26, 0.27]


def hf_state_dict(seed: int = SEED) -> dict:
    """Random weights under Hugging Face CLIPModel's names (scaled so every part visibly matters)."""
    gen = torch.Generator().manual_seed(seed)

    def randn(*shape, std=0.05):
        return torch.randn(*shape, generator=gen) * std

    state = {}

    def encoder(prefix, cfg):
        w, m = cfg["hidden_size"], cfg["intermediate_size"]
        for i in range(cfg["num_hidden_layers"]):
            p = f"{prefix}.encoder.layers.{i}."
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                state[p + f"self_attn.{proj}.weight"] = randn(w, w, std=w ** -0.5)
                state[p + f"self_attn.{proj}.bias"] = randn(w, std=0.02)
            for ln in ("layer_norm1", "layer_norm2"):
                state[p + f"{ln}.weight"] = 1 + randn(w, std=0.1)
                state[p + f"{ln}.bias"] = randn(w, std=0.05)
            state[p + "mlp.fc1.weight"] = randn(m, w, std=w ** -0.5)
            state[p + "mlp.fc1.bias"] = randn(m, std=0.02)
            state[p + "mlp.fc2.weight"] = randn(w, m, std=m ** -0.5)
            state[p + "mlp.fc2.bias"] = randn(w, std=0.02)

    t, v = TEXT_CONFIG, VISION_CONFIG
    state["text_model.embeddings.token_embedding.weight"] = randn(t["vocab_size"], t["hidden_size"], std=0.5)
    state["text_model.embeddings.position_embedding.weight"] = randn(t["max_position_embeddings"], t["hidden_size"], std=0.2)
    state["text_model.embeddings.position_ids"] = torch.arange(t["max_position_embeddings"]).unsqueeze(0)
    encoder("text_model", t)
    state["text_model.final_layer_norm.weight"] = 1 + randn(t["hidden_size"], std=0.1)
    state["text_model.final_layer_norm.bias"] = randn(t["hidden_size"], std=0.05)
    grid = v["image_size"] // v["patch_size"]
    state["vision_model.embeddings.class_embedding"] = randn(v["hidden_size"], std=0.5)
    state["vision_model.embeddings.patch_embedding.weight"] = randn(v["hidden_size"], 3, v["patch_size"], v["patch_size"], std=0.05)
    state["vision_model.embeddings.position_embedding.weight"] = randn(grid * grid + 1, v["hidden_size"], std=0.2)
    state["vision_model.embeddings.position_ids"] = torch.arange(grid * grid + 1).unsqueeze(0)
    state["vision_model.pre_layrnorm.weight"] = 1 + randn(v["hidden_size"], std=0.1)
    state["vision_model.pre_layrnorm.bias"] = randn(v["hidden_size"], std=0.05)
    encoder("vision_model", v)
    state["vision_model.post_layernorm.weight"] = 1 + randn(v["hidden_size"], std=0.1)
    state["vision_model.post_layernorm.bias"] = randn(v["hidden_size"], std=0.05)
    state["visual_projection.weight"] = randn(PROJECTION_DIM, v["hidden_size"], std=v["hidden_size"] ** -0.5)
    state["text_projection.weight"] = randn(PROJECTION_DIM, t["hidden_size"], std=t["hidden_size"] ** -0.5)
    state["logit_scale"] = torch.tensor(2.6592)
    return state


def build_tiny_hf(folder: str, seed: int = SEED, weights: str = "pytorch_model.bin") -> dict:
    """A Hugging Face CLIPModel folder: config.json, preprocessor_config.json, weights, vocab.json, merges.txt.
    Returns the state dict."""
    os.makedirs(folder, exist_ok=True)
    config = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": PROJECTION_DIM,
              "logit_scale_init_value": 2.6592, "text_config": TEXT_CONFIG, "vision_config": VISION_CONFIG}
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    preprocessor = {"crop_size": {"height": 32, "width": 32}, "do_center_crop": True, "do_normalize": True,
                    "do_resize": True, "image_mean": MEAN, "image_std": STD, "resample": 3,
                    "size": {"shortest_edge": 32}}
    with open(os.path.join(folder, "preprocessor_config.json"), "w", encoding="utf-8") as f:
        json.dump(preprocessor, f, indent=2)
    state = hf_state_dict(seed)
    if weights.endswith(".safetensors"):
        write_safetensors(state, os.path.join(folder, weights))
    else:
        torch.save(state, os.path.join(folder, weights))
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(TEST_CLIP, name), os.path.join(folder, name))
    return state


def write_safetensors(state: dict, path: str) -> None:
    """The safetensors layout (header length, JSON header, raw little-endian data), for tests."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for key in sorted(state):
        tensor = state[key].contiguous()
        data = tensor.numpy().tobytes()
        header[key] = {"dtype": names[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def main():
    parser = argparse.ArgumentParser(description="Write a tiny exported CLIP package (random weights) for tests.")
    parser.add_argument("out", help="package folder to write")
    parser.add_argument("--keep-source", action="store_true", help="also keep the Hugging Face source in OUT/hf-source")
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as temporary:
        source = os.path.join(args.out, "hf-source") if args.keep_source else os.path.join(temporary, "tiny-clip")
        build_tiny_hf(source)
        exported = export_clip.main([source, args.out, "--name", "tiny-clip-fixture"])

    # Whole embeddings next to the first 8, computed with the scripted towers the ONNX files were exported from.
    path = os.path.join(args.out, "reference.json")
    with open(path, encoding="utf-8") as f:
        reference = json.load(f)
    text_module, image_module = exported.text, exported.image
    context = reference["context_length"]
    with torch.no_grad():
        rows = torch.tensor([t["input_ids"] + [0] * (context - len(t["input_ids"])) for t in reference["texts"]])
        text_emb = text_module(rows)
        image_emb = image_module(export_clip.reference_image(VISION_CONFIG["image_size"]))[0]
    for i, entry in enumerate(reference["texts"]):
        entry["embedding"] = [float(v) for v in text_emb[i]]
    reference["image"]["embedding"] = [float(v) for v in image_emb]
    reference["about"] += " 'embedding' holds the whole vector."
    export_clip._clip.write_json(path, reference)
    print(f"wrote the tiny exported CLIP package to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
