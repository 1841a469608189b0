"`Learner.distrib_ctx` under a real `torchrun` launch: 2 CPU processes, gloo, on 127.0.0.1."
import json, os, signal, socket, subprocess, sys, textwrap, time
from pathlib import Path
import pytest
import torch
import torch.nn.functional as F
import mini_fastai

SCRIPT = textwrap.dedent('''
    import json, os, sys
    from pathlib import Path
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from mini_fastai.data import DataLoaders
    from mini_fastai.learner import Learner, Callback, accuracy
    from mini_fastai.learner_extras import SaveModelCallback
    import mini_fastai.schedule  # fit_one_cycle, lr_find
    from mini_fastai.scale import DistributedSampler

    saves, _torch_save = [], torch.save
    def counting_save(*args, **kwargs):
        saves.append(1)
        return _torch_save(*args, **kwargs)
    torch.save = counting_save  # counts the checkpoints this process writes

    def data():
        g = torch.Generator().manual_seed(0)
        x = torch.randn(301, 8, generator=g)
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
        return x[:200], y[:200], x[200:], y[200:]  # 101 validation items: the two shards differ by one

    def model():
        return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))

    class Probe(Callback):
        "Items seen in training, and the sampler's epoch, per epoch; fail on purpose when asked."
        def __init__(self, fail_rank): self.fail_rank = fail_rank
        def before_fit(self): self.n_train, self.epochs = [], []
        def before_train(self): self.n_train.append(0)
        def after_batch(self):
            if not self.training: return
            self.n_train[-1] += len(self.yb[0])
            if self.epoch == 1 and self.iter == 2 and int(os.environ['RANK']) == self.fail_rank:
                raise ValueError(f"rank {self.fail_rank} fails on purpose")
        def after_train(self): self.epochs.append(self.dl.sampler.epoch)
        def after_epoch(self):
            if self.epoch == 0 and int(os.environ['RANK']) == 0: _torch_save(self.model.state_dict(), Path(self.path)/'epoch0.pt')

    def main(out, fail_rank, mode='full'):
        out, rank = Path(out), int(os.environ['RANK'])
        torch.manual_seed(100 + rank)  # different initial weights: DDP must send rank 0's to the others
        x_trn, y_trn, x_val, y_val = data()
        dls = DataLoaders(DataLoader(TensorDataset(x_trn, y_trn), batch_size=16, shuffle=True),
                          DataLoader(TensorDataset(x_val, y_val), batch_size=32), device='cpu')
        m, probe = model(), Probe(int(fail_rank))
        learn = Learner(dls, m, loss_func=nn.CrossEntropyLoss(), metrics=accuracy, lr=1e-2, path=out, cbs=probe)
        if mode == 'at_end':  # a rank fails in the middle of a fit that would save at its end
            with learn.distrib_ctx(): learn.fit(3, cbs=SaveModelCallback(at_end=True))
            return
        with learn.distrib_ctx(timeout=300):
            res = {'world': dist.get_world_size(), 'sharded': isinstance(learn.dls.train.sampler, DistributedSampler)}
            before = {k: v.clone() for k, v in learn.model.state_dict().items()}
            res['suggestions'] = repr(learn.lr_find(num_it=20))  # every rank must stop at the same batch
            res['lr_find_restored'] = all(torch.equal(before[k], v) for k, v in learn.model.state_dict().items())
            learn.fit_one_cycle(2, 1e-2, cbs=SaveModelCallback(every_epoch=True))
            res['validate'] = learn.validate()
            learn.save('final')
            learn.load('final')  # every rank reads the file rank 0 wrote
        res.update(rank=rank, values=learn.recorder.values, lrs=learn.recorder.lrs, n_train=probe.n_train, epochs=probe.epochs, n_saves=len(saves),
                   restored=learn.model is m and learn.dls is dls and not hasattr(learn, 'distributed_trainer'),
                   pg_destroyed=not dist.is_initialized())
        _torch_save(learn.model.state_dict(), out/f'weights_{rank}.pt')
        (out/f'result_{rank}.json').write_text(json.dumps(res))

    if __name__ == '__main__': main(*sys.argv[1:])
''')

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def launch(tmp_path, fail_rank=-1, timeout=150, mode='full'):
    "Run the script under `torchrun --nproc_per_node=2`; kill the whole process group if it outlives `timeout`."
    script = tmp_path/'train.py'
    script.write_text(SCRIPT)
    root = str(Path(mini_fastai.__file__).parent.parent)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg', 'PYTHONPATH': os.pathsep.join([root, os.environ.get('PYTHONPATH', '')])}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_addr=127.0.0.1',
           f'--master_port={free_port()}', str(script), str(tmp_path), str(fail_rank), mode]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    start = time.monotonic()
    try: out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail(f"torchrun launch still running after {timeout} s: it hangs")
    return p.returncode, out, time.monotonic() - start

def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(301, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x[:200], y[:200], x[200:], y[200:]

def model():
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(), torch.nn.Linear(16, 2))

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('ddp')
    rc, out, _ = launch(tmp_path)
    assert rc == 0, out
    res = [json.loads((tmp_path/f'result_{r}.json').read_text()) for r in range(2)]
    ws = [torch.load(tmp_path/f'weights_{r}.pt', weights_only=True) for r in range(2)]
    return tmp_path, out, res, ws

def test_both_ranks_end_with_identical_weights(run):
    _, _, res, ws = run
    assert [r['world'] for r in res] == [2, 2] and all(r['sharded'] for r in res)
    assert ws[0].keys() == ws[1].keys()
    for k in ws[0]: assert torch.equal(ws[0][k], ws[1][k]), k  # parameters and batch-norm buffers
    assert ws[0]['1.num_batches_tracked'] > 0

def test_reported_loss_equals_single_process_evaluation(run):
    _, _, res, ws = run
    m = model()
    m.load_state_dict(ws[0])
    m.eval()
    _, _, x_val, y_val = data()
    with torch.no_grad(): pred = m(x_val)
    loss, acc = F.cross_entropy(pred, y_val).item(), (pred.argmax(1) == y_val).float().mean().item()
    for r in res:
        _, valid_loss, accuracy = r['values'][-1]
        assert abs(valid_loss - loss) < 1e-5 and abs(accuracy - acc) < 1e-6
        assert abs(r['validate'][0] - loss) < 1e-5
    assert res[0]['values'] == res[1]['values']  # losses and metrics averaged over the ranks: the same table
    assert res[0]['lrs'] == res[1]['lrs'] and len(res[0]['lrs']) == 14  # the same 1cycle schedule on both ranks

def test_lr_find_under_ddp(run):
    _, _, res, _ = run
    assert res[0]['suggestions'] == res[1]['suggestions'] and 'SuggestedLRs' in res[0]['suggestions']
    assert all(r['lr_find_restored'] for r in res)

def test_train_data_sharded_with_new_epoch_order(run):
    _, _, res, _ = run
    for r in res:
        assert r['n_train'] == [100, 100]  # half of the 200 training items per rank
        assert r['epochs'] == [0, 1]       # `set_epoch` each epoch

def test_only_rank0_writes_checkpoints(run):
    tmp_path, _, res, ws = run
    assert [r['n_saves'] for r in res] == [3, 0]  # model_0, model_1, final: all from rank 0
    assert sorted(p.name for p in (tmp_path/'models').iterdir()) == ['final.pth', 'model_0.pth', 'model_1.pth']
    final = torch.load(tmp_path/'models'/'final.pth', weights_only=True)['model']
    for k in final: assert torch.equal(final[k], ws[1][k])

def test_only_rank0_prints(run):
    _, out, _, _ = run
    assert out.count('valid_loss') == 1  # the header of one epoch table

def test_teardown(run):
    _, _, res, _ = run
    assert all(r['restored'] and r['pg_destroyed'] for r in res)

def test_failing_rank_fails_the_launch(tmp_path):
    rc, out, secs = launch(tmp_path, fail_rank=1, timeout=150)
    assert rc != 0
    assert 'rank 1 fails on purpose' in out
    assert not (tmp_path/'result_0.json').exists() and not (tmp_path/'result_1.json').exists()

def test_failing_rank_writes_nothing_and_does_not_wait(tmp_path):
    "A rank that fails during a fit with `SaveModelCallback(at_end=True)`: no checkpoint from the aborted run, and no clean-up collective keeps the launch waiting."
    rc, out, secs = launch(tmp_path, fail_rank=1, timeout=150, mode='at_end')
    assert rc != 0 and 'rank 1 fails on purpose' in out
    saved = torch.load(tmp_path/'models'/'model.pth', weights_only=True)   # the best epoch, saved when it ended: epoch 0
    epoch0 = torch.load(tmp_path/'epoch0.pt', weights_only=True)
    for k in epoch0: assert torch.equal(saved[k], epoch0[k]), k            # not the weights of the aborted epoch
    assert secs < 60, f"the launch took {secs:.0f} s to end after a rank failed"
