#!/usr/bin/env python3
"""Independent numpy reference for Hearth's BERT sentence embeddings.

Reads JSON from stdin: {"model": DIR, "ids": [[token ids], ...]} (ids include [CLS]/[SEP]
and are already truncated) and writes {"vectors": [[...], ...]} to stdout: BERT encoder in
float64 over model.safetensors, mean pooling with the attention mask of a right-padded batch,
then L2 normalisation (the all-MiniLM-L6-v2 pipeline). Needs numpy and safetensors
(scripts/setup installs them).
"""
import json
import math
import sys

import numpy as np
from safetensors.numpy import load_file


def erf(x):
    """erf, vectorised: Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, far below the f32 noise
    being tested; np.vectorize(math.erf) is exact but takes ~30 s here)."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-a * a)
    return s * y


def main():
    req = json.load(sys.stdin)
    d = req["model"]
    cfg = json.load(open(f"{d}/config.json"))
    w = {k: v.astype(np.float64) for k, v in load_file(f"{d}/model.safetensors").items()
         if v.dtype.kind == "f"}
    # Short and long inputs run as separate padded batches (padding everything to the long
    # one's 256 tokens would cost ~30 s of float64 matmuls); each batch is masked.
    out = [None] * len(req["ids"])
    for long in (False, True):
        idx = [i for i, s in enumerate(req["ids"]) if (len(s) > 64) == long]
        if idx:
            for i, v in zip(idx, encode(cfg, w, [req["ids"][i] for i in idx])):
                out[i] = v.tolist()
    json.dump({"vectors": out}, sys.stdout)


def encode(cfg, w, ids_list):
    """BERT over a right-padded batch with an attention mask; mean pooling, L2 norm."""
    h, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = h // nh
    b, length = len(ids_list), max(len(x) for x in ids_list)
    ids = np.zeros((b, length), dtype=np.int64)
    mask = np.zeros((b, length))
    for i, seq in enumerate(ids_list):
        ids[i, : len(seq)] = seq
        mask[i, : len(seq)] = 1.0

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * w[f"{name}.weight"] + w[f"{name}.bias"]

    def lin(x, name):
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
         + w["embeddings.token_type_embeddings.weight"][0][None, None])
    x = ln(x, "embeddings.LayerNorm")
    bias = (1.0 - mask)[:, None, None, :] * -1e9  # HF's extended attention mask
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"

        def heads(t):
            return t.reshape(b, length, nh, hd).transpose(0, 2, 1, 3)

        q = heads(lin(x, f"{p}.attention.self.query"))
        k = heads(lin(x, f"{p}.attention.self.key"))
        v = heads(lin(x, f"{p}.attention.self.value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + bias
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(0, 2, 1, 3).reshape(b, length, h)
        x = ln(x + lin(a, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
        f = lin(x, f"{p}.intermediate.dense")
        f = 0.5 * f * (1.0 + erf(f / math.sqrt(2.0)))
        x = ln(x + lin(f, f"{p}.output.dense"), f"{p}.output.LayerNorm")
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled


if __name__ == "__main__":
    main()
