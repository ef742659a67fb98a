"""The SMPLer-X network (arXiv 2309.17448) as plain PyTorch modules, for the four released sizes.

Data flow (B persons): crop (B, 3, 512, 384) RGB in [0, 1] → every second pixel (256x192) → ViT with 31 task
tokens → body heat-maps and body/face regressors from the tokens → BoxNet finds hand and face boxes → HandRoI
crops both hands from an upsampled feature map (left hand mirrored) → hand heat-maps and hand regressor.

Module and attribute names equal the official ones, so `state_dict()` keys equal the official checkpoint's keys
without their `module.` prefix (see `backends.checkpoint` for reading the files). The network stops at the raw
head outputs (6D rotations, camera parameters); `decode_outputs` turns them into axis-angle and translation in
fp32, outside any reduced-precision backend.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import torch
import torch.nn as nn
from torch import Tensor

from .configs import CONFIGS, SmplerxConfig
from .layout import (  # noqa: F401 — re-exported: the network's sizes and output names live with the decoder
    BODY_HM_SHAPE,
    CAMERA_3D_SIZE,
    DEPTH_SCALE,
    FACE_BOX_EXTENSION,
    FOCAL,
    HAND_BOX_EXTENSION,
    HAND_HM_SHAPE,
    HAND_UPSCALE,
    INPUT_BODY_HW,
    INPUT_IMG_HW,
    NUM_BETAS,
    NUM_BODY_POS_JOINTS,
    NUM_BODY_ROT_JOINTS,
    NUM_EXPRESSION,
    NUM_HAND_POS_JOINTS,
    NUM_HAND_ROT_JOINTS,
    NUM_TASK_TOKENS,
    OUTPUT_NAMES,
    PRINCIPAL_POINT,
)
from .layout import decode_outputs as decode_numpy
from .ops import MAX_ROI_SAMPLES, restore_bbox, roi_align_avg, sample_joint_features, soft_argmax_2d, soft_argmax_3d


def _linear_stack(dims: list[int], relu_final: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
        layers.append(nn.Linear(d_in, d_out))
        if relu_final or i < len(dims) - 2:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _conv1x1_stack(dims: list[int], bnrelu_final: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
        layers.append(nn.Conv2d(d_in, d_out, kernel_size=1))
        if bnrelu_final or i < len(dims) - 2:
            layers += [nn.BatchNorm2d(d_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def _deconv_stack(dims: list[int]) -> nn.Sequential:
    """Each step doubles H and W: ConvTranspose2d(k4, s2, p1, no bias) + BN + ReLU, after every layer."""
    layers: list[nn.Module] = []
    for d_in, d_out in itertools.pairwise(dims):
        layers += [nn.ConvTranspose2d(d_in, d_out, kernel_size=4, stride=2, padding=1, bias=False),
                   nn.BatchNorm2d(d_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


# --- ViT encoder -------------------------------------------------------------------------------------------

class PatchEmbed(nn.Module):
    def __init__(self, embed_dim: int, patch_size: int = 16) -> None:
        super().__init__()
        # padding 2 (not 0): patch (r, c) covers input rows 16r-2 … 16r+13; rows/cols 254-255 / 190-191 unseen
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size, padding=2)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, 192, D), row-major over the 16x12 grid


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        batch, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        # Written out (not scaled_dot_product_attention) to keep the official rounding.
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(batch, tokens, dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp_ratio)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViTEncoder(nn.Module):
    """ViT with task tokens. (B, 3, 256, 192) → img_feat (B, D, 16, 12), task_tokens (B, 31, D)."""

    def __init__(self, config: SmplerxConfig) -> None:
        super().__init__()
        dim = config.embed_dim
        grid_h, grid_w = BODY_HM_SHAPE[1], BODY_HM_SHAPE[2]
        self.grid_hw = (grid_h, grid_w)
        # Parameter order = checkpoint key order: task_tokens, pos_embed, then the submodules.
        self.task_tokens = nn.Parameter(torch.zeros(1, NUM_TASK_TOKENS, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid_h * grid_w + 1, dim))  # slot 0: legacy "cls" row
        self.patch_embed = PatchEmbed(dim)
        self.blocks = nn.ModuleList(Block(dim, config.num_heads, config.mlp_ratio) for _ in range(config.depth))
        self.last_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        batch = x.shape[0]
        x = self.patch_embed(x)
        x = x + self.pos_embed[:, 1:] + self.pos_embed[:, :1]  # the cls row is added to every patch
        x = torch.cat((self.task_tokens.expand(batch, -1, -1), x), dim=1)  # task tokens: no position, first
        for block in self.blocks:
            x = block(x)
        x = self.last_norm(x)
        task_tokens = x[:, :NUM_TASK_TOKENS]
        img_feat = x[:, NUM_TASK_TOKENS:].permute(0, 2, 1).reshape(batch, -1, *self.grid_hw).contiguous()
        return img_feat, task_tokens


# --- heads and neck ----------------------------------------------------------------------------------------

class PositionNet(nn.Module):
    """1x1 conv to per-joint 3-D heat-maps; returns (softmaxed heat-maps (B, J, D, H, W), soft-argmax (B, J, 3))."""

    def __init__(self, dim: int, num_joints: int, hm_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.hm_shape = hm_shape
        self.conv = _conv1x1_stack([dim, num_joints * hm_shape[0]], bnrelu_final=False)

    def forward(self, img_feat: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.conv(img_feat).view(-1, self.num_joints, *self.hm_shape)
        coords = soft_argmax_3d(logits)
        heatmap = torch.softmax(logits.reshape(logits.shape[0], self.num_joints, -1), 2).view_as(logits)
        return heatmap, coords


class BodyRotationNet(nn.Module):
    """Body pose, shape and camera from the task tokens (checkpoint name `body_regressor`)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        joint_features = NUM_BODY_POS_JOINTS * (512 + 3)
        self.body_conv = _linear_stack([dim, 512])
        self.root_pose_out = _linear_stack([joint_features, 6])
        self.body_pose_out = _linear_stack([joint_features, NUM_BODY_ROT_JOINTS * 6])
        self.shape_out = _linear_stack([dim, NUM_BETAS])
        self.cam_out = _linear_stack([dim, 3])

    def forward(self, body_pose_tokens: Tensor, shape_token: Tensor, cam_token: Tensor,
                body_joint_img: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        batch = body_pose_tokens.shape[0]
        shape = self.shape_out(shape_token)
        cam_param = self.cam_out(cam_token)
        feat = torch.cat((self.body_conv(body_pose_tokens), body_joint_img.to(body_pose_tokens.dtype)), 2)
        feat = feat.reshape(batch, -1)  # joint-major: 512 features then (x, y, z) per joint
        return self.root_pose_out(feat), self.body_pose_out(feat), shape, cam_param


class FaceRegressor(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.expr_out = _linear_stack([dim, NUM_EXPRESSION])
        self.jaw_pose_out = _linear_stack([dim, 6])

    def forward(self, expr_token: Tensor, jaw_pose_token: Tensor) -> tuple[Tensor, Tensor]:
        return self.expr_out(expr_token), self.jaw_pose_out(jaw_pose_token)


class BoxNet(nn.Module):
    """Hand and face boxes from image features + body heat-maps.

    Returns lhand_center, lhand_size, rhand_center, rhand_size, face_center, face_size: each (B, 2) in 16x12
    grid cells (centres found on a 128x96 map and divided by 8).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.deconv = _deconv_stack([dim + NUM_BODY_POS_JOINTS * BODY_HM_SHAPE[0], 256, 256, 256])
        self.bbox_center = _conv1x1_stack([256, 3], bnrelu_final=False)
        self.lhand_size = _linear_stack([256, 256, 2])
        self.rhand_size = _linear_stack([256, 256, 2])
        self.face_size = _linear_stack([256, 256, 2])

    def forward(self, img_feat: Tensor, body_joint_hm: Tensor) -> tuple[Tensor, ...]:
        _, height, width = BODY_HM_SHAPE
        hm = body_joint_hm.reshape(body_joint_hm.shape[0], -1, height, width).to(img_feat.dtype)
        feat = self.deconv(torch.cat((img_feat, hm), 1))  # (B, 256, 128, 96)
        centers = soft_argmax_2d(self.bbox_center(feat))  # (B, 3, 2) in 128x96 pixels
        outputs = []
        for part, size_net in enumerate((self.lhand_size, self.rhand_size, self.face_size)):
            center = centers[:, part, :]
            size = size_net(sample_joint_features(feat, center[:, None, :])[:, 0, :])
            outputs += [center / 8, size]
        return tuple(outputs)


class HandRoI(nn.Module):
    """Both hands' features from a 4x upsampled map: (B, D, 16, 12) + two (B, 4) xyxy boxes in body-input
    pixels → (2B, D, 16, 16): rows 0…B-1 the left hands mirrored to look like right hands, then the right hands."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.deconv = _deconv_stack([dim, dim // 2, dim // 4])
        self.conv = _conv1x1_stack([dim // 4, dim], bnrelu_final=False)
        # None: the official data-sized RoI sample grid (eager); graphs (ONNX export, torch.compile, CUDA graphs)
        # need a fixed one: `use_fixed_roi_grid`.
        self.roi_samples: int | None = None

    def forward(self, img_feat: Tensor, lhand_bbox: Tensor, rhand_bbox: Tensor) -> Tensor:
        feat = self.deconv(img_feat)  # (B, D/4, 64, 48)
        batch = feat.shape[0]
        index = torch.arange(batch, device=feat.device)
        out_hw = (HAND_HM_SHAPE[1], HAND_HM_SHAPE[2])
        rois = []
        for box in (lhand_bbox, rhand_bbox):  # body-input pixels → feature pixels, in the official order
            rois.append(torch.stack((box[:, 0] / INPUT_BODY_HW[1] * BODY_HM_SHAPE[2] * HAND_UPSCALE,
                                     box[:, 1] / INPUT_BODY_HW[0] * BODY_HM_SHAPE[1] * HAND_UPSCALE,
                                     box[:, 2] / INPUT_BODY_HW[1] * BODY_HM_SHAPE[2] * HAND_UPSCALE,
                                     box[:, 3] / INPUT_BODY_HW[0] * BODY_HM_SHAPE[1] * HAND_UPSCALE), 1))
        left = torch.flip(roi_align_avg(feat, rois[0], index, out_hw, self.roi_samples), [3])
        right = roi_align_avg(feat, rois[1], index, out_hw, self.roi_samples)
        return self.conv(torch.cat((left, right)))


class HandRotationNet(nn.Module):
    """15 finger rotations (6D) per hand from hand features and hand-joint coordinates (`hand_regressor`)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.hand_conv = _conv1x1_stack([dim, 512])
        self.hand_pose_out = _linear_stack([NUM_HAND_POS_JOINTS * (512 + 3), NUM_HAND_ROT_JOINTS * 6])

    def forward(self, hand_feat: Tensor, hand_joint_img: Tensor) -> Tensor:
        feat = self.hand_conv(hand_feat)
        joint_feat = sample_joint_features(feat, hand_joint_img[:, :, :2])
        feat = torch.cat((joint_feat, hand_joint_img.to(joint_feat.dtype)), 2)
        return self.hand_pose_out(feat.reshape(hand_feat.shape[0], -1))


class HandPositionNet(PositionNet):
    """Hand-joint soft-argmax only (the official net also returns a heat-map that inference never uses)."""

    def forward(self, img_feat: Tensor) -> Tensor:  # type: ignore[override]
        return soft_argmax_3d(self.conv(img_feat).view(-1, self.num_joints, *self.hm_shape))


class SMPLerX(nn.Module):
    """The whole network. forward: crop (B, 3, 512, 384) RGB in [0, 1] → dict of `OUTPUT_NAMES`:

    root_pose_6d (B, 6); body_pose_6d (B, 126); jaw_pose_6d (B, 6); lhand_pose_6d (B, 90) — the left hand as
    the network sees it, mirrored (`decode_outputs` un-mirrors it); rhand_pose_6d (B, 90); betas (B, 10);
    expression (B, 10); cam_param (B, 3) raw (tx, ty, s); joint_img (B, 65, 3): 25 body, 20 left-hand,
    20 right-hand joints, (x, y) in 12x16 body heat-map cells and z a depth bin; lhand_bbox, rhand_bbox,
    face_bbox (B, 4) xyxy in 384x512 crop pixels.
    """

    def __init__(self, config: SmplerxConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.embed_dim
        # Attribute order = checkpoint key order.
        self.encoder = ViTEncoder(config)
        self.body_position_net = PositionNet(dim, NUM_BODY_POS_JOINTS, BODY_HM_SHAPE)
        self.body_regressor = BodyRotationNet(dim)
        self.box_net = BoxNet(dim)
        self.hand_roi_net = HandRoI(dim)
        self.hand_position_net = HandPositionNet(dim, NUM_HAND_POS_JOINTS, HAND_HM_SHAPE)
        self.hand_regressor = HandRotationNet(dim)
        self.face_regressor = FaceRegressor(dim)

    def forward(self, img: Tensor) -> dict[str, Tensor]:
        body_img = img[:, :, ::2, ::2].contiguous()  # == F.interpolate(img, (256, 192)), default nearest mode
        img_feat, tokens = self.encoder(body_img)
        shape_token, cam_token, expr_token, jaw_token = tokens[:, 0], tokens[:, 1], tokens[:, 2], tokens[:, 3]
        body_pose_tokens = tokens[:, 6:]  # tokens 4 and 5 (hands) are unused by the released model

        body_joint_hm, body_joint_img = self.body_position_net(img_feat)
        root_pose_6d, body_pose_6d, betas, cam_param = self.body_regressor(
            body_pose_tokens, shape_token, cam_token, body_joint_img)

        lc, ls, rc, rs, fc, fs = self.box_net(img_feat, body_joint_hm)
        grid_hw = (BODY_HM_SHAPE[1], BODY_HM_SHAPE[2])
        lhand_bbox = restore_bbox(lc, ls, grid_hw, INPUT_BODY_HW, 1.0, HAND_BOX_EXTENSION)
        rhand_bbox = restore_bbox(rc, rs, grid_hw, INPUT_BODY_HW, 1.0, HAND_BOX_EXTENSION)
        face_bbox = restore_bbox(fc, fs, grid_hw, INPUT_BODY_HW, 1.0, FACE_BOX_EXTENSION)

        hand_feat = self.hand_roi_net(img_feat, lhand_bbox, rhand_bbox)
        hand_joint_img = self.hand_position_net(hand_feat)
        hand_pose_6d = self.hand_regressor(hand_feat, hand_joint_img)
        expression, jaw_pose_6d = self.face_regressor(expr_token, jaw_token)

        batch = img.shape[0]
        lhand_joint_img = hand_joint_img[:batch]
        lhand_joint_img = torch.cat((HAND_HM_SHAPE[2] - 1 - lhand_joint_img[:, :, 0:1], lhand_joint_img[:, :, 1:]), 2)
        hand_joints = [_hand_to_body_cells(lhand_joint_img, lhand_bbox),
                       _hand_to_body_cells(hand_joint_img[batch:], rhand_bbox)]
        joint_img = torch.cat((body_joint_img, *hand_joints), 1)

        return {
            "root_pose_6d": root_pose_6d, "body_pose_6d": body_pose_6d,
            "lhand_pose_6d": hand_pose_6d[:batch], "rhand_pose_6d": hand_pose_6d[batch:],
            "jaw_pose_6d": jaw_pose_6d, "betas": betas, "expression": expression, "cam_param": cam_param,
            "joint_img": joint_img, "lhand_bbox": _body_to_crop_pixels(lhand_bbox),
            "rhand_bbox": _body_to_crop_pixels(rhand_bbox), "face_bbox": _body_to_crop_pixels(face_bbox),
        }


def _body_to_crop_pixels(box: Tensor) -> Tensor:
    """(B, 4) xyxy in body-input pixels → crop pixels. Scaled column by column with Python numbers (the same
    products as a tensor of factors) so that no host-to-device copy sits in the graph (CUDA graph capture)."""
    scale_x, scale_y = INPUT_IMG_HW[1] / INPUT_BODY_HW[1], INPUT_IMG_HW[0] / INPUT_BODY_HW[0]
    return torch.stack((box[:, 0] * scale_x, box[:, 1] * scale_y, box[:, 2] * scale_x, box[:, 3] * scale_y), 1)


def _hand_to_body_cells(joints: Tensor, box: Tensor) -> Tensor:
    """Hand-map cells (16x16) inside `box` (xyxy body-input pixels) → body heat-map cells; z unchanged."""
    _, grid_h, grid_w = BODY_HM_SHAPE
    x = joints[:, :, 0] * (((box[:, None, 2] - box[:, None, 0]) / INPUT_BODY_HW[1] * grid_w) / HAND_HM_SHAPE[2])
    x = x + box[:, None, 0] / INPUT_BODY_HW[1] * grid_w
    y = joints[:, :, 1] * (((box[:, None, 3] - box[:, None, 1]) / INPUT_BODY_HW[0] * grid_h) / HAND_HM_SHAPE[1])
    y = y + box[:, None, 1] / INPUT_BODY_HW[0] * grid_h
    return torch.stack((x, y, joints[:, :, 2]), 2)


def decode_outputs(raw: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """`models.layout.decode_outputs` (numpy, fp32: the one decoder every backend shares) for torch tensors:
    returns float32 tensors on the device of `root_pose_6d`, with the keys and shapes documented there."""
    device = torch.as_tensor(raw["root_pose_6d"]).device
    decoded = decode_numpy({name: torch.as_tensor(raw[name]).detach().float().cpu().numpy() for name in OUTPUT_NAMES})
    return {name: torch.from_numpy(value).to(device) for name, value in decoded.items()}


def use_fixed_roi_grid(model: nn.Module, samples: int = MAX_ROI_SAMPLES) -> None:
    """Give the network's hand RoI-align a fixed sample grid (`models.ops.roi_align_avg`), which graph capture and
    export need (no data-dependent shape); equal to the official rule for RoIs up to `samples` x 16 feature pixels."""
    if isinstance(model, SMPLerX):
        model.hand_roi_net.roi_samples = samples


def build_smplerx(size: str, device: str | torch.device | None = None) -> SMPLerX:
    """An untrained network of `size` (s, b, l, h or tiny) in eval mode. device='meta' allocates nothing."""
    if size not in CONFIGS:
        raise ValueError(f"unknown SMPLer-X size {size!r}; known sizes: {', '.join(CONFIGS)}")
    with torch.device(device or "cpu"):
        model = SMPLerX(CONFIGS[size])
    return model.eval()
