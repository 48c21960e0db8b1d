"""CLIP byte-level BPE: training a vocabulary on the captions, saving it as vocab.json + merges.txt, and a tokenizer
that reads those files back (the same normalisation, pre-tokenisation and merge order as the C# ClipTokenizer).

The normaliser, pre-tokeniser, BPE trainer and merge loop are models/make_test_model.py's, imported unchanged.

    /usr/bin/python3 models/train/bpe.py --concepts .cache/emoji-data/dataset/concepts.jsonl --out DIR [--merges 8000]
"""

import argparse
import json
import os
import sys
from collections import Counter
from typing import Dict, Iterable, List, Sequence, Tuple

MODELS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if MODELS_DIR not in sys.path:
    sys.path.insert(0, MODELS_DIR)

import make_test_model as _clip  # noqa: E402  (normalize, pretokenize, train_bpe, word_symbols, merge_pair, ...)

SOT, EOT, END_OF_WORD = _clip.SOT, _clip.EOT, _clip.END_OF_WORD
normalize, pretokenize = _clip.normalize, _clip.pretokenize


def train_merges(texts: Iterable[str], num_merges: int) -> List[Tuple[str, str]]:
    """Merges learnt from the pre-tokenised words of texts, each text counted once (most frequent pair first)."""
    counts = Counter()
    for text in texts:
        counts.update(pretokenize(normalize(text)))
    return _clip.train_bpe(counts, num_merges)


def vocabulary(merges: Sequence[Tuple[str, str]]) -> Dict[str, int]:
    """CLIP's vocabulary order: 256 byte symbols, the same with </w>, one token per merge, then SOT and EOT (the
    highest id, which the text tower pools at)."""
    return dict(_clip.PyClipTokenizer(list(merges)).encoder)


class ClipBpe:
    """Tokenizer over a vocabulary (token -> id) and a merge list, as ClipTokenizer.FromFiles builds it."""

    def __init__(self, encoder: Dict[str, int], merges: Sequence[Tuple[str, str]]):
        self.encoder = dict(encoder)
        self.merges = [tuple(m) for m in merges]
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}  # a repeated pair keeps its later rank
        self.sot, self.eot = self.encoder[SOT], self.encoder[EOT]
        self.cache: Dict[str, List[int]] = {}

    @classmethod
    def from_merges(cls, merges: Sequence[Tuple[str, str]]) -> "ClipBpe":
        return cls(vocabulary(merges), merges)

    @classmethod
    def from_files(cls, vocab_json: str, merges_txt: str) -> "ClipBpe":
        with open(vocab_json, encoding="utf-8-sig") as f:
            encoder = json.load(f)
        merges = []
        with open(merges_txt, encoding="utf-8-sig") as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line or (number == 1 and line.startswith("#version")):
                    continue
                left, right = line.split(" ")
                merges.append((left, right))
        return cls(encoder, merges)

    @property
    def vocab_size(self) -> int:
        return max(self.encoder.values()) + 1

    def word_ids(self, piece: str) -> List[int]:
        ids = self.cache.get(piece)
        if ids is None:
            symbols = _clip.word_symbols(piece)
            while len(symbols) > 1:
                best = min(zip(symbols, symbols[1:]), key=lambda p: self.ranks.get(p, float("inf")))
                if best not in self.ranks:
                    break
                symbols = _clip.merge_pair(symbols, *best)
            ids = [self.encoder[s] for s in symbols]
            self.cache[piece] = ids
        return ids

    def encode(self, text: str) -> List[int]:
        """BPE ids without the start and end tokens."""
        ids: List[int] = []
        for piece in pretokenize(normalize(text)):
            if piece == SOT:
                ids.append(self.sot)
            elif piece == EOT:
                ids.append(self.eot)
            else:
                ids += self.word_ids(piece)
        return ids

    def encode_for_model(self, text: str, context_length: int) -> List[int]:
        """SOT, ids, EOT, zeros: context_length ids; a long text is cut so that EOT is still the last id."""
        tokens = [self.sot] + self.encode(text)[:context_length - 2] + [self.eot]
        return tokens + [0] * (context_length - len(tokens))

    def save(self, folder: str) -> Tuple[str, str]:
        """vocab.json and merges.txt in the form models/test-clip has (and ClipTokenizer.FromFiles reads)."""
        os.makedirs(folder, exist_ok=True)
        vocab_path, merges_path = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
        with open(vocab_path, "w", encoding="utf-8", newline="\n") as f:
            json.dump(self.encoder, f, ensure_ascii=False, indent=0)
            f.write("\n")
        with open(merges_path, "w", encoding="utf-8", newline="\n") as f:
            f.write("#version: 0.2\n")
            for a, b in self.merges:
                f.write(f"{a} {b}\n")
        return vocab_path, merges_path


def main():
    from captions import all_captions, load_concepts

    parser = argparse.ArgumentParser(description="Train the shopping-clip BPE vocabulary on the captions.")
    parser.add_argument("--concepts", required=True, help="concepts.jsonl")
    parser.add_argument("--out", required=True, help="folder for vocab.json and merges.txt")
    parser.add_argument("--merges", type=int, default=8000)
    args = parser.parse_args()

    texts = all_captions(load_concepts(args.concepts))
    merges = train_merges(texts, args.merges)
    tokenizer = ClipBpe.from_merges(merges)
    vocab_path, merges_path = tokenizer.save(args.out)
    # Every caption must tokenize (a symbol missing from the vocabulary would raise KeyError here).
    lengths = [len(tokenizer.encode(t)) for t in set(texts)]
    words = Counter(w for t in texts for w in pretokenize(normalize(t)))
    whole = sum(1 for w in words if len(tokenizer.word_ids(w)) == 1)
    print(f"bpe: {len(merges)} merges, vocabulary {tokenizer.vocab_size} (EOT {tokenizer.eot}); {len(set(texts))} "
          f"distinct captions, {max(lengths)} ids at most, {sum(lengths) / len(lengths):.1f} on average; "
          f"{whole}/{len(words)} distinct words are one token; wrote {vocab_path}, {merges_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
