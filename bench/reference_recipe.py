"""The Python recipe dcmflow replaces, timed for `deno task bench` (optional: needs Debian's python3-pydicom,
python3-torch, python3-torchvision). pydicom -> rescale -> DICOM LINEAR window 40/400 -> torchvision resize 224
antialias -> normalize 0.5/0.5 -> torch.stack, one file at a time on the CPU.

  reference_recipe.py DIR THREADS            in-loop timing (best of 3 passes, after a warm-up); prints JSON
  reference_recipe.py --once DIR OUT THREADS what a user's script does, once: every file, then np.save(OUT)
"""
import json, sys, time, glob
import numpy as np
import pydicom
import torch
import torchvision.transforms.functional as TF

def window_linear(x, c, w):
    c1, w1 = c - 0.5, w - 1.0
    y = ((x - c1) / w1 + 0.5)
    return np.where(x <= c1 - w1 / 2, 0.0, np.where(x > c1 + w1 / 2, 1.0, y))

def recipe(path):
    ds = pydicom.dcmread(path)
    x = ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    x = torch.from_numpy(window_linear(x, 40.0, 400.0).astype(np.float32))[None]
    x = TF.resize(x, [224, 224], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    return (x - 0.5) / 0.5

if sys.argv[1] == "--once":
    directory, out, threads = sys.argv[2], sys.argv[3], int(sys.argv[4])
    torch.set_num_threads(threads)
    files = sorted(glob.glob(directory + "/*.dcm"))
    batch = torch.stack([recipe(f) for f in files])
    np.save(out, batch.numpy())
    sys.exit(0)

torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads())
files = sorted(glob.glob(sys.argv[1] + "/*.dcm"))
recipe(files[0])
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    batch = torch.stack([recipe(f) for f in files])
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"files": len(files), "seconds": best, "shape": list(batch.shape), "threads": torch.get_num_threads(),
                  "torch": torch.__version__}))
