#!/usr/bin/python3
"""Reference BERT sentence encoder in plain PyTorch (no transformers), used by
the Go parity test and as the speed baseline for BenchmarkEmbed.

  bert_ref.py embed DIR IDS.json OUT.json   # IDS: [[101, ..., 102], ...]; pads the batch
  bert_ref.py bench DIR|random [--batch 32 --seq 128 --iters 5 --threads 2]

Mirrors Hugging Face BertModel: embeddings (word + position + token type 0)
+ LayerNorm; per layer separate Q/K/V Linear layers, scaled dot-product attention
with an additive mask of finfo.min on padding keys, output Linear, residual +
LayerNorm, GELU (erf) FFN, residual + LayerNorm; then sentence-transformers
mean pooling over attention_mask and L2 normalisation.
"""
import json, math, os, struct, sys, time

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        buf = bytearray(data[base + b:base + e])
        out[name] = torch.frombuffer(buf, dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).float()
    return out


def random_weights(cfg, seed=0):
    g = torch.Generator().manual_seed(seed)
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    r = lambda *s: torch.randn(*s, generator=g) * 0.05
    w = {"embeddings.word_embeddings.weight": r(cfg["vocab_size"], H),
         "embeddings.position_embeddings.weight": r(cfg["max_position_embeddings"], H),
         "embeddings.token_type_embeddings.weight": r(cfg["type_vocab_size"], H),
         "embeddings.LayerNorm.weight": 1 + r(H), "embeddings.LayerNorm.bias": r(H)}
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i
        for n, (o, k) in {"attention.self.query": (H, H), "attention.self.key": (H, H), "attention.self.value": (H, H),
                          "attention.output.dense": (H, H), "intermediate.dense": (I, H), "output.dense": (H, I)}.items():
            w[p + n + ".weight"], w[p + n + ".bias"] = r(o, k), r(o)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + n + ".weight"], w[p + n + ".bias"] = 1 + r(H), r(H)
    return w


def encode(w, cfg, ids, mask):
    """ids, mask: [B, L] int64. Returns the last hidden state [B, L, H]."""
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = H // nh, cfg.get("layer_norm_eps", 1e-12)
    B, L = ids.shape
    pos = torch.arange(L).unsqueeze(0)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos] \
        + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
    x = F.layer_norm(x, (H,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    add_mask = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    lin = lambda t, n: F.linear(t, w[n + ".weight"], w[n + ".bias"])
    heads = lambda t: t.view(B, L, nh, dh).transpose(1, 2)
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i
        q, k, v = (heads(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dh) + add_mask
        ctx = torch.matmul(scores.softmax(-1), v).transpose(1, 2).reshape(B, L, H)
        x = F.layer_norm(lin(ctx, p + "attention.output.dense") + x, (H,),
                         w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        h = F.gelu(lin(x, p + "intermediate.dense"))
        x = F.layer_norm(lin(h, p + "output.dense") + x, (H,),
                         w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return x


def embed(w, cfg, seqs):
    L = max(len(s) for s in seqs)
    ids = torch.tensor([s + [0] * (L - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (L - len(s)) for s in seqs])
    x = encode(w, cfg, ids, mask)
    m = mask.unsqueeze(-1).float()
    pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return F.normalize(pooled, p=2, dim=1)


def main():
    torch.set_grad_enabled(False)
    args = sys.argv[1:]
    opt = lambda k, d: int(args[args.index(k) + 1]) if k in args else d
    torch.set_num_threads(opt("--threads", 2))
    if args[0] == "embed":
        d = args[1]
        cfg = json.load(open(os.path.join(d, "config.json")))
        w = load_safetensors(os.path.join(d, "model.safetensors"))
        out = embed(w, cfg, json.load(open(args[2])))
        json.dump(out.tolist(), open(args[3], "w"))
    elif args[0] == "bench":
        B, L, iters = opt("--batch", 32), opt("--seq", 128), opt("--iters", 5)
        if args[1] == "random":
            cfg = {"hidden_size": 384, "num_attention_heads": 12, "num_hidden_layers": 6, "intermediate_size": 1536,
                   "vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
            w = random_weights(cfg)
        else:
            cfg = json.load(open(os.path.join(args[1], "config.json")))
            w = load_safetensors(os.path.join(args[1], "model.safetensors"))
        g = torch.Generator().manual_seed(1)
        seqs = [[101] + torch.randint(1000, 30000, (L - 2,), generator=g).tolist() + [102] for _ in range(B)]
        embed(w, cfg, seqs)  # warm-up
        best = float("inf")
        for _ in range(iters):
            t = time.perf_counter()
            embed(w, cfg, seqs)
            best = min(best, time.perf_counter() - t)
        print(json.dumps({"impl": "pytorch-%s" % torch.__version__, "threads": torch.get_num_threads(), "batch": B,
                          "seq": L, "best_seconds": best, "sentences_per_second": B / best}))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
