"""shopping-clip's dual encoder, as trained (export.py turns it into the inference form: BatchNorm folded into the
convolutions, text weights stored as float16).

Image tower: a small ResNet for image_size x image_size inputs (64 by default):
    stem    3x3 conv stride 2, 3 -> 32                                   (S/2)
    stage i 3x3 conv stride 2 to width w_i, then `depth` basic blocks   (S/4, S/8, S/16 for widths 64, 128, 256)
    head    1x1 conv to 512, global average pool, linear to D, L2 norm
    every conv is followed by BatchNorm and ReLU; a basic block is conv-BN-ReLU-conv-BN plus the input, then ReLU.
Text tower: CLIP's causal pre-LN transformer (QuickGELU MLP 4x), token + learned position embeddings, final LN,
the features at the end token (the highest id, so argmax of the ids) projected to D, L2 norm.
"""

import math
from dataclasses import asdict, dataclass, field
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    embed_dim: int = 256
    image_size: int = 64
    stem_width: int = 32
    widths: List[int] = field(default_factory=lambda: [64, 128, 256])
    depths: List[int] = field(default_factory=lambda: [1, 1, 1])
    head_width: int = 512
    vocab_size: int = 0
    context_length: int = 32
    text_width: int = 256
    text_layers: int = 4
    text_heads: int = 4

    def to_dict(self):
        return asdict(self)


def project(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Projection and L2 norm in float32 even under autocast (bfloat16 would blur the similarities)."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        return F.normalize(F.linear(x.float(), weight.float()), dim=-1)


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int, relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv1 = conv_bn(width, width, 3, 1)
        self.conv2 = conv_bn(width, width, 3, 1, relu=False)
        nn.init.zeros_(self.conv2[1].weight)  # each block starts as the identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.conv2(self.conv1(x)))


class ImageEncoder(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        layers: List[nn.Module] = [conv_bn(3, cfg.stem_width, 3, 2)]
        width = cfg.stem_width
        for w, depth in zip(cfg.widths, cfg.depths):
            layers.append(conv_bn(width, w, 3, 2))
            layers += [BasicBlock(w) for _ in range(depth)]
            width = w
        layers.append(conv_bn(width, cfg.head_width, 1, 1))
        self.features = nn.Sequential(*layers)
        self.proj = nn.Linear(cfg.head_width, cfg.embed_dim, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.features(image).mean(dim=(2, 3))
        return project(x, self.proj.weight)


class TextBlock(nn.Module):
    def __init__(self, width: int, heads: int, layers: int):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)
        proj_std = (width ** -0.5) * ((2 * layers) ** -0.5)
        nn.init.normal_(self.qkv.weight, std=width ** -0.5)
        nn.init.normal_(self.out_proj.weight, std=proj_std)
        nn.init.normal_(self.c_fc.weight, std=(2 * width) ** -0.5)
        nn.init.normal_(self.c_proj.weight, std=proj_std)
        for linear in (self.qkv, self.out_proj, self.c_fc, self.c_proj):
            nn.init.zeros_(linear.bias)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: [T, width], the tokens up to and including each text's end token, packed; valid: [N, L] where they
        sit in the padded [N, L] layout that attention uses. The linear layers then run on real tokens only."""
        n, length = valid.shape
        width = x.shape[-1]
        packed = self.qkv(self.ln_1(x))
        qkv = packed.new_zeros(n, length, 3 * width)
        qkv[valid] = packed
        qkv = qkv.reshape(n, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = torch.matmul(q, k.transpose(-2, -1)) * (width // self.heads) ** -0.5 + mask
        y = torch.matmul(weights.softmax(dim=-1), v).transpose(1, 2).reshape(n, length, width)
        x = x + self.out_proj(y[valid])
        h = self.c_fc(self.ln_2(x))
        return x + self.c_proj(h * torch.sigmoid(1.702 * h))


class TextEncoder(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.positional_embedding = nn.Parameter(torch.randn(cfg.context_length, cfg.text_width) * 0.01)
        self.blocks = nn.ModuleList([TextBlock(cfg.text_width, cfg.text_heads, cfg.text_layers) for _ in range(cfg.text_layers)])
        self.ln_final = nn.LayerNorm(cfg.text_width)
        self.text_projection = nn.Linear(cfg.text_width, cfg.embed_dim, bias=False)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.text_projection.weight, std=cfg.text_width ** -0.5)
        self.register_buffer("attn_mask", torch.full((cfg.context_length, cfg.context_length), float("-inf")).triu(1),
                             persistent=False)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        # Causal attention: positions after the end token never reach it, so they are left out altogether.
        eot = text.argmax(dim=-1)
        length = int(eot.max()) + 1
        text = text[:, :length]
        valid = torch.arange(length, device=text.device).unsqueeze(0) <= eot.unsqueeze(1)
        x = (self.token_embedding(text) + self.positional_embedding[:length])[valid]
        mask = self.attn_mask[:length, :length]
        for block in self.blocks:
            x = block(x, valid, mask)
        x = self.ln_final(x[valid.sum(dim=1).cumsum(dim=0) - 1])  # each text's last real token: its end token
        return project(x, self.text_projection.weight)


class ShoppingClip(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.visual = ImageEncoder(cfg)
        self.text = TextEncoder(cfg)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(0, math.log(100.0)).exp()


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
