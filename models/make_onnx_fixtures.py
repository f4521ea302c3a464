#!/usr/bin/python3
"""Regenerate the ONNX test fixtures in tests/fixtures/onnx/ (parity references and error-path models).

Run from the repository root with Debian's Python, after models/train_nodule_classifier.py has written
models/nodule_classifier.pt:

    /usr/bin/python3 models/make_onnx_fixtures.py

Needs numpy, torch 1.13, torchvision 0.14, pydicom, and the `onnx` package (Debian: `apt-get install
python3-onnx`) for the two operator fixtures, which torch.onnx.export cannot make, and to check every graph.

It writes (see tests/fixtures/onnx/README.md for what each file is for):

* recipe_inputs.npy         [4, 1, 64, 64] float32: samples/ct-study/slice-001..004.dcm through the PyTorch
                            recipe (pydicom -> HU -> LINEAR window -600/1500 -> resize 64x64 bilinear
                            antialias -> (x - 0.5) / 0.5), one file at a time, stacked
* recipe_logits.npy         [4, 2] float32: the trained PyTorch model (eval mode) on recipe_inputs
* recipe_probabilities.npy  [4, 2] float32: softmax of recipe_logits
* fixed_3x224.onnx          input "x" [1, 3, 224, 224] (all dimensions fixed) -> "mean" [1, 3]
* segmenter.onnx            input "image" [batch, 1, 64, 64] -> "mask_logits" [batch, 1, 64, 64], one 5x5 conv
* segmenter_outputs.npy     [4, 1, 64, 64] float32: the segmenter in PyTorch on recipe_inputs
* corrupt.onnx              models/nodule_classifier.onnx cut off after half its bytes
* unsupported_op.onnx       input "image" [batch, 1, 64, 64] through ONNX ImageDecoder (opset 20), a standard
                            operator onnxruntime 1.30 implements in neither its native nor its wasm build
* unknown_op.onnx           input "image" [batch, 1, 64, 64] through com.dcmflow:NoSuchOp, an operator of a
                            domain no runtime knows
* cases.json                the list above with shapes, names, versions and the sample-study truth

Deterministic: the same library versions give the same bytes.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_nodule_classifier as tnc  # noqa: E402  (the recipe, the model class, the labels)

ROOT = tnc.ROOT
OUT = os.path.join(ROOT, "tests", "fixtures", "onnx")
SAMPLES = [os.path.join(ROOT, "samples", "ct-study", f"slice-{i:03d}.dcm") for i in range(1, 5)]


def rel(path):
    return os.path.relpath(path, ROOT)


def save_npy(name, arr):
    arr = np.ascontiguousarray(arr, dtype="<f4")
    np.save(os.path.join(OUT, name), arr, allow_pickle=False)
    return arr


class SpatialMean(nn.Module):
    """[1, 3, 224, 224] -> [1, 3]: the mean over the spatial dimensions (stands in for an ImageNet model)."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def blob_kernel():
    """5x5 centre-surround: mean of the central 3x3 minus mean of the 16-pixel ring, times 4."""
    k = np.full((5, 5), -1.0 / 16.0)
    k[1:4, 1:4] = 1.0 / 9.0
    return 4.0 * k


class Segmenter(nn.Module):
    """One fixed 5x5 conv (centre-surround, bias -1.5): positive logits only on small bright blobs such as
    the nodules of the sample study (edges of the body and lungs stay below 0 there); no training."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 5, padding=2)
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(blob_kernel()).float()[None, None])
            self.conv.bias.fill_(-1.5)

    def forward(self, x):
        return self.conv(x)


def export(model, example, path, input_name, output_name, dynamic_batch):
    model.eval()
    axes = {input_name: {0: "batch"}, output_name: {0: "batch"}} if dynamic_batch else None
    torch.onnx.export(model, example, path, input_names=[input_name], output_names=[output_name],
                      dynamic_axes=axes, opset_version=tnc.OPSET, do_constant_folding=True)


def operator_model(path, node_kind):
    """A float "image" [batch, 1, 64, 64] input whose graph uses an operator the runtimes cannot run."""
    import onnx
    from onnx import TensorProto, helper

    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 64, 64])
    if node_kind == "unsupported":  # a real ONNX operator (opset 20) without an onnxruntime kernel
        nodes = [
            helper.make_node("Cast", ["image"], ["bytes2d"], to=TensorProto.UINT8),
            helper.make_node("Reshape", ["bytes2d", "flat_shape"], ["encoded"]),
            helper.make_node("ImageDecoder", ["encoded"], ["decoded"], pixel_format="Grayscale"),
            helper.make_node("Cast", ["decoded"], ["pixels"], to=TensorProto.FLOAT),
        ]
        inits = [helper.make_tensor("flat_shape", TensorProto.INT64, [1], [-1])]
        output = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, None)
        opsets, ir = [helper.make_opsetid("", 20)], 9
    else:  # an operator of an unknown domain
        nodes = [helper.make_node("NoSuchOp", ["image"], ["logits"], domain="com.dcmflow")]
        inits = []
        output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])
        opsets, ir = [helper.make_opsetid("", tnc.OPSET), helper.make_opsetid("com.dcmflow", 1)], 8
    graph = helper.make_graph(nodes, os.path.basename(path)[:-5], [image], [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=opsets, producer_name="dcmflow make_onnx_fixtures.py")
    model.ir_version = ir
    onnx.save(model, path)


def check(path):
    import onnx

    onnx.checker.check_model(onnx.load(path))


def main():
    os.makedirs(OUT, exist_ok=True)
    tnc.setup_determinism()
    cases = {"generator": "models/make_onnx_fixtures.py", "torch": torch.__version__,
             "torchvision": torchvision.__version__, "numpy": np.__version__, "opset": tnc.OPSET,
             "tolerance": "max abs difference <= 1e-3 (the issue); onnxruntime-node/-web measured <= 1e-5",
             "files": {}}
    files = cases["files"]

    # (a) parity references for the demo model
    inputs = torch.cat([tnc.recipe_from_dicom(p) for p in SAMPLES])
    model = tnc.load_model()
    with torch.no_grad():
        logits = model(inputs)
        probs = torch.softmax(logits, dim=1)
    save_npy("recipe_inputs.npy", inputs.numpy())
    save_npy("recipe_logits.npy", logits.numpy())
    save_npy("recipe_probabilities.npy", probs.numpy())
    truth = ["no_nodule", "nodule", "nodule", "nodule"]  # tests/fixtures/make_fixtures.py: slices 2-4
    files["recipe_inputs.npy"] = {
        "shape": [4, 1, 64, 64], "sources": [rel(p) for p in SAMPLES],
        "recipe": "pydicom pixel_array * RescaleSlope + RescaleIntercept (float64) -> LINEAR window "
                  "c=-600 w=1500 (c'=c-0.5, w'=w-1) -> float32 -> torchvision resize [64, 64] bilinear "
                  "antialias=True -> (x - 0.5) / 0.5; one file at a time, stacked on axis 0",
        "pipeline": "decode, rescale, window {center: -600, width: 1500, function: linear} (= preset: lung), "
                    "resize {width: 64, height: 64, filter: bilinear, antialias: true}, "
                    "normalize {mean: [0.5], std: [0.5]}"}
    files["recipe_logits.npy"] = {"shape": [4, 2], "model": "models/nodule_classifier.onnx",
                                  "computed_with": "PyTorch, models/nodule_classifier.pt, eval mode, batch 4"}
    files["recipe_probabilities.npy"] = {
        "shape": [4, 2], "labels": tnc.LABELS, "truth": truth,
        "predicted": [tnc.LABELS[i] for i in probs.argmax(1).tolist()],
        "p_nodule": [round(float(p), 6) for p in probs[:, 1]]}

    # (b) error-path and post-processing models
    path = os.path.join(OUT, "fixed_3x224.onnx")
    export(SpatialMean(), torch.zeros(1, 3, 224, 224), path, "x", "mean", dynamic_batch=False)
    check(path)
    files["fixed_3x224.onnx"] = {"input": {"name": "x", "type": "float32", "shape": [1, 3, 224, 224]},
                                 "output": {"name": "mean", "type": "float32", "shape": [1, 3]},
                                 "use": "plan-time shape mismatch: the demo pipeline makes [1, 1, 64, 64]"}

    seg = Segmenter().eval()
    path = os.path.join(OUT, "segmenter.onnx")
    export(seg, torch.zeros(1, 1, 64, 64), path, "image", "mask_logits", dynamic_batch=True)
    check(path)
    with torch.no_grad():
        seg_out = seg(inputs)
    save_npy("segmenter_outputs.npy", seg_out.numpy())
    pos = (seg_out > 0).flatten(1).sum(1).tolist()
    files["segmenter.onnx"] = {"input": {"name": "image", "type": "float32", "shape": ["batch", 1, 64, 64]},
                               "output": {"name": "mask_logits", "type": "float32",
                                          "shape": ["batch", 1, 64, 64]},
                               "weights": "5x5 kernel 4*(mean of centre 3x3 - mean of the 16-pixel ring), "
                                          "bias -1.5, zero padding 2"}
    files["segmenter_outputs.npy"] = {"shape": [4, 1, 64, 64], "computed_with": "PyTorch on recipe_inputs",
                                      "positive_pixels_per_image": pos}

    src = os.path.join(tnc.MODELS_DIR, "nodule_classifier.onnx")
    with open(src, "rb") as f:
        data = f.read()
    with open(os.path.join(OUT, "corrupt.onnx"), "wb") as f:
        f.write(data[:len(data) // 2])
    files["corrupt.onnx"] = {"bytes": len(data) // 2,
                             "what": "the first half of models/nodule_classifier.onnx (a truncated protobuf)"}

    path = os.path.join(OUT, "unsupported_op.onnx")
    operator_model(path, "unsupported")
    if onnx_knows(20):  # Debian's onnx 1.12 knows opsets up to 17 only
        check(path)
    files["unsupported_op.onnx"] = {
        "input": {"name": "image", "type": "float32", "shape": ["batch", 1, 64, 64]},
        "what": "Cast -> Reshape -> ImageDecoder (ai.onnx opset 20) -> Cast; no onnxruntime 1.30 kernel",
        "onnxruntime-node": "Could not find an implementation for ImageDecoder(20) node with name ''",
        "onnxruntime-web": "Can't create a session. ERROR_CODE: 9, ERROR_MESSAGE: Could not find an "
                           "implementation for ImageDecoder(20) node with name ''"}
    path = os.path.join(OUT, "unknown_op.onnx")
    operator_model(path, "unknown")
    files["unknown_op.onnx"] = {
        "input": {"name": "image", "type": "float32", "shape": ["batch", 1, 64, 64]},
        "output": {"name": "logits", "type": "float32", "shape": ["batch", 2]},
        "what": "one node com.dcmflow:NoSuchOp (domain version 1)",
        "onnxruntime-node": "Load model from ... failed:Fatal error: com.dcmflow:NoSuchOp(-1) is not a "
                            "registered function/op",
        "onnxruntime-web": "Can't create a session. ERROR_CODE: 1, ERROR_MESSAGE: Fatal error: "
                           "com.dcmflow:NoSuchOp(-1) is not a registered function/op"}

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=2)
        f.write("\n")
    for name in sorted(os.listdir(OUT)):
        print(f"  {rel(os.path.join(OUT, name))}: {os.path.getsize(os.path.join(OUT, name))} bytes")
    print("PyTorch on the sample study: " + ", ".join(
        f"{os.path.basename(p)} {files['recipe_probabilities.npy']['predicted'][i]} "
        f"(p_nodule {files['recipe_probabilities.npy']['p_nodule'][i]:.4f})" for i, p in enumerate(SAMPLES)))
    print(f"segmenter: positive pixels per image {pos}")


def onnx_knows(opset):
    """Whether the installed onnx package can check a graph of this opset (Debian's 1.12 stops at 17)."""
    import onnx.defs

    return onnx.defs.onnx_opset_version() >= opset


if __name__ == "__main__":
    main()
