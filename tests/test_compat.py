"""torchvision after `import mini_fastai`, each case in a fresh interpreter so the imports really happen there."""
import subprocess, sys, textwrap

def run_py(code):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, timeout=300)

def test_torchvision_pieces_work_after_import_mini_fastai(tmp_path):
    res = run_py(f"""
        import mini_fastai
        import torch, torchvision
        from PIL import Image
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

def test_import_mini_fastai_is_cheap_and_installs_one_hook():
    "The fix costs an import hook: neither torch nor torchvision is imported, and installing twice adds nothing."
    res = run_py("""
        import sys, mini_fastai
        assert 'torch' not in sys.modules and 'torchvision' not in sys.modules, sorted(sys.modules)
        mini_fastai.compat.install_torchvision_fix()
        import mini_fastai.all
        assert 'torchvision' not in sys.modules
        hooks = [f for f in sys.meta_path if type(f).__name__ == '_DeclareMissingTorchvisionOps']
        assert len(hooks) == 1, sys.meta_path
        print('ok')
    """)
    assert res.returncode == 0, res.stderr

def test_plain_import_elsewhere_untouched():
    "Without mini_fastai nothing changes; after it, `import torchvision` works, also after a failed attempt."
    res = run_py("""
        import sys, torch
        assert not any(type(f).__name__ == '_DeclareMissingTorchvisionOps' for f in sys.meta_path)
        try:
            import torchvision
            plain_ok = True
        except RuntimeError as e:
            plain_ok = False
            assert 'torchvision::' in str(e) and 'does not exist' in str(e), e
        import mini_fastai
        import torchvision
        from torchvision.transforms import v2
        from mini_fastai.compat import import_torchvision, torchvision as tv
        assert tv is torchvision and import_torchvision() is torchvision
        # schemas were declared exactly where the plain import had failed
        assert (mini_fastai.compat._torchvision_lib is None) == plain_ok, (plain_ok, mini_fastai.compat._torchvision_lib)
        print('plain import works' if plain_ok else 'schemas declared')
    """)
    assert res.returncode == 0, res.stderr

def test_nothing_declared_where_the_extension_registered_its_operators():
    "On a machine whose torchvision extension loads, the fix must declare nothing (a second definition would fail)."
    res = run_py("""
        import torch
        from mini_fastai.compat import TORCHVISION_OP_SCHEMAS
        ext = torch.library.Library('torchvision', 'DEF')  # what a loaded C extension would have registered
        for schema in TORCHVISION_OP_SCHEMAS.values(): ext.define(schema)
        import mini_fastai, torchvision
        assert mini_fastai.compat._torchvision_lib is None, mini_fastai.compat._torchvision_lib
        print('ok')
    """)
    assert res.returncode == 0, res.stderr

def test_import_torchvision_falls_back_when_the_hook_gets_no_cue():
    "If a torchvision release no longer imports the module the hook waits for, `import_torchvision()` declares what is missing and imports again."
    res = run_py("""
        import sys, torch
        try:
            import torchvision
            print('plain import works: nothing to fall back from')
            sys.exit(0)
        except RuntimeError: pass
        for k in [k for k in sys.modules if k.startswith('torchvision')]: del sys.modules[k]
        import mini_fastai
        mini_fastai.compat._DeclareMissingTorchvisionOps.cue = 'no.such.module'   # the hook never fires
        tv = mini_fastai.compat.import_torchvision()
        from torchvision.transforms import v2
        assert mini_fastai.compat._torchvision_lib is not None   # declared by the fallback
        print('fallback declared the schemas')
    """)
    assert res.returncode == 0, res.stderr
