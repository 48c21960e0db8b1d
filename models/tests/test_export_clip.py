#!/usr/bin/python3
"""Tests models/export_clip.py on a tiny random CLIP in the Hugging Face layout (make_export_fixture.py).

    /usr/bin/python3 -m unittest discover -s models/tests      or      /usr/bin/python3 models/tests/test_export_clip.py

The scripted towers the ONNX files are exported from are compared with a reference forward pass written here from
the Hugging Face CLIPModel definition (separate q/k/v projections, scaled queries, causal mask, pooling at the end
token), working on the raw state dict: so the test checks the key mapping and the re-implemented architecture, not
only scripting. The ONNX files themselves are checked for their signature here (this Python has no ONNX Runtime);
tests/Inference.Tests/ExportedClipTests.cs runs them in C# and compares with Python's embeddings.
"""

import json
import os
import sys
import tempfile
import unittest

import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, MODELS_DIR)

import export_clip  # noqa: E402
import make_export_fixture as fixture  # noqa: E402
import onnx_towers  # noqa: E402
from bpe import ClipBpe  # noqa: E402  (models/train on the path through export_clip)

TEXTS = ["a photo of a red dress", "Men's Running Shoes, size 42!", "红色连衣裙 夏季新款", "a very long " * 40, ""]


def _act(x, name):
    return x * torch.sigmoid(1.702 * x) if name == "quick_gelu" else F.gelu(x)


def hf_encoder(state, prefix, cfg, x, causal):
    heads, width = cfg["num_attention_heads"], cfg["hidden_size"]
    head_dim = width // heads
    n, length, _ = x.shape
    mask = torch.full((length, length), float("-inf")).triu(1) if causal else torch.zeros(length, length)
    eps = cfg["layer_norm_eps"]
    for i in range(cfg["num_hidden_layers"]):
        p = f"{prefix}.encoder.layers.{i}."

        def lin(h, name):
            return F.linear(h, state[p + name + ".weight"], state[p + name + ".bias"])

        residual = x
        h = F.layer_norm(x, [width], state[p + "layer_norm1.weight"], state[p + "layer_norm1.bias"], eps)
        q = lin(h, "self_attn.q_proj") * head_dim ** -0.5
        k = lin(h, "self_attn.k_proj")
        v = lin(h, "self_attn.v_proj")
        q, k, v = (t.reshape(n, length, heads, head_dim).transpose(1, 2) for t in (q, k, v))
        attention = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
        h = (attention @ v).transpose(1, 2).reshape(n, length, width)
        x = residual + lin(h, "self_attn.out_proj")
        residual = x
        h = F.layer_norm(x, [width], state[p + "layer_norm2.weight"], state[p + "layer_norm2.bias"], eps)
        x = residual + lin(_act(lin(h, "mlp.fc1"), cfg["hidden_act"]), "mlp.fc2")
    return x


def hf_text_features(state, ids):
    cfg = fixture.TEXT_CONFIG
    x = state["text_model.embeddings.token_embedding.weight"][ids] + \
        state["text_model.embeddings.position_embedding.weight"][:ids.shape[1]]
    x = hf_encoder(state, "text_model", cfg, x, causal=True)
    x = F.layer_norm(x, [cfg["hidden_size"]], state["text_model.final_layer_norm.weight"],
                     state["text_model.final_layer_norm.bias"], cfg["layer_norm_eps"])
    pooled = x[torch.arange(len(ids)), (ids == cfg["eos_token_id"]).int().argmax(dim=-1)]  # first end token
    return F.normalize(F.linear(pooled, state["text_projection.weight"]), dim=-1)


def hf_image_features(state, pixels):
    cfg = fixture.VISION_CONFIG
    patches = F.conv2d(pixels, state["vision_model.embeddings.patch_embedding.weight"], stride=cfg["patch_size"])
    patches = patches.flatten(2).transpose(1, 2)
    cls = state["vision_model.embeddings.class_embedding"].expand(len(pixels), 1, -1)
    x = torch.cat([cls, patches], dim=1) + state["vision_model.embeddings.position_embedding.weight"]
    width, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
    x = F.layer_norm(x, [width], state["vision_model.pre_layrnorm.weight"], state["vision_model.pre_layrnorm.bias"], eps)
    x = hf_encoder(state, "vision_model", cfg, x, causal=False)
    pooled = F.layer_norm(x[:, 0], [width], state["vision_model.post_layernorm.weight"],
                          state["vision_model.post_layernorm.bias"], eps)
    return F.normalize(F.linear(pooled, state["visual_projection.weight"]), dim=-1)


def to_openai_layout(state):
    """The same weights under OpenAI CLIP / OpenCLIP names."""
    out = {}

    def blocks(src, dst, layers):
        for i in range(layers):
            s, d = f"{src}.encoder.layers.{i}.", f"{dst}transformer.resblocks.{i}."
            a = s + "self_attn."
            out[d + "attn.in_proj_weight"] = torch.cat([state[a + f"{n}_proj.weight"] for n in "qkv"])
            out[d + "attn.in_proj_bias"] = torch.cat([state[a + f"{n}_proj.bias"] for n in "qkv"])
            out[d + "attn.out_proj.weight"], out[d + "attn.out_proj.bias"] = state[a + "out_proj.weight"], state[a + "out_proj.bias"]
            for hf, oa in (("layer_norm1", "ln_1"), ("layer_norm2", "ln_2")):
                out[d + oa + ".weight"], out[d + oa + ".bias"] = state[s + hf + ".weight"], state[s + hf + ".bias"]
            for hf, oa in (("fc1", "c_fc"), ("fc2", "c_proj")):
                out[d + f"mlp.{oa}.weight"], out[d + f"mlp.{oa}.bias"] = state[s + f"mlp.{hf}.weight"], state[s + f"mlp.{hf}.bias"]

    blocks("text_model", "", fixture.TEXT_CONFIG["num_hidden_layers"])
    blocks("vision_model", "visual.", fixture.VISION_CONFIG["num_hidden_layers"])
    out["token_embedding.weight"] = state["text_model.embeddings.token_embedding.weight"]
    out["positional_embedding"] = state["text_model.embeddings.position_embedding.weight"]
    out["ln_final.weight"], out["ln_final.bias"] = state["text_model.final_layer_norm.weight"], state["text_model.final_layer_norm.bias"]
    out["text_projection"] = state["text_projection.weight"].t().contiguous()
    out["visual.conv1.weight"] = state["vision_model.embeddings.patch_embedding.weight"]
    out["visual.class_embedding"] = state["vision_model.embeddings.class_embedding"]
    out["visual.positional_embedding"] = state["vision_model.embeddings.position_embedding.weight"]
    out["visual.ln_pre.weight"], out["visual.ln_pre.bias"] = state["vision_model.pre_layrnorm.weight"], state["vision_model.pre_layrnorm.bias"]
    out["visual.ln_post.weight"], out["visual.ln_post.bias"] = state["vision_model.post_layernorm.weight"], state["vision_model.post_layernorm.bias"]
    out["visual.proj"] = state["visual_projection.weight"].t().contiguous()
    out["logit_scale"] = state["logit_scale"]
    return out


class ExportClipTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.temporary = tempfile.TemporaryDirectory()
        root = cls.temporary.name
        cls.source = os.path.join(root, "hf")
        cls.state = fixture.build_tiny_hf(cls.source)
        cls.out = os.path.join(root, "package")
        exported = export_clip.main([cls.source, cls.out, "--name", "tiny"])
        cls.image, cls.text = exported.image, exported.text
        cls.tokenizer = ClipBpe.from_files(os.path.join(cls.out, "vocab.json"), os.path.join(cls.out, "merges.txt"))
        cls.ids = torch.tensor([cls.tokenizer.encode_for_model(t, 77) for t in TEXTS], dtype=torch.long)
        cls.pixels = torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(3))

    @classmethod
    def tearDownClass(cls):
        cls.temporary.cleanup()

    def assertClose(self, got, expected, atol=1e-5):
        self.assertEqual(got.shape, expected.shape)
        diff = (got - expected).abs().max().item()
        self.assertLess(diff, atol, f"max |diff| {diff:.3g}")

    def test_text_tower_matches_reference(self):
        with torch.no_grad():
            self.assertClose(self.text(self.ids), hf_text_features(self.state, self.ids))

    def test_image_tower_matches_reference(self):
        with torch.no_grad():
            self.assertClose(self.image(self.pixels), hf_image_features(self.state, self.pixels))

    def test_outputs_are_unit_length_and_batch_independent(self):
        with torch.no_grad():
            for module, batch in ((self.text, self.ids), (self.image, self.pixels)):
                together = module(batch)
                self.assertClose(together.norm(dim=-1), torch.ones(len(batch)))
                for i in range(len(batch)):
                    self.assertClose(module(batch[i:i + 1])[0], together[i])

    def test_towers_are_onnx_with_the_package_signature(self):
        image = os.path.join(self.out, "image_encoder.onnx")
        text = os.path.join(self.out, "text_encoder.onnx")
        onnx_towers.check_signature(image, "pixels", onnx.TensorProto.FLOAT, [3, 32, 32], fixture.PROJECTION_DIM)
        onnx_towers.check_signature(text, "input_ids", onnx.TensorProto.INT64, [77], fixture.PROJECTION_DIM)
        self.assertFalse([n for n in os.listdir(self.out) if n.endswith(".pt")], "no TorchScript files in the package")
        # The weights in the file are the checkpoint's (the patch convolution, by value).
        weights = {i.name: numpy_helper.to_array(i) for i in onnx.load(image).graph.initializer}
        patch = self.state["vision_model.embeddings.patch_embedding.weight"].numpy()
        self.assertTrue(any(w.shape == patch.shape and (w == patch).all() for w in weights.values()))

    def test_signature_check_refuses_a_fixed_batch_axis(self):
        with tempfile.TemporaryDirectory() as root:
            path = os.path.join(root, "fixed.onnx")
            model = onnx.load(os.path.join(self.out, "text_encoder.onnx"))
            dim = model.graph.input[0].type.tensor_type.shape.dim[0]
            dim.Clear()
            dim.dim_value = 1
            onnx.save(model, path)
            with self.assertRaises(AssertionError):
                onnx_towers.check_signature(path, "input_ids", onnx.TensorProto.INT64, [77], fixture.PROJECTION_DIM)

    def test_manifest_and_reference(self):
        with open(os.path.join(self.out, "model.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual(manifest["embedding_dim"], fixture.PROJECTION_DIM)
        self.assertEqual(manifest["image_size"], 32)
        self.assertEqual(manifest["context_length"], 77)
        self.assertEqual(manifest["mean"], fixture.MEAN)
        self.assertEqual(manifest["std"], fixture.STD)
        self.assertEqual(manifest["tokenizer"], {"kind": "clip-bpe", "vocab": "vocab.json", "merges": "merges.txt"})
        self.assertEqual((manifest["image_tower"], manifest["text_tower"]), ("image_encoder.onnx", "text_encoder.onnx"))
        self.assertEqual((manifest["image_input"], manifest["image_output"], manifest["text_input"], manifest["text_output"]),
                         ("pixels", "embedding", "input_ids", "embedding"))
        for key in ("image_tower", "text_tower", "tokenizer"):
            files = [manifest[key]] if key != "tokenizer" else [manifest[key]["vocab"], manifest[key]["merges"]]
            for name in files:
                self.assertTrue(os.path.isfile(os.path.join(self.out, name)), name)
        with open(os.path.join(self.out, "reference.json"), encoding="utf-8") as f:
            reference = json.load(f)
        # test-clip's tokenizer: the ids must be test-clip's own reference ids.
        with open(os.path.join(fixture.TEST_CLIP, "reference.json"), encoding="utf-8") as f:
            test_clip = json.load(f)
        self.assertEqual([t["input_ids"] for t in reference["texts"]], [t["input_ids"] for t in test_clip["texts"]])
        with torch.no_grad():
            rows = torch.tensor([t["input_ids"] + [0] * (77 - len(t["input_ids"])) for t in reference["texts"]])
            expected = hf_text_features(self.state, rows)
            image = hf_image_features(self.state, export_clip.reference_image(32))
        for i, entry in enumerate(reference["texts"]):
            self.assertClose(torch.tensor(entry["embedding_first8"]), expected[i, :8])
        self.assertClose(torch.tensor(reference["image"]["embedding_first8"]), image[0, :8])

    def test_safetensors_weights_give_the_same_towers(self):
        with tempfile.TemporaryDirectory() as root:
            source = os.path.join(root, "hf")
            fixture.build_tiny_hf(source, weights="model.safetensors")
            vision, text, _ = export_clip.towers_from_hf(source)
            with torch.no_grad():
                self.assertClose(text(self.ids), self.text(self.ids), atol=1e-6)
                self.assertClose(vision(self.pixels), self.image(self.pixels), atol=1e-6)

    def test_openai_layout_gives_the_same_towers(self):
        with tempfile.TemporaryDirectory() as root:
            path = os.path.join(root, "openai.pt")
            torch.save(to_openai_layout(self.state), path)
            # The fixture's vision tower uses GELU and its text tower QuickGELU; a state dict has one activation,
            # so compare each tower built with its own.
            heads = {"vision_heads": fixture.VISION_CONFIG["num_attention_heads"],
                     "text_heads": fixture.TEXT_CONFIG["num_attention_heads"]}
            vision, _, facts = export_clip.towers_from_openai(path, quick_gelu=False, **heads)
            _, text, _ = export_clip.towers_from_openai(path, quick_gelu=True, **heads)
        self.assertEqual((facts["image_size"], facts["context_length"], facts["embedding_dim"]), (32, 77, fixture.PROJECTION_DIM))
        with torch.no_grad():
            self.assertClose(text(self.ids), self.text(self.ids), atol=1e-6)
            self.assertClose(vision(self.pixels), self.image(self.pixels), atol=1e-6)

    def test_half_storage_stays_close(self):
        vision, text, _ = export_clip.towers_from_hf(self.source, torch.float16)
        with torch.no_grad():
            self.assertClose(text(self.ids), self.text(self.ids), atol=1e-2)
            self.assertClose(vision(self.pixels), self.image(self.pixels), atol=1e-2)

    def test_fixture_script_writes_a_package(self):
        with tempfile.TemporaryDirectory() as root:
            out = os.path.join(root, "fixture")
            sys.argv = ["make_export_fixture.py", out]
            fixture.main()
            with open(os.path.join(out, "reference.json"), encoding="utf-8") as f:
                reference = json.load(f)
            self.assertEqual(len(reference["image"]["embedding"]), fixture.PROJECTION_DIM)
            rows = torch.tensor([t["input_ids"] + [0] * (77 - len(t["input_ids"])) for t in reference["texts"]])
            with torch.no_grad():
                expected = hf_text_features(fixture.hf_state_dict(), rows)
            self.assertClose(torch.tensor([t["embedding"] for t in reference["texts"]]), expected)


if __name__ == "__main__":
    unittest.main()
