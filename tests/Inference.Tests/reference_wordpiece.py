#!/usr/bin/python3
"""models/pretrained/minilm.py's WordPiece on a list of texts, for the C# parity test (WordPieceTokenizerTests).

    /usr/bin/python3 reference_wordpiece.py VOCAB_TXT TEXTS_JSON OUT_JSON

TEXTS_JSON is a JSON list of strings; OUT_JSON gets, for each, its ids with [CLS] and [SEP] (uncut). Exit status 3
(with the reason on stderr) when minilm.py cannot be imported (it needs torch and onnx).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "pretrained"))
try:
    import minilm
except ImportError as e:  # the test skips on this
    print(f"the reference tokenizer needs minilm.py's imports: {e}", file=sys.stderr)
    sys.exit(3)


def main(vocab, texts_path, out_path):
    tokenizer = minilm.WordPiece(vocab, max_length=10**6)
    with open(texts_path, encoding="utf-8") as f:
        texts = json.load(f)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump([tokenizer.encode(t) for t in texts], f)


if __name__ == "__main__":
    main(*sys.argv[1:])
