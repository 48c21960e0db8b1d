"""Writes a model package's towers as ONNX files, the form Platform.Inference loads (ONNX Runtime), and checks them.

Used by make_test_model.py, export_clip.py, train/export.py and convert_to_onnx.py, so every package gets the same
contract (models/README.md):

  image tower  input  "pixels"     float32 [batch, 3, image_size, image_size]   (already normalised with mean/std)
               output "embedding"  float32 [batch, embedding_dim]               (L2-normalised)
  text tower   input  "input_ids"  int64   [batch, context_length]              (SOT, ids, EOT, zeros)
               output "embedding"  float32 [batch, embedding_dim]               (L2-normalised)

The batch axis is symbolic ("batch"), so one file serves every batch size. Towers are scripted before export
(torch.jit.script), not traced: shopping-clip's text tower cuts the padding after the longest text of the batch,
a data-dependent length that tracing would freeze at the example's value.

Python here has no ONNX Runtime, so the checks are structural (onnx.checker, the signature above); the numbers are
checked on the C# side against reference.json, which is computed from the same scripted modules.
"""

import os
import warnings
from typing import Dict, List, Optional

import onnx
import torch

OPSET = 17
IMAGE_INPUT, TEXT_INPUT, OUTPUT = "pixels", "input_ids", "embedding"
IMAGE_FILE, TEXT_FILE = "image_encoder.onnx", "text_encoder.onnx"
BATCH = "batch"


def manifest_fields() -> Dict[str, str]:
    """The model.json fields naming the tower files and their inputs and outputs."""
    return {"image_tower": IMAGE_FILE, "text_tower": TEXT_FILE, "image_input": IMAGE_INPUT,
            "image_output": OUTPUT, "text_input": TEXT_INPUT, "text_output": OUTPUT}


def export_tower(module: torch.nn.Module, example: torch.Tensor, path: str, input_name: str, embedding_dim: int,
                 output_name: str = OUTPUT) -> torch.jit.ScriptModule:
    """Scripts `module` (unless it already is a ScriptModule) and writes it to `path` as ONNX; returns the scripted
    module, which is what the ONNX graph was made from (so reference values should be computed with it)."""
    scripted = module if isinstance(module, torch.jit.ScriptModule) else torch.jit.script(module)
    with torch.no_grad(), warnings.catch_warnings():
        # The exporter warns about ScriptModule signatures, prim::Constant shape inference and advanced indexing
        # with negative indices (ours never are): none changes the graph.
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            scripted, (example,), path, opset_version=OPSET, input_names=[input_name], output_names=[output_name],
            dynamic_axes={input_name: {0: BATCH}, output_name: {0: BATCH}},
            # Folding would widen the float16 matrices into float32 initializers and double the file; ONNX Runtime
            # folds those casts itself when it loads the session.
            do_constant_folding=False)
    model = onnx.load(path)
    # The exporter cannot see through the normalisation that the width is fixed; say so, so the loader can check
    # it against model.json before the first request.
    dims = model.graph.output[0].type.tensor_type.shape.dim
    if len(dims) != 2:
        raise AssertionError(f"{path}: the output has rank {len(dims)}, not 2")
    dims[1].Clear()
    dims[1].dim_value = embedding_dim
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return scripted


def export_package_towers(image_module: torch.nn.Module, text_module: torch.nn.Module, out: str, image_size: int,
                          context_length: int, embedding_dim: int, end_token: int):
    """Writes both towers into `out` and checks them; returns the scripted (image, text) modules."""
    pixels = torch.zeros(2, 3, image_size, image_size)
    ids = torch.zeros(2, context_length, dtype=torch.long)
    ids[:, 0] = end_token - 1  # start token, then the end token, then padding
    ids[:, 1] = end_token
    image = export_tower(image_module, pixels, os.path.join(out, IMAGE_FILE), IMAGE_INPUT, embedding_dim)
    text = export_tower(text_module, ids, os.path.join(out, TEXT_FILE), TEXT_INPUT, embedding_dim)
    check_signature(os.path.join(out, IMAGE_FILE), IMAGE_INPUT, onnx.TensorProto.FLOAT, [3, image_size, image_size],
                    embedding_dim)
    check_signature(os.path.join(out, TEXT_FILE), TEXT_INPUT, onnx.TensorProto.INT64, [context_length], embedding_dim)
    return image, text


def _dims(value_info) -> List[Optional[int]]:
    """A tensor's dims: ints where fixed, None where symbolic."""
    return [d.dim_value if d.HasField("dim_value") else None for d in value_info.type.tensor_type.shape.dim]


def check_signature(path: str, input_name: str, input_type: int, input_dims: List[int], embedding_dim: int,
                    output_name: str = OUTPUT) -> None:
    """The file holds one input `input_name` [batch, *input_dims] of `input_type` and the float32 output
    `output_name` [batch, embedding_dim], with a symbolic batch axis: what the C# loader checks too."""
    model = onnx.load(path)
    onnx.checker.check_model(model)
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if [i.name for i in inputs] != [input_name]:
        raise AssertionError(f"{path}: inputs {[i.name for i in inputs]}, expected ['{input_name}']")
    if inputs[0].type.tensor_type.elem_type != input_type:
        raise AssertionError(f"{path}: input type {inputs[0].type.tensor_type.elem_type}, expected {input_type}")
    if _dims(inputs[0]) != [None] + list(input_dims):
        raise AssertionError(f"{path}: input dims {_dims(inputs[0])}, expected [batch] + {input_dims}")
    outputs = [o for o in model.graph.output if o.name == output_name]
    if len(outputs) != 1 or outputs[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise AssertionError(f"{path}: no float32 output '{output_name}'")
    if _dims(outputs[0]) != [None, embedding_dim]:
        raise AssertionError(f"{path}: output dims {_dims(outputs[0])}, expected [batch, {embedding_dim}]")
    if model.opset_import[0].version != OPSET:
        raise AssertionError(f"{path}: opset {model.opset_import[0].version}, expected {OPSET}")
