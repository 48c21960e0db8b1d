#!/usr/bin/python3
"""Tests models/align: the held-out split, the image head's ONNX form (its folded standardisation computed by hand
from the file's own tensors against the torch head), and the towers package.py builds from the NuGet graphs
(structure; the numbers are checked in C# against models/shopping-minilm/reference.json, this Python having no
ONNX Runtime). The pretrained graphs are fetched first when missing (skipped, saying why, without dotnet)."""

import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "align"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pretrained"))

import common  # noqa: E402
import fetch_pretrained as fp  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import package  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402
import write_package  # noqa: E402
from train_image import ImageHead, view_pair  # noqa: E402

CACHE = os.environ.get("PLATFORM_PRETRAINED_CACHE") or os.path.join(fp.REPO, ".cache", "pretrained")


def dims(value_info):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value_info.type.tensor_type.shape.dim]


class HeldOutTests(unittest.TestCase):
    def test_the_split_is_fixed_by_the_code_and_about_fifteen_percent(self):
        codes = [f"{cp:X}" for cp in range(0x1F300, 0x1FB00)]
        held = [c for c in codes if common.held_out(c)]
        self.assertEqual(held, [c for c in codes if common.held_out(c)])
        self.assertAlmostEqual(len(held) / len(codes), common.HELD_OUT_PERCENT / 100, delta=0.02)


class HeadTests(unittest.TestCase):
    def test_the_onnx_head_computes_what_the_torch_head_does(self):
        torch.manual_seed(3)
        head = ImageHead(hidden=32, out=16)
        with torch.no_grad():
            for p in head.parameters():
                p.normal_(0, 0.05)
            head.mean.uniform_(0.2, 1.0)
            head.std.uniform_(0.5, 2.0)
        t = {k: v.detach().double().numpy() for k, v in head.state_dict().items()}
        model = package.head_model(t["fc1.weight"], t["fc1.bias"], t["fc2.weight"], t["fc2.bias"], t["skip.weight"],
                                   t["mean"], t["std"])
        self.assertEqual([common.FEATURE_DIM], dims(model.graph.input[0])[1:])
        self.assertEqual(["batch", 16], dims(model.graph.output[0]))
        w = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
        x = torch.rand(5, common.FEATURE_DIM) * 4
        s = np.sqrt(x.double().numpy())
        h = s @ w["head_w1_f16"] + w["head_b1"]
        g = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))
        y = g @ w["head_w2_f16"] + w["head_b2"] + s @ w["head_ws_f16"] + w["head_bs"]
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        with torch.no_grad():
            expected = head(x).double().numpy()
        # The matrices are stored as float16: agreement to a few 1e-3 on unit vectors.
        self.assertLess(np.abs(y - expected).max(), 5e-3)


@unittest.skipUnless(os.path.isfile(os.path.join(CACHE, "minilm", "model.onnx")) or shutil.which("dotnet"),
                     "no pretrained graphs, and no dotnet to fetch them with")
class TowerTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not all(os.path.isfile(os.path.join(CACHE, *p)) for p in
                   (("minilm", "model.onnx"), ("resnet18", "ResNet18.onnx"), ("resnet18", "ResNetPreprocess.onnx"))):
            fp.fetch(CACHE)

    def test_the_text_tower_takes_ids_alone_and_pools_to_one_vector(self):
        model = package.text_tower(os.path.join(CACHE, "minilm", "model.onnx"))
        self.assertEqual(["input_ids"], [i.name for i in model.graph.input])
        self.assertEqual(["batch", "sequence"], dims(model.graph.input[0]))
        self.assertEqual([("embedding", ["batch", 384])], [(o.name, dims(o)) for o in model.graph.output])
        self.assertNotIn("Tanh", {n.op_type for n in model.graph.node})  # the pooler branch is gone
        produced = {o for n in model.graph.node for o in n.output}
        self.assertIn("attention_mask", produced)
        self.assertIn("token_type_ids", produced)

    def test_the_image_tower_has_a_symbolic_batch_and_the_head_spliced_in(self):
        torch.manual_seed(4)
        head = ImageHead(hidden=8, out=384)
        t = {k: v.detach().double().numpy() for k, v in head.state_dict().items()}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "image_head.onnx")
            onnx.save(package.head_model(t["fc1.weight"], t["fc1.bias"], t["fc2.weight"], t["fc2.bias"],
                                         t["skip.weight"], t["mean"], t["std"]), path)
            model = package.image_tower(os.path.join(CACHE, "resnet18"), path)
        self.assertEqual([("pixels", ["batch", 3, 224, 224])], [(i.name, dims(i)) for i in model.graph.input])
        self.assertEqual([("embedding", ["batch", 384])], [(o.name, dims(o)) for o in model.graph.output])
        ops = [n.op_type for n in model.graph.node]
        self.assertEqual(22, ops.count("Conv"))  # every convolution of the packaged trunk is kept
        self.assertIn("GlobalMaxPool", ops)

    def test_a_trunk_without_the_tapped_tensors_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            trunk = onnx.load(os.path.join(CACHE, "resnet18", "ResNet18.onnx"))
            for node in trunk.graph.node:
                node.output[:] = [o.replace("ReLU347", "Renamed347") for o in node.output]
                node.input[:] = [i.replace("ReLU347", "Renamed347") for i in node.input]
            onnx.save(trunk, os.path.join(tmp, "ResNet18.onnx"))
            shutil.copyfile(os.path.join(CACHE, "resnet18", "ResNetPreprocess.onnx"), os.path.join(tmp, "ResNetPreprocess.onnx"))
            with self.assertRaisesRegex(package.BuildError, "ReLU347_Output_0"):
                package.image_tower(tmp, os.path.join(tmp, "missing-head.onnx"))


class ViewPairTests(unittest.TestCase):
    def test_cross_style_pairs_take_one_view_of_each_of_two_styles(self):
        import random
        rng = random.Random(5)
        by_style = {0: [0, 1, 2, 3], 1: [10, 11], 2: [20, 21]}
        rows = [r for v in by_style.values() for r in v]
        style_of = {r: s for s, v in by_style.items() for r in v}
        for _ in range(200):
            a, b = view_pair(by_style, rows, 1.0, rng)
            self.assertNotEqual(style_of[a], style_of[b])

    def test_one_style_or_no_cross_draws_two_distinct_views_of_the_concept(self):
        import random
        rng = random.Random(6)
        for by_style, cross in (({0: [4, 5, 6]}, 1.0), ({0: [4, 5], 1: [7, 8]}, 0.0)):
            rows = [r for v in by_style.values() for r in v]
            for _ in range(100):
                a, b = view_pair(by_style, rows, cross, rng)
                self.assertNotEqual(a, b)
                self.assertIn(a, rows)
                self.assertIn(b, rows)


class KeepStudentTests(unittest.TestCase):
    def test_keeping_the_student_of_a_package_without_one_is_refused_before_anything_is_written(self):
        with tempfile.TemporaryDirectory() as out:
            with open(os.path.join(out, "model.json"), "w", encoding="utf-8") as f:
                f.write("{}")
            with self.assertRaises(SystemExit) as caught:
                write_package.kept_student(out)
            self.assertIn("text_encoder_cjk.onnx is missing", str(caught.exception))
            self.assertEqual(["model.json"], os.listdir(out))

    def test_the_committed_package_keeps_its_student_reference_values(self):
        out = os.path.join(fp.REPO, "models", "shopping-minilm")
        kept = write_package.kept_student(out)
        cjk = [t for t in write_package.REFERENCE_TEXTS if write_package.mostly_cjk(t)]
        self.assertEqual(sorted(cjk), sorted(kept["references"]))
        self.assertTrue(all(item["tower"] == "cjk" for item in kept["references"].values()))
        self.assertEqual(32, kept["context"])


if __name__ == "__main__":
    unittest.main()
