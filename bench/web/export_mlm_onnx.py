"""Exports a SPLADE model folder's MLM to the layout transformers.js loads (bench:web's baseline).

Usage: python export_mlm_onnx.py <sentence-transformers SPLADE folder> <output folder>

The output folder holds config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json
and onnx/model.onnx: BertForMaskedLM (the genuine transformers class, loaded from the folder's
model.safetensors) exported by torch.onnx.export with inputs input_ids, attention_mask and
token_type_ids ([batch, sequence], int64, dynamic) and output logits ([batch, sequence, vocab]),
the signature Optimum's `fill-mask` export gives the Xenova/* and onnx-community/* models that
transformers.js runs. Also onnx/model_quantized.onnx, transformers.js's default on WebAssembly
(`dtype: 'q8'`), quantized as transformers.js's scripts/quantize.py does for q8 (onnxruntime's
dynamic IntegerOps quantization, int8 weights when the model has no Conv, per tensor, MatMul with
constant B only). Needs torch, transformers and onnxruntime (pip, from the local mirror: see
BENCHMARKS.md).
"""
import os
import shutil
import sys

import torch
from transformers import AutoConfig, AutoModelForMaskedLM


def main(src: str, out: str) -> None:
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    config = AutoConfig.from_pretrained(src)
    model = AutoModelForMaskedLM.from_pretrained(src, config=config, attn_implementation="eager").eval()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if os.path.exists(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
    ids = torch.ones((2, 16), dtype=torch.long)
    # A padded second row: traced with an all-ones mask, transformers' mask builder skips the mask
    # and the exported graph would attend to padding.
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    inputs = (ids, mask, torch.zeros_like(ids))
    dynamic = {n: {0: "batch_size", 1: "sequence_length"} for n in ("input_ids", "attention_mask", "token_type_ids")}
    dynamic["logits"] = {0: "batch_size", 1: "sequence_length"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            inputs,
            os.path.join(out, "onnx", "model.onnx"),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes=dynamic,
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        os.path.join(out, "onnx", "model.onnx"),
        os.path.join(out, "onnx", "model_quantized.onnx"),
        per_channel=False,
        reduce_range=False,
        weight_type=QuantType.QInt8,
        extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True},
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
