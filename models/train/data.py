"""Images for training and validation: decoding, the in-memory cache, inference-equivalent preprocessing, and the
batched augmentation (all torch ops on whole batches, so it costs little next to the network).

Preprocessing at inference (Platform.Inference.Imaging.ImagePreprocessor, mirrored by `inference_tensor`):
alpha composited onto white, shortest side resized to S with bicubic, centre crop S x S, scaled to 0..1,
normalised with mean/std.

The training cache holds each image twice as premultiplied RGBA float16 (colour already multiplied by alpha, so
compositing on any background is `rgb + (1 - alpha) * background`): at S (the exact inference framing, used as
is for "clean" samples) and at a larger size L (the source the geometric augmentation samples from).
"""

import math
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# ---------------------------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------------------------


def _resize_crop(im: Image.Image, size: int) -> Image.Image:
    """torchvision's Resize(size, bicubic) of the shortest side then CenterCrop(size), on a PIL image."""
    w, h = im.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    if (new_w, new_h) != (w, h):
        im = im.resize((new_w, new_h), Image.BICUBIC)  # RGBA is resized premultiplied by Pillow
    left, top = int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))
    return im.crop((left, top, left + size, top + size))


def premultiplied_rgba(path: str, size: int) -> torch.Tensor:
    """[4, size, size] float32 in 0..1, colour multiplied by alpha."""
    im = _resize_crop(Image.open(path).convert("RGBA"), size)
    x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()
    return torch.cat([x[:3] * x[3:], x[3:]], dim=0)


def inference_tensor(path: str, size: int, mean, std) -> torch.Tensor:
    """[3, size, size]: exactly what the platform feeds the image tower for this file."""
    im = Image.open(path).convert("RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    im = _resize_crop(Image.alpha_composite(white, im).convert("RGB"), size)
    x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return normalize(x.unsqueeze(0), mean, std)[0]


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype).reshape(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).reshape(1, 3, 1, 1)
    return (x - m) / s


class ImageCache:
    """Every image once, premultiplied RGBA float16 at two sizes; `paths[i]` is image i's file."""

    def __init__(self, paths: List[str], size: int, large: int, log=print):
        self.paths = list(paths)
        self.size, self.large_size = size, large
        self.small = torch.empty(len(paths), 4, size, size, dtype=torch.float16)
        self.large = torch.empty(len(paths), 4, large, large, dtype=torch.float16)
        for i, path in enumerate(paths):
            self.small[i] = premultiplied_rgba(path, size).half()
            self.large[i] = premultiplied_rgba(path, large).half()
            if log and (i + 1) % 1000 == 0:
                log(f"  decoded {i + 1}/{len(paths)} images")


# ---------------------------------------------------------------------------------------------------------------
# Augmentation
# ---------------------------------------------------------------------------------------------------------------


def _u(gen: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return torch.rand(n, generator=gen) * (high - low) + low


def _coin(gen: torch.Generator, n: int, p: float) -> torch.Tensor:
    return torch.rand(n, generator=gen) < p


def _affine(gen: torch.Generator, n: int, zoom: torch.Tensor, max_rotation: float, big_rotation_p: float,
            shift: torch.Tensor, flip_p: float) -> torch.Tensor:
    """[n, 2, 3] output->input sampling matrices: the object appears `zoom` times its framed size, rotated,
    maybe mirrored, moved by up to `shift` (in [-1, 1] image units)."""
    angle = torch.randn(n, generator=gen).clamp(-2.5, 2.5) * (max_rotation / 2.5)
    big = _coin(gen, n, big_rotation_p)
    angle = torch.where(big, _u(gen, n, -180.0, 180.0), angle) * (math.pi / 180.0)
    aspect = torch.exp(_u(gen, n, -0.12, 0.12))
    sx, sy = 1.0 / (zoom * aspect.sqrt()), aspect.sqrt() / zoom
    sx = torch.where(_coin(gen, n, flip_p), -sx, sx)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * sx, -sin * sy
    theta[:, 1, 0], theta[:, 1, 1] = sin * sx, cos * sy
    theta[:, 0, 2] = _u(gen, n, -1.0, 1.0) * shift
    theta[:, 1, 2] = _u(gen, n, -1.0, 1.0) * shift
    return theta


def _backgrounds(gen: torch.Generator, n: int, size: int) -> torch.Tensor:
    """[n, 3, size, size]: per image white (50%), a solid colour (20%), a linear gradient between two colours
    (16%), or a blotchy texture with grain (14%); colours are light half of the time."""
    kind = torch.multinomial(torch.tensor([0.50, 0.20, 0.16, 0.14]), n, replacement=True, generator=gen)
    colour = torch.rand(n, 3, generator=gen)
    light = _coin(gen, n, 0.5).float().unsqueeze(1)
    colour = (light * (0.75 + 0.25 * colour) + (1 - light) * colour).reshape(n, 3, 1, 1)
    other = torch.rand(n, 3, generator=gen).reshape(n, 3, 1, 1)
    phi = _u(gen, n, 0.0, 2 * math.pi).reshape(n, 1, 1, 1)
    out = torch.ones(n, 3, size, size)
    sel = _where_sub(kind == 1)
    out[sel] = colour[sel].expand(-1, 3, size, size)
    sel = _where_sub(kind == 2)
    if sel.numel():
        ramp = torch.linspace(-1.0, 1.0, size)
        t = (ramp.reshape(1, 1, 1, size) * torch.cos(phi[sel]) + ramp.reshape(1, 1, size, 1) * torch.sin(phi[sel])) * 0.5 + 0.5
        out[sel] = colour[sel] * (1 - t) + other[sel] * t
    sel = _where_sub(kind == 3)
    if sel.numel():
        coarse = torch.rand(sel.numel(), 3, 6, 6, generator=gen)
        texture = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
        grain = 0.06 * torch.randn(sel.numel(), 3, size, size, generator=gen)
        out[sel] = (0.5 * texture + 0.5 * colour[sel] + grain).clamp(0, 1)
    return out


def _gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable 5-tap Gaussian with a sigma per image (sigma 0 leaves the image as it is)."""
    n, c, h, w = x.shape
    taps = torch.arange(-2, 3, dtype=torch.float32).reshape(1, 5)
    s = sigma.clamp(min=1e-3).reshape(n, 1)
    kernel = torch.exp(-0.5 * (taps / s) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    kernel = kernel.repeat_interleave(c, dim=0)  # [n*c, 5]
    y = x.reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (2, 2, 0, 0), mode="replicate"), kernel.reshape(n * c, 1, 1, 5), groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, 2, 2), mode="replicate"), kernel.reshape(n * c, 1, 5, 1), groups=n * c)
    return y.reshape(n, c, h, w)


LUMA = (0.299, 0.587, 0.114)


def _grey(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("c,nchw->nhw", torch.tensor(LUMA), x).unsqueeze(1)


def _where_sub(mask: torch.Tensor) -> torch.Tensor:
    return mask.nonzero().flatten()


def augment(cache: ImageCache, indices: torch.Tensor, gen: torch.Generator, clean_p: float = 0.2) -> torch.Tensor:
    """[n, 3, S, S] in 0..1 for the cached images `indices`: with probability clean_p the image exactly as
    inference sees it (white background, no change); otherwise random zoom (0.55x..1.4x), aspect, rotation (mostly
    within +-30 degrees, sometimes any angle), mirroring and shift; a background of white, a colour, a gradient, a
    texture, with another emoji as clutter behind the object a fifth of the time; then colour jitter (brightness,
    contrast, saturation, hue, greyscale as one colour matrix per image), blur, low resolution, noise and a small
    occluding patch, each with its own probability. Each step runs on the images it applies to only."""
    n, size = indices.numel(), cache.size
    # All random numbers are drawn for every image in a fixed order, so a batch depends on the seed only.
    clean = _coin(gen, n, clean_p)
    zoom = torch.exp(_u(gen, n, math.log(0.55), math.log(1.4)))
    shift = 0.08 + 0.5 * (1.0 - zoom).clamp(min=0) + 0.5 * (zoom - 1.0).clamp(min=0) / zoom
    theta = _affine(gen, n, zoom, max_rotation=30.0, big_rotation_p=0.06, shift=shift, flip_p=0.5)
    clutter = _coin(gen, n, 0.2) & ~clean
    other = indices.roll(1 + int(torch.randint(0, max(n - 1, 1), (1,), generator=gen)))
    c_zoom = _u(gen, n, 0.35, 0.75)
    c_theta = _affine(gen, n, c_zoom, max_rotation=40.0, big_rotation_p=0.1, shift=torch.zeros(n), flip_p=0.5)
    edge = _u(gen, n, 0.45, 0.9) * torch.where(_coin(gen, n, 0.5), 1.0, -1.0) / c_zoom
    along = _u(gen, n, -0.8, 0.8) / c_zoom
    horizontal = _coin(gen, n, 0.5)
    c_theta[:, 0, 2] = torch.where(horizontal, edge, along)
    c_theta[:, 1, 2] = torch.where(horizontal, along, edge)
    colour_matrix = _colour_matrices(gen, n)
    sigma = _u(gen, n, 0.4, 1.3)
    blur = _coin(gen, n, 0.2) & ~clean
    low = _coin(gen, n, 0.1) & ~clean
    noise_std = _u(gen, n, 0.01, 0.05)
    noisy = _coin(gen, n, 0.15) & ~clean
    cut = _coin(gen, n, 0.1) & ~clean
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=gen))
    sub_gen = torch.Generator().manual_seed(seed)  # for the images' own noise (backgrounds, sensor noise)

    out = cache.small[indices].float()
    out = out[:, :3] + (1 - out[:, 3:])  # on white: the clean result, kept where clean
    aug = _where_sub(~clean)
    if aug.numel() == 0:
        return out
    m = aug.numel()
    grid = F.affine_grid(theta[aug], [m, 4, size, size], align_corners=False)
    fg = F.grid_sample(cache.large[indices[aug]].float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    background = _backgrounds(sub_gen, m, size)
    crowd = _where_sub(clutter[aug])
    if crowd.numel():
        c_grid = F.affine_grid(c_theta[aug][crowd], [crowd.numel(), 4, size, size], align_corners=False)
        c_fg = F.grid_sample(cache.large[other[aug][crowd]].float(), c_grid, mode="bilinear", padding_mode="zeros",
                             align_corners=False)
        background[crowd] = c_fg[:, :3] + (1 - c_fg[:, 3:]) * background[crowd]
    x = fg[:, :3] + (1 - fg[:, 3:]) * background

    # Colour: x' = A x + (contrast offset), A the image's colour matrix (see _colour_matrices).
    a, c, b = colour_matrix
    a, c, b = a[aug], c[aug], b[aug]
    mean = _grey(x).mean(dim=(1, 2, 3))  # grey mean before brightness
    offset = torch.einsum("nij,j->ni", a, torch.ones(3)) * ((1 - c) * b * mean).unsqueeze(1)
    x = torch.einsum("nij,njhw->nihw", a * (c * b).reshape(m, 1, 1), x) + offset.reshape(m, 3, 1, 1)

    sel = _where_sub(blur[aug])
    if sel.numel():
        x[sel] = _gaussian_blur(x[sel], sigma[aug][sel])
    sel = _where_sub(low[aug])
    if sel.numel():
        x[sel] = F.interpolate(F.interpolate(x[sel], scale_factor=0.5, mode="area"), size=(size, size), mode="bilinear",
                               align_corners=False)
    sel = _where_sub(noisy[aug])
    if sel.numel():
        x[sel] = x[sel] + noise_std[aug][sel].reshape(-1, 1, 1, 1) * torch.randn(x[sel].shape, generator=sub_gen)
    sel = _where_sub(cut[aug])
    if sel.numel():
        x[sel] = _cutout(x[sel], sub_gen)
    out[aug] = x.clamp(0, 1)
    return out


def _colour_matrices(gen: torch.Generator, n: int):
    """Per image: A = greyscale? . hue rotation . saturation, contrast c and brightness b (80% of images get
    brightness/contrast/saturation jitter, 25% a small hue turn, 8% become grey)."""
    jitter = _coin(gen, n, 0.8).float()
    b = 1 + jitter * _u(gen, n, -0.3, 0.3)
    c = 1 + jitter * _u(gen, n, -0.3, 0.3)
    s = 1 + jitter * _u(gen, n, -0.45, 0.45)
    hue = _u(gen, n, -0.06, 0.06) * 2 * math.pi * _coin(gen, n, 0.25).float()
    grey = _coin(gen, n, 0.08)
    w = torch.tensor(LUMA)
    eye = torch.eye(3).expand(n, 3, 3)
    to_grey = torch.ones(3, 1) * w.reshape(1, 3)  # every channel = luma
    saturation = s.reshape(n, 1, 1) * eye + (1 - s).reshape(n, 1, 1) * to_grey
    a = torch.bmm(_hue_matrices(hue), saturation)
    a = torch.where(grey.reshape(n, 1, 1), torch.matmul(to_grey, a), a)
    return a, c, b


def _hue_matrices(angle: torch.Tensor) -> torch.Tensor:
    """Rotations of colour space by `angle` radians about the grey axis (a hue turn)."""
    n = angle.shape[0]
    cos, sin = torch.cos(angle), torch.sin(angle)
    k = 1.0 / 3.0
    r = math.sqrt(k)
    m = torch.empty(n, 3, 3)
    # Rodrigues' rotation about (1,1,1)/sqrt(3).
    m[:, 0, 0] = cos + k * (1 - cos)
    m[:, 0, 1] = k * (1 - cos) - r * sin
    m[:, 0, 2] = k * (1 - cos) + r * sin
    m[:, 1, 0] = k * (1 - cos) + r * sin
    m[:, 1, 1] = cos + k * (1 - cos)
    m[:, 1, 2] = k * (1 - cos) - r * sin
    m[:, 2, 0] = k * (1 - cos) - r * sin
    m[:, 2, 1] = k * (1 - cos) + r * sin
    m[:, 2, 2] = cos + k * (1 - cos)
    return m


def _cutout(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A rectangle of 10-30% of each side, in a random colour, somewhere in each image."""
    n, _, h, w = x.shape
    size_h = (_u(gen, n, 0.1, 0.3) * h).long()
    size_w = (_u(gen, n, 0.1, 0.3) * w).long()
    top = (torch.rand(n, generator=gen) * (h - size_h).float()).long()
    left = (torch.rand(n, generator=gen) * (w - size_w).float()).long()
    rows = torch.arange(h).reshape(1, h, 1)
    cols = torch.arange(w).reshape(1, 1, w)
    mask = ((rows >= top.reshape(n, 1, 1)) & (rows < (top + size_h).reshape(n, 1, 1)) &
            (cols >= left.reshape(n, 1, 1)) & (cols < (left + size_w).reshape(n, 1, 1)))
    colour = torch.rand(n, 3, 1, 1, generator=gen)
    return torch.where(mask.unsqueeze(1), colour.expand_as(x), x)


def save_grid(images: torch.Tensor, path: str, columns: int = 16) -> None:
    """A contact sheet of [n, 3, S, S] images in 0..1 (to look at the augmentation)."""
    n, _, h, w = images.shape
    rows = (n + columns - 1) // columns
    sheet = torch.ones(3, rows * (h + 2), columns * (w + 2))
    for i in range(n):
        r, c = divmod(i, columns)
        sheet[:, r * (h + 2):r * (h + 2) + h, c * (w + 2):c * (w + 2) + w] = images[i]
    array = (sheet.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(array).save(path)
