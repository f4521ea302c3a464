#!/usr/bin/python3
"""Train dcmflow's demo model: a tiny CNN that says whether a synthetic chest CT slice shows a lung nodule.

Run from the repository root with Debian's Python (numpy, torch 1.13, torchvision 0.14):

    /usr/bin/python3 models/train_nodule_classifier.py

It writes

* ``models/nodule_classifier.onnx``   the exported model (input "image" [batch, 1, 64, 64] float32,
                                      output "logits" [batch, 2] float32, opset 17)
* ``models/nodule_classifier.pt``     the trained weights (a PyTorch ``state_dict``), used by
                                      ``models/make_onnx_fixtures.py`` for the reference logits
* ``models/nodule_classifier.labels.txt``  the class names, one a line, in logit order
* ``models/nodule_classifier.json``   training facts: versions, seeds, data set sizes, measured accuracy

THIS IS A SYNTHETIC-DATA DEMO, NOT A MEDICAL DEVICE. The training images are geometric phantoms made
below (ellipses and discs in Hounsfield units), not patient data; the model has never seen a real CT.

Everything is deterministic: fixed seeds for numpy and torch, CPU only, 2 threads, deterministic
algorithms. A re-run on the same library versions gives the same bytes (weights, ONNX file, accuracy). It
takes about 2 minutes on 2 cores (~35 s making 8,000 phantoms, ~10 s per epoch).

The input contract is exactly what dcmflow's stages make (see ``recipe`` below and models/README.md):
HU -> DICOM LINEAR window center -600 / width 1500 (the "lung" preset) -> torchvision resize to 64x64
(bilinear, antialias=True) -> normalize (x - 0.5) / 0.5. 64x64 (not 224x224) keeps CPU inference cheap.
"""

import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODELS_DIR = os.path.join(ROOT, "models")

LABELS = ["no_nodule", "nodule"]
PHANTOM_SIZE = 256  # phantoms are 256x256 like the bundled sample study
INPUT_SIZE = 64  # model input is [N, 1, 64, 64]
WINDOW_CENTER, WINDOW_WIDTH = -600.0, 1500.0  # dcmflow's `lung` preset
MEAN, STD = 0.5, 0.5
OPSET = 17

SEED = 20240605
N_TRAIN, N_VAL = 6000, 2000
EPOCHS, BATCH, LR = 8, 64, 3e-3


# --------------------------------------------------------------------------------------------------------
# Preprocessing: the recipe dcmflow reproduces
# --------------------------------------------------------------------------------------------------------


def linear_window(x, c, w, ymin=0.0, ymax=1.0):
    """DICOM PS3.3 C.11.2.1.2.1 LINEAR VOI function (c' = c - 0.5, w' = w - 1), in float64."""
    c1, w1 = c - 0.5, w - 1.0
    y = ((x - c1) / w1 + 0.5) * (ymax - ymin) + ymin
    y = np.where(x <= c1 - w1 / 2.0, ymin, y)
    return np.where(x > c1 + w1 / 2.0, ymax, y)


def recipe(hu):
    """HU images [N, H, W] (float64) -> model input [N, 1, 64, 64] float32 torch tensor.

    window (float64) -> float32 -> torchvision resize (bilinear, antialias) -> (x - 0.5) / 0.5.
    The same call as ``tests/fixtures/make_fixtures.py``'s ``reference_recipe`` with the lung window.
    """
    hu = np.asarray(hu, dtype=np.float64)
    win = linear_window(hu, WINDOW_CENTER, WINDOW_WIDTH).astype(np.float32)
    t = torch.from_numpy(win)[:, None]  # [N, 1, H, W]
    t = TF.resize(t, [INPUT_SIZE, INPUT_SIZE], interpolation=InterpolationMode.BILINEAR, antialias=True)
    return ((t - MEAN) / STD).contiguous()


def recipe_from_dicom(path):
    """A DICOM file -> [1, 1, 64, 64]: pydicom pixel_array * RescaleSlope + RescaleIntercept -> ``recipe``."""
    import pydicom

    ds = pydicom.dcmread(path)
    hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return recipe(hu[None])


# --------------------------------------------------------------------------------------------------------
# Synthetic chest phantoms
# --------------------------------------------------------------------------------------------------------

_YY, _XX = np.meshgrid(np.arange(PHANTOM_SIZE, dtype=np.float64), np.arange(PHANTOM_SIZE, dtype=np.float64),
                       indexing="ij")


def _fill(hu, cy, cx, ry, rx, value):
    """Set the pixels of the ellipse centred (cy, cx) with radii (ry, rx) to value (only its bounding box is
    evaluated, which is what makes generating thousands of phantoms cheap)."""
    n = hu.shape[0]
    y0, y1 = max(0, int(np.floor(cy - ry)) - 1), min(n, int(np.ceil(cy + ry)) + 2)
    x0, x1 = max(0, int(np.floor(cx - rx)) - 1), min(n, int(np.ceil(cx + rx)) + 2)
    yy, xx = _YY[y0:y1, x0:x1], _XX[y0:y1, x0:x1]
    hu[y0:y1, x0:x1][((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0] = value


def phantom(rng, nodule):
    """One 256x256 axial chest-like slice in HU (integers, as stored in a 12-bit file with intercept -1024).

    Air -1000 outside an elliptical soft-tissue body (~40 HU, optional fat layer), two lung ellipses
    (~-800 HU) with a few small vessels, optional mediastinum, a bone disc for the spine (~700 HU, optional
    marrow), Gaussian noise; random size, position and HU jitter. With ``nodule``: one disc of diameter
    5-15 px and 20-80 HU entirely inside one lung.
    """
    s = float(PHANTOM_SIZE)
    cy = s / 2 + np.clip(rng.normal(0, 6), -16, 16)
    cx = s / 2 + np.clip(rng.normal(0, 6), -16, 16)
    body_ry, body_rx = rng.uniform(0.27, 0.36) * s, rng.uniform(0.38, 0.46) * s
    hu = np.full((PHANTOM_SIZE, PHANTOM_SIZE), -1000.0)
    if rng.random() < 0.5:  # subcutaneous fat
        t = rng.uniform(0.015, 0.04) * s
        _fill(hu, cy, cx, body_ry + t, body_rx + t, rng.uniform(-120, -60))
    _fill(hu, cy, cx, body_ry, body_rx, rng.uniform(25, 55))

    lungs = []
    lung_cy = cy + rng.uniform(-0.05, 0.0) * s
    for side in (-1, 1):
        rx = rng.uniform(0.11, 0.16) * s
        dx = rng.uniform(0.15, 0.21) * s
        dx = min(dx, body_rx - rx - 0.03 * s)  # keep the lung inside the body
        ry = min(rng.uniform(0.16, 0.23) * s, body_ry - 0.06 * s)
        ly = lung_cy + rng.uniform(-0.01, 0.01) * s
        lx = cx + side * dx
        _fill(hu, ly, lx, ry, rx, rng.uniform(-860, -740))
        lungs.append((ly, lx, ry, rx))

    if rng.random() < 0.7:  # mediastinum / heart between the lungs
        _fill(hu, lung_cy + rng.uniform(-0.02, 0.03) * s, cx, rng.uniform(0.06, 0.10) * s,
              rng.uniform(0.04, 0.07) * s, rng.uniform(35, 60))
    sy, sr = cy + rng.uniform(0.18, 0.24) * s, rng.uniform(0.045, 0.07) * s
    sy = min(sy, cy + body_ry - sr - 0.02 * s)
    _fill(hu, sy, cx, sr, sr, rng.uniform(600, 800))  # spine
    if rng.random() < 0.6:
        mr = sr * rng.uniform(0.3, 0.5)
        _fill(hu, sy, cx, mr, mr, rng.uniform(200, 300))  # marrow

    for ly, lx, ry, rx in lungs:  # vessels: small, faint dots in both classes, so "any dot" is not enough
        for _ in range(rng.integers(0, 7)):
            a, rho = rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0, 0.8))
            r = rng.uniform(0.8, 1.8)
            _fill(hu, ly + rho * ry * np.sin(a), lx + rho * rx * np.cos(a), r, r, rng.uniform(-550, -250))

    if nodule:
        ly, lx, ry, rx = lungs[rng.integers(0, 2)]
        r = rng.uniform(2.5, 7.5)  # diameter 5-15 px
        # centre uniformly inside the lung ellipse shrunk so the whole disc (plus 2 px) stays in the lung
        rho_max = max(0.0, 1.0 - (r + 2.0) / min(ry, rx))
        a, rho = rng.uniform(0, 2 * np.pi), rho_max * np.sqrt(rng.uniform(0, 1))
        _fill(hu, ly + rho * ry * np.sin(a), lx + rho * rx * np.cos(a), r, r, rng.uniform(20, 80))

    hu += rng.normal(0.0, rng.uniform(8, 25), size=hu.shape)
    return np.clip(np.rint(hu), -1024, 3071)


def make_dataset(seed, n):
    """n phantoms (balanced, shuffled labels) -> (inputs [n, 1, 64, 64] float32, labels [n] int64)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2)
    xs = []
    for start in range(0, n, 250):
        hu = np.stack([phantom(rng, bool(y)) for y in labels[start:start + 250]])
        xs.append(recipe(hu))
    return torch.cat(xs), torch.from_numpy(labels.astype(np.int64))


# --------------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------------


class NoduleNet(nn.Module):
    """4 conv layers (8-16-32-32 channels, 3x3, BatchNorm, ReLU, 2x2 max pool after the first three), global
    average pool, linear 32 -> 2. 15,290 trainable parameters; 15,202 in the exported graph, where each
    BatchNorm is folded into its conv (~59 KB of float32 weights)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(32)
        self.conv4 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(32)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, len(LABELS))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # 32x32
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # 16x16
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)  # 8x8
        x = F.relu(self.bn4(self.conv4(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def load_model(path=os.path.join(MODELS_DIR, "nodule_classifier.pt")):
    model = NoduleNet()
    model.load_state_dict(torch.load(path, map_location="cpu"))
    return model.eval()


def setup_determinism():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return (pred == y).float().mean().item()


def export_onnx(model, path):
    model.eval()
    torch.onnx.export(
        model, torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE), path,
        input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True,
    )


def main():
    t0 = time.time()
    setup_determinism()
    x_train, y_train = make_dataset(SEED + 1, N_TRAIN)
    x_val, y_val = make_dataset(SEED + 2, N_VAL)  # held out: other seed, never trained on
    print(f"data: {N_TRAIN} train + {N_VAL} validation phantoms in {time.time() - t0:.1f} s", flush=True)

    model = NoduleNet()
    n_params = sum(p.numel() for p in model.parameters())
    # the exported graph folds each BatchNorm into its conv: weights + one bias per output channel
    n_onnx = sum(m.weight.numel() + m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d))
    n_onnx += sum(p.numel() for p in model.fc.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    steps = EPOCHS * ((N_TRAIN + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    gen = torch.Generator().manual_seed(SEED + 3)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(N_TRAIN, generator=gen)
        total = 0.0
        for i in range(0, N_TRAIN, BATCH):
            idx = perm[i:i + BATCH]
            xb = x_train[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5  # left-right flip augmentation
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            loss = F.cross_entropy(model(xb), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1:2d}/{EPOCHS}: loss {total / N_TRAIN:.4f}, "
              f"val acc {accuracy(model, x_val, y_val):.4f} ({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    train_acc, val_acc = accuracy(model, x_train, y_train), accuracy(model, x_val, y_val)
    with torch.no_grad():
        val_pred = torch.cat([model(x_val[i:i + 500]).argmax(1) for i in range(0, N_VAL, 500)])
    sens = (val_pred[y_val == 1] == 1).float().mean().item()
    spec = (val_pred[y_val == 0] == 0).float().mean().item()

    # The bundled sample study: slices 2-4 have a nodule, 1, 5, 6 do not (tests/fixtures/make_fixtures.py).
    sample_dir = os.path.join(ROOT, "samples", "ct-study")
    sample = {}
    if os.path.isdir(sample_dir):
        with torch.no_grad():
            for i in range(1, 7):
                name = f"slice-{i:03d}.dcm"
                p = torch.softmax(model(recipe_from_dicom(os.path.join(sample_dir, name))), 1)[0]
                sample[name] = {"label": LABELS[int(p.argmax())], "p_nodule": round(float(p[1]), 4),
                                "truth": LABELS[int(2 <= i <= 4)]}

    torch.save(model.state_dict(), os.path.join(MODELS_DIR, "nodule_classifier.pt"))
    export_onnx(model, os.path.join(MODELS_DIR, "nodule_classifier.onnx"))
    with open(os.path.join(MODELS_DIR, "nodule_classifier.labels.txt"), "w") as f:
        f.write("".join(label + "\n" for label in LABELS))
    facts = {
        "generator": "models/train_nodule_classifier.py",
        "note": "synthetic-data demo, not a medical device",
        "torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__,
        "python": sys.version.split()[0],
        "seed": SEED, "train_phantoms": N_TRAIN, "validation_phantoms": N_VAL,
        "epochs": EPOCHS, "batch": BATCH, "optimizer": f"Adam, OneCycle max lr {LR}",
        "parameters": n_params, "onnx_parameters": n_onnx, "opset": OPSET,
        "input": {"name": "image", "shape": ["batch", 1, INPUT_SIZE, INPUT_SIZE], "dtype": "float32",
                  "recipe": f"HU -> LINEAR window {WINDOW_CENTER:g}/{WINDOW_WIDTH:g} -> resize "
                            f"{INPUT_SIZE}x{INPUT_SIZE} bilinear antialias -> (x - {MEAN}) / {STD}"},
        "output": {"name": "logits", "shape": ["batch", len(LABELS)], "labels": LABELS},
        "train_accuracy": round(train_acc, 4), "validation_accuracy": round(val_acc, 4),
        "validation_sensitivity": round(sens, 4), "validation_specificity": round(spec, 4),
        "sample_study": sample,
    }
    with open(os.path.join(MODELS_DIR, "nodule_classifier.json"), "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")
    print(f"{n_params} parameters ({n_onnx} in the ONNX graph); train acc {train_acc:.4f}, "
          f"validation acc {val_acc:.4f} (sensitivity {sens:.4f}, specificity {spec:.4f}) on {N_VAL} held-out phantoms")
    for name, s in sample.items():
        print(f"  {name}: {s['label']} (p_nodule {s['p_nodule']:.4f}, truth {s['truth']})")
    print(f"wrote models/nodule_classifier.{{onnx,pt,labels.txt,json}} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
