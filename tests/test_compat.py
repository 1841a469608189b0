"""torchvision through `mini_fastai.compat`, in a fresh interpreter so the import really happens there."""
import subprocess, sys, textwrap

def run_py(code):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, timeout=300)

def test_torchvision_pieces_work_after_compat(tmp_path):
    res = run_py(f"""
        import torch
        from PIL import Image
        from mini_fastai.compat import torchvision
        from torchvision import datasets, models, utils
        from torchvision.transforms import v2
        root = {str(tmp_path)!r}
        import os
        for cls in ('cat', 'dog'):
            os.makedirs(os.path.join(root, cls))
            for i in range(2): Image.new('RGB', (10, 12), (i * 50, 0, 0)).save(os.path.join(root, cls, f'{{i}}.png'))
        ds = datasets.ImageFolder(root, transform=v2.Compose([v2.PILToTensor(), v2.Resize((8, 8)),
                                                                v2.ToDtype(torch.float32, scale=True)]))
        assert ds.classes == ['cat', 'dog'] and len(ds) == 4, (ds.classes, len(ds))
        x, y = ds[3]
        assert x.shape == (3, 8, 8) and y == 1 and 0 <= x.min() and x.max() <= 1
        out = models.resnet18(weights=None)(torch.randn(2, 3, 32, 32))
        assert out.shape == (2, 1000)
        grid = utils.make_grid(torch.stack([ds[i][0] for i in range(4)]), nrow=2, padding=0)
        assert grid.shape == (3, 16, 16)
        print('ok')
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith('ok')

def test_compat_only_acts_on_the_missing_operator_error():
    "Where plain `import torchvision` works, compat must not have declared anything."
    res = run_py("""
        import torch
        try:
            import torchvision
            plain_ok = True
        except RuntimeError as e:
            plain_ok = False
            assert 'torchvision::' in str(e) and 'does not exist' in str(e), e
        import sys
        for k in [k for k in sys.modules if k.startswith('torchvision')]: del sys.modules[k]
        from mini_fastai import compat
        tv = compat.import_torchvision()
        assert hasattr(tv, 'transforms')
        assert (compat._torchvision_lib is None) == plain_ok, (plain_ok, compat._torchvision_lib)
        print('plain import works' if plain_ok else 'schemas declared')
    """)
    assert res.returncode == 0, res.stderr
