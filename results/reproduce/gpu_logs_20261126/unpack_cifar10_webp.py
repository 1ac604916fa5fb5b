"""Decode lossless WebP mosaics of CIFAR-10 batches back into the official pickle files (checked by SHA-256)."""
import hashlib, pickle, sys
from pathlib import Path
import numpy as np
from PIL import Image
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
for webp in sorted(src.glob("*.webp")):
    name = webp.stem
    meta, digest = pickle.loads((src / f"{name}.meta").read_bytes())
    m = np.asarray(Image.open(webp).convert("RGB"))
    x = np.ascontiguousarray(m.reshape(100, 32, 100, 32, 3).transpose(0, 2, 4, 1, 3).reshape(10000, 3072))
    assert hashlib.sha256(x.tobytes()).hexdigest() == digest, f"{name}: decoded data differ from the original"
    meta[b"data"] = x
    with open(dst / name, "wb") as f:
        pickle.dump(meta, f, protocol=3)
    print("unpacked", name, flush=True)
for extra in src.glob("batches.meta"):
    (dst / extra.name).write_bytes(extra.read_bytes())
