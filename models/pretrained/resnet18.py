#!/usr/bin/python3
"""The ImageNet ResNet-18 of Microsoft.ML.DnnImageFeaturizer.ResNet18 as a torch module, built from its ONNX graphs.

    import resnet18
    net = resnet18.load(".cache/pretrained/resnet18")   # ResNet18.onnx + ResNetPreprocess.onnx
    features = net(rgb)        # rgb [batch, 3, 224, 224] in 0..1 -> [batch, 512], the global average pool

The packaged graph is CNTK's export (opset 8): a 7x7 stride-2 stem, max pool, four stages (2, 2, 2 and 3 basic
blocks: the last stage has one block more than torchvision's), BatchNormalization after every convolution and a 7x7
average pool, so the input must be 224x224. Its preprocessing graph takes pixels 0..255 in RGB order, swaps them to
BGR and subtracts a per-pixel mean image; `forward` does the same from 0..1 RGB.

The module interprets the graph node by node (Conv with CNTK's asymmetric pads, BatchNormalization in inference
form, Relu, Add, MaxPool, AveragePool): nothing about the architecture is assumed beyond those operators, so a
graph with any other operator is refused by name. `features(x, taps)` also returns intermediate tensors by name.
"""

import os

import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

GRAPH, PREPROCESS = "ResNet18.onnx", "ResNetPreprocess.onnx"
SIZE = 224
SUPPORTED = {"Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "AveragePool"}


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pad(x, pads, value=0.0):
    """ONNX pads [top, left, bottom, right] (begin..., end...) as F.pad's (left, right, top, bottom)."""
    if not any(pads):
        return x
    top, left, bottom, right = pads
    return F.pad(x, (left, right, top, bottom), value=value)


class ResNet18(torch.nn.Module):
    def __init__(self, graph: onnx.GraphProto, mean_image: torch.Tensor):
        super().__init__()
        inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
        unknown = sorted({n.op_type for n in graph.node} - SUPPORTED)
        if unknown:
            raise ValueError(f"ResNet18.onnx uses operators this module does not interpret: {', '.join(unknown)}")
        self.tensors = torch.nn.ParameterDict(
            {k: torch.nn.Parameter(v, requires_grad=False) for k, v in inits.items()})
        self.nodes = [(n.op_type, list(n.input), list(n.output), _attrs(n)) for n in graph.node]
        inputs = [i.name for i in graph.input if i.name not in inits]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise ValueError("ResNet18.onnx should have one image input and one output")
        self.input_name, self.output_name = inputs[0], graph.output[0].name
        self.register_buffer("mean_image", mean_image.reshape(1, 3, SIZE, SIZE).float())

    def _param(self, name):
        return self.tensors[name]

    def _run(self, x, taps=()):
        values = {self.input_name: x}
        tapped = {}
        for op, ins, outs, a in self.nodes:
            v = values[ins[0]]
            if op == "Conv":
                w = self._param(ins[1])
                b = self._param(ins[2]) if len(ins) > 2 else None
                y = F.conv2d(_pad(v, a.get("pads", [0, 0, 0, 0])), w, b, stride=a["strides"],
                             dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
            elif op == "BatchNormalization":
                scale, bias, mean, var = (self._param(n) for n in ins[1:5])
                y = F.batch_norm(v, mean, var, scale, bias, training=False, eps=a["epsilon"])
            elif op == "Relu":
                y = F.relu(v)
            elif op == "Add":
                y = v + values[ins[1]]
            elif op == "MaxPool":
                y = F.max_pool2d(_pad(v, a["pads"], float("-inf")), a["kernel_shape"], a["strides"])
            elif op == "AveragePool":
                if any(a.get("pads", [0, 0, 0, 0])):
                    raise ValueError("a padded AveragePool is not interpreted")
                y = F.avg_pool2d(v, a["kernel_shape"], a["strides"])
            values[outs[0]] = y
            if outs[0] in taps:
                tapped[outs[0]] = y
        return values[self.output_name], tapped

    def preprocess(self, rgb):
        """0..1 RGB [b, 3, 224, 224] -> the trunk's input: 0..255 BGR minus the mean image."""
        return rgb.flip(1) * 255.0 - self.mean_image

    def forward(self, rgb):
        return self._run(self.preprocess(rgb))[0].flatten(1)

    def features(self, rgb, taps):
        """The pooled output [b, 512] and the named intermediate tensors."""
        out, tapped = self._run(self.preprocess(rgb), set(taps))
        return out.flatten(1), tapped


def load(folder):
    graph = onnx.load(os.path.join(folder, GRAPH)).graph
    pre = onnx.load(os.path.join(folder, PREPROCESS)).graph
    ops = [n.op_type for n in pre.node]
    if ops != ["Split", "Concat", "Sub"]:
        raise ValueError(f"ResNetPreprocess.onnx is not the expected RGB->BGR minus mean image graph: {ops}")
    mean = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in pre.initializer}
    if len(mean) != 1:
        raise ValueError("ResNetPreprocess.onnx should hold exactly one mean image")
    return ResNet18(graph, next(iter(mean.values()))).eval()
