#!/usr/bin/python3
"""Builds the shopping-minilm package's two large towers from the NuGet packages' graphs and the committed heads.

    /usr/bin/python3 models/align/package.py [--package models/shopping-minilm] [--pretrained .cache/pretrained]
    /usr/bin/python3 models/align/package.py --record     # after retraining: write the new checksums to build.json

The pretrained weights (90 MB of MiniLM, 64 MB of ResNet-18) are not committed: this script writes them into the
package folder (git-ignored files) from `models/pretrained/fetch_pretrained.py`'s output, by graph surgery that keeps
every original node and weight as the packages ship them:

  text_encoder.onnx    all-MiniLM-L6-v2 with one input, `input_ids` int64 [batch, sequence] ([CLS] pieces [SEP],
                       then [PAD] = 0): the attention mask is `input_ids != 0` and the token types are zeros, both
                       computed in the graph; the token states are mean-pooled over the mask and L2-normalised
                       (sentence-transformers' recipe) into `embedding` [batch, 384]. The pooler output is dropped.
  image_encoder.onnx   `pixels` float32 [batch, 3, 224, 224], RGB in 0..1 (model.json mean 0, std 1) -> x255, BGR,
                       minus the package's mean image (ResNetPreprocess.onnx) -> the ResNet-18 trunk with a symbolic
                       batch -> the image head spliced in from the committed image_head.onnx (its input `features`
                       is the trunk's last stage average- and max-pooled and third stage average-pooled) ->
                       `embedding` [batch, 384].

It also copies MiniLM's vocab.txt (the WordPiece vocabulary model.json names). The output is deterministic for a
given onnx version, and build.json pins every written file's SHA-256: a mismatch stops the build, naming the file.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if os.path.join(REPO, "models", "pretrained") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, "models", "pretrained"))

from fetch_pretrained import sha256  # noqa: E402
DEFAULT_PACKAGE = os.path.join(REPO, "models", "shopping-minilm")
DEFAULT_PRETRAINED = os.path.join(REPO, ".cache", "pretrained")

STAGE4, STAGE3, POOLED = "ReLU393_Output_0", "ReLU347_Output_0", "Pooling395_Output_0"
TRUNK_INPUT = "Input247"
FEATURES, PIXELS, EMBEDDING, INPUT_IDS = "features", "pixels", "embedding", "input_ids"
BATCH = "batch"
HEAD_OPSET = 8  # the trunk's opset (CNTK's export); the head uses only operators that opset has
BUILT = ("text_encoder.onnx", "image_encoder.onnx", "vocab.txt")


class BuildError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# The image head: a graph of opset-8 operators, written on its own (image_head.onnx) and spliced into the trunk
# ---------------------------------------------------------------------------------------------------------------


def head_model(fc1_w, fc1_b, fc2_w, fc2_b, skip_w, mean, std):
    """image_head.onnx from the trained ImageHead's tensors (torch Linear layout [out, in]): `features` [batch, 1280]
    -> sqrt -> standardise (folded into fc1 and skip) -> fc2(gelu_tanh(fc1 x)) + skip x -> L2 -> `embedding`.
    Matrices are stored as float16 and widened by a Cast (the file stays small; ONNX Runtime folds the casts)."""
    scale = (1.0 / std).astype(np.float64)
    w1 = (fc1_w.astype(np.float64) * scale[None, :])
    b1 = fc1_b.astype(np.float64) - w1 @ mean.astype(np.float64)
    ws = (skip_w.astype(np.float64) * scale[None, :])
    bs = -ws @ mean.astype(np.float64)
    inits, nodes = [], []

    def matrix(name, w):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(w.T).astype(np.float16), name + "_f16"))
        nodes.append(helper.make_node("Cast", [name + "_f16"], [name], to=TensorProto.FLOAT))

    def vector(name, v):
        inits.append(numpy_helper.from_array(np.asarray(v, dtype=np.float32).reshape(-1), name))

    matrix("head_w1", w1)
    vector("head_b1", b1)
    matrix("head_w2", fc2_w.astype(np.float64))
    vector("head_b2", fc2_b.astype(np.float64) + 0.0)
    matrix("head_ws", ws)
    vector("head_bs", bs)
    for name, value in (("head_half", 0.5), ("head_one", 1.0), ("head_c", np.sqrt(2.0 / np.pi)), ("head_k", 0.044715),
                        ("head_three", 3.0)):
        vector(name, [value])
    nodes += [
        helper.make_node("Sqrt", [FEATURES], ["head_sqrt"]),
        helper.make_node("MatMul", ["head_sqrt", "head_w1"], ["head_h0"]),
        helper.make_node("Add", ["head_h0", "head_b1"], ["head_h"]),
        # gelu (tanh form): 0.5 h (1 + tanh(c (h + k h^3)))
        helper.make_node("Pow", ["head_h", "head_three"], ["head_h3"]),
        helper.make_node("Mul", ["head_h3", "head_k"], ["head_kh3"]),
        helper.make_node("Add", ["head_h", "head_kh3"], ["head_inner0"]),
        helper.make_node("Mul", ["head_inner0", "head_c"], ["head_inner"]),
        helper.make_node("Tanh", ["head_inner"], ["head_tanh"]),
        helper.make_node("Add", ["head_tanh", "head_one"], ["head_gate0"]),
        helper.make_node("Mul", ["head_gate0", "head_half"], ["head_gate"]),
        helper.make_node("Mul", ["head_h", "head_gate"], ["head_act"]),
        helper.make_node("MatMul", ["head_act", "head_w2"], ["head_y0"]),
        helper.make_node("Add", ["head_y0", "head_b2"], ["head_y1"]),
        helper.make_node("MatMul", ["head_sqrt", "head_ws"], ["head_s0"]),
        helper.make_node("Add", ["head_s0", "head_bs"], ["head_s"]),
        helper.make_node("Add", ["head_y1", "head_s"], ["head_y"]),
        helper.make_node("ReduceL2", ["head_y"], ["head_norm"], axes=[1], keepdims=1),
        helper.make_node("Div", ["head_y", "head_norm"], [EMBEDDING]),
    ]
    graph = helper.make_graph(
        nodes, "image_head",
        [helper.make_tensor_value_info(FEATURES, TensorProto.FLOAT, [BATCH, fc1_w.shape[1]])],
        [helper.make_tensor_value_info(EMBEDDING, TensorProto.FLOAT, [BATCH, fc2_w.shape[0]])], inits)
    model = helper.make_model(graph, producer_name="platform models/align", opset_imports=[helper.make_opsetid("", HEAD_OPSET)])
    model.ir_version = 4
    onnx.checker.check_model(model)
    return model


def _symbolic_batch(value_info):
    dims = value_info.type.tensor_type.shape.dim
    dims[0].Clear()
    dims[0].dim_param = BATCH


def image_tower(resnet_dir, head_path):
    trunk = onnx.load(os.path.join(resnet_dir, "ResNet18.onnx"))
    pre = onnx.load(os.path.join(resnet_dir, "ResNetPreprocess.onnx"))
    g = trunk.graph
    if [i.name for i in g.input if i.name not in {t.name for t in g.initializer}] != [TRUNK_INPUT]:
        raise BuildError(f"ResNet18.onnx: expected the single input {TRUNK_INPUT}")
    produced = {o for n in g.node for o in n.output}
    for name in (STAGE4, STAGE3, POOLED):
        if name not in produced:
            raise BuildError(f"ResNet18.onnx has no tensor {name}: not the graph this head was trained on")
    means = [t for t in pre.graph.initializer]
    if len(means) != 1 or list(means[0].dims) != [1, 3, 224, 224]:
        raise BuildError("ResNetPreprocess.onnx: expected one mean image [1, 3, 224, 224]")
    mean = numpy_helper.to_array(means[0]).astype(np.float32)
    head = onnx.load(head_path)

    nodes = [
        helper.make_node("Mul", [PIXELS, "pre_255"], ["pre_rgb255"]),
        helper.make_node("Gather", ["pre_rgb255", "pre_bgr"], ["pre_bgr255"], axis=1),
        helper.make_node("Sub", ["pre_bgr255", "pre_mean"], [TRUNK_INPUT]),
    ]
    nodes += list(g.node)
    nodes += [
        helper.make_node("Flatten", [POOLED], ["feat_avg4"], axis=1),
        helper.make_node("GlobalMaxPool", [STAGE4], ["feat_max4_4d"]),
        helper.make_node("Flatten", ["feat_max4_4d"], ["feat_max4"], axis=1),
        helper.make_node("GlobalAveragePool", [STAGE3], ["feat_avg3_4d"]),
        helper.make_node("Flatten", ["feat_avg3_4d"], ["feat_avg3"], axis=1),
        helper.make_node("Concat", ["feat_avg4", "feat_max4", "feat_avg3"], [FEATURES], axis=1),
    ]
    nodes += list(head.graph.node)
    inits = [numpy_helper.from_array(np.array([255.0], dtype=np.float32), "pre_255"),
             numpy_helper.from_array(np.array([2, 1, 0], dtype=np.int64), "pre_bgr"),
             numpy_helper.from_array(mean, "pre_mean")]
    inits += list(g.initializer) + list(head.graph.initializer)
    graph = helper.make_graph(
        nodes, "shopping-minilm image tower",
        [helper.make_tensor_value_info(PIXELS, TensorProto.FLOAT, [BATCH, 3, 224, 224])],
        [helper.make_tensor_value_info(EMBEDDING, TensorProto.FLOAT, [BATCH, head.graph.output[0].type.tensor_type.shape.dim[1].dim_value])],
        inits)
    model = helper.make_model(graph, producer_name="platform models/align/package.py",
                              opset_imports=[helper.make_opsetid("", HEAD_OPSET)])
    model.ir_version = 4
    onnx.checker.check_model(model)
    return model


# ---------------------------------------------------------------------------------------------------------------
# The text tower: MiniLM with the mask computed from the ids, mean pooling and L2 norm
# ---------------------------------------------------------------------------------------------------------------


def text_tower(minilm_path):
    model = onnx.load(minilm_path)
    g = model.graph
    names = [i.name for i in g.input]
    if names != ["input_ids", "attention_mask", "token_type_ids"]:
        raise BuildError(f"{minilm_path}: expected inputs input_ids, attention_mask, token_type_ids, got {names}")
    if g.output[0].name != "last_hidden_state":
        raise BuildError(f"{minilm_path}: expected the first output last_hidden_state, got {g.output[0].name}")
    if model.opset_import[0].version < 13:
        raise BuildError(f"{minilm_path}: opset {model.opset_import[0].version}; the pooling written here needs 13")
    ids = g.input[0]
    del g.input[:]
    g.input.append(ids)
    g.initializer.extend([numpy_helper.from_array(np.array(0, dtype=np.int64), "pool_zero"),
                          numpy_helper.from_array(np.array([1], dtype=np.int64), "pool_axis"),
                          numpy_helper.from_array(np.array(1e-9, dtype=np.float32), "pool_eps")])
    pre = [
        helper.make_node("Greater", ["input_ids", "pool_zero"], ["pool_valid"]),
        helper.make_node("Cast", ["pool_valid"], ["attention_mask"], to=TensorProto.INT64),
        helper.make_node("Mul", ["input_ids", "pool_zero"], ["token_type_ids"]),
    ]
    post = [
        helper.make_node("Cast", ["pool_valid"], ["pool_maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["pool_maskf", "pool_last"], ["pool_mask3"]),
        helper.make_node("Mul", ["last_hidden_state", "pool_mask3"], ["pool_masked"]),
        helper.make_node("ReduceSum", ["pool_masked", "pool_axis"], ["pool_sum"], keepdims=0),
        helper.make_node("ReduceSum", ["pool_mask3", "pool_axis"], ["pool_count0"], keepdims=0),
        helper.make_node("Max", ["pool_count0", "pool_eps"], ["pool_count"]),
        helper.make_node("Div", ["pool_sum", "pool_count"], ["pool_mean"]),
        helper.make_node("ReduceL2", ["pool_mean"], ["pool_norm"], axes=[1], keepdims=1),
        helper.make_node("Div", ["pool_mean", "pool_norm"], [EMBEDDING]),
    ]
    g.initializer.append(numpy_helper.from_array(np.array([2], dtype=np.int64), "pool_last"))
    nodes = pre + list(g.node) + post
    # Keep only what the embedding needs (the pooler branch goes).
    needed, kept = {EMBEDDING}, []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(node.input)
    del g.node[:]
    g.node.extend(reversed(kept))
    inits = [t for t in g.initializer if t.name in needed]
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.output[:]
    g.output.append(helper.make_tensor_value_info(EMBEDDING, TensorProto.FLOAT, [BATCH, 384]))
    del g.value_info[:]
    ids.type.tensor_type.shape.dim[0].dim_param = BATCH
    ids.type.tensor_type.shape.dim[1].dim_param = "sequence"
    g.name = "shopping-minilm text tower"
    model.producer_name = "platform models/align/package.py"
    onnx.checker.check_model(model)
    return model


# ---------------------------------------------------------------------------------------------------------------


def build(package, pretrained, record=False, log=print):
    manifest_path = os.path.join(package, "build.json")
    pins = {}
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            pins = json.load(f).get("sha256", {})
    for need in (os.path.join(pretrained, "minilm", "model.onnx"), os.path.join(pretrained, "minilm", "vocab.txt"),
                 os.path.join(pretrained, "resnet18", "ResNet18.onnx"), os.path.join(package, "image_head.onnx")):
        if not os.path.exists(need):
            hint = "run /usr/bin/python3 models/pretrained/fetch_pretrained.py first" if pretrained in need else \
                "the package's trained head is missing: retrain with models/align/reproduce.sh"
            raise BuildError(f"{need} does not exist: {hint}")
    if not record and pins and all(os.path.exists(os.path.join(package, n)) for n in BUILT) \
            and all(sha256(os.path.join(package, n)) == pins.get(n) for n in BUILT):
        log(f"present   {package} (every built file matches build.json)")
        return
    written = {}
    onnx.save(text_tower(os.path.join(pretrained, "minilm", "model.onnx")), os.path.join(package, "text_encoder.onnx"))
    onnx.save(image_tower(os.path.join(pretrained, "resnet18"), os.path.join(package, "image_head.onnx")),
              os.path.join(package, "image_encoder.onnx"))
    shutil.copyfile(os.path.join(pretrained, "minilm", "vocab.txt"), os.path.join(package, "vocab.txt"))
    for name in BUILT:
        written[name] = sha256(os.path.join(package, name))
    if record:
        with open(manifest_path, "w", encoding="utf-8", newline="\n") as f:
            json.dump({"about": "SHA-256 of the files models/align/package.py writes into this package (git-ignored); "
                                "the build stops when one differs", "sha256": written}, f, indent=2)
            f.write("\n")
        log(f"recorded {manifest_path}")
    else:
        wrong = [n for n in BUILT if pins.get(n) != written[n]]
        if wrong:
            for n in wrong:
                os.remove(os.path.join(package, n))
            raise BuildError(f"{', '.join(wrong)}: SHA-256 differs from {manifest_path} (removed). Either the inputs "
                             f"or the onnx library ({onnx.__version__}) differ from the recorded build; after a "
                             "retraining, run with --record")
    for name in BUILT:
        log(f"{written[name]}  {os.path.getsize(os.path.join(package, name)):>10}  {os.path.join(package, name)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", default=DEFAULT_PACKAGE)
    parser.add_argument("--pretrained", default=DEFAULT_PRETRAINED)
    parser.add_argument("--record", action="store_true", help="write the checksums of what was built to build.json")
    args = parser.parse_args(argv)
    try:
        build(os.path.abspath(args.package), os.path.abspath(args.pretrained), args.record)
    except BuildError as e:
        print(f"package.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
