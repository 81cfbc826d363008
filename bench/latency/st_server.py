"""The genuine sentence-transformers in the latency bench's rotation (bench/latency-bench.ts).

Reads one JSON line per request from stdin: {"variant": "st-fp32" | "st-int8", "text": str}; answers one
JSON line {"ms": float, "nnz": int (stored entries of the sparse result)}, the time of SparseEncoder.encode_query([text]) measured here with
perf_counter (so pipe latency is not counted). "st-int8" is torch's dynamic int8 quantization of the
nn.Linear layers (torch.ao.quantization.quantize_dynamic), what a Python user would reach for.

Usage: python st_server.py <model folder> <threads>
"""
import json
import sys
import time

import torch
from sentence_transformers import SparseEncoder


def main() -> None:
    folder, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    fp32 = SparseEncoder(folder, device="cpu")
    int8 = SparseEncoder(folder, device="cpu")
    int8 = torch.ao.quantization.quantize_dynamic(int8, {torch.nn.Linear}, dtype=torch.qint8)
    models = {"st-fp32": fp32, "st-int8": int8}
    print(json.dumps({"ready": True, "versions": {"sentence_transformers": __import__("sentence_transformers").__version__, "torch": torch.__version__}}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        model = models[req["variant"]]
        with torch.inference_mode():
            t0 = time.perf_counter()
            emb = model.encode_query([req["text"]])
            ms = (time.perf_counter() - t0) * 1000
        print(json.dumps({"ms": ms, "nnz": int(emb._nnz())}), flush=True)


if __name__ == "__main__":
    main()
