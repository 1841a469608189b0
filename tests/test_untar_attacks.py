"Malicious archives against `untar_data`, served from 127.0.0.1: a link chain longer than PATH_MAX, and archive bombs."
import errno, io, os, shutil, sys, tarfile
from pathlib import Path
import pytest
from mini_fastai.downloads import untar_data, safe_extract
from test_untar_data import server, serve, make_tgz, assert_clean, leftovers  # the HTTP server on 127.0.0.1 and its helpers

STEPS = 'abcdefghijklmnop'

def chain_tgz(dest_len, up=3):
    """A .tgz that escapes the folder it is extracted to (whose path has `dest_len` characters) by `up` levels.

    The links a, b, ... each lead one folder `ddd…` deeper, so that `a/b/…/p` resolves to a path just short of
    PATH_MAX; the link `a/b/…/p/lll…` leads back to the top, but resolving it would exceed PATH_MAX, so
    `os.path.realpath` gives up there and treats what follows as text. `escape -> a/b/…/p/lll…/../../..`
    thus looks inside to a textual check and to tarfile's 'data' filter (on Pythons without the fix for
    CVE-2025-4517), while the kernel, following one link at a time, lands `up` levels above the folder. Through
    it the archive hard-links `hard` to the file `victim.txt` up there and overwrites it, and writes `new.txt`."""
    comp = 'd' * ((os.pathconf('/', 'PC_PATH_MAX') - (dest_len + 1)) // (len(STEPS) + 1))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tf:
        def add(name, type, link='', data=None):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode = type, link, 0o755
            if data is not None: info.size = len(data)
            tf.addfile(info, None if data is None else io.BytesIO(data))
        path = ''
        for s in STEPS:
            add(os.path.join(path, comp), tarfile.DIRTYPE)
            add(os.path.join(path, s), tarfile.SYMTYPE, comp)
            path = os.path.join(path, comp)
        long_link = os.path.join(*STEPS, 'l' * 254)
        add(long_link, tarfile.SYMTYPE, os.path.join(*['..'] * len(STEPS)))
        add('escape', tarfile.SYMTYPE, os.path.join(long_link, *['..'] * up))
        add('hard', tarfile.LNKTYPE, 'escape/victim.txt')
        add('hard', tarfile.REGTYPE, data=b'overwritten')
        add('escape/new.txt', tarfile.REGTYPE, data=b'written outside')
    return buf.getvalue()

pytestmark = pytest.mark.skipif(not hasattr(os, 'pathconf'), reason='needs PATH_MAX (POSIX)')

def untar_dest_len(base, folder):
    "Length of the path of the temporary folder `untar_data(base=base)` extracts `folder` into: data/.{folder}.<12 hex>.partial."
    return len(str(Path(base).resolve()/'data'/f'.{folder}.{"0" * 12}.partial'))

def test_the_chain_escapes_tarfile_filter_on_this_python(tmp_path):
    "The test archive is a real attack: where this Python's 'data' filter still has the flaw, it writes outside."
    if not hasattr(tarfile, 'data_filter'): pytest.skip('no tarfile filters on this Python')
    dest = tmp_path/'one'/'two'/'dest'; dest.mkdir(parents=True)
    (tmp_path/'victim.txt').write_text('precious')
    with tarfile.open(fileobj=io.BytesIO(chain_tgz(len(str(dest.resolve()))))) as tf:
        try: tf.extractall(dest, filter='data')
        except tarfile.FilterError: pytest.skip(f'Python {sys.version.split()[0]} has the fix for CVE-2025-4517')
    assert (tmp_path/'new.txt').read_bytes() == b'written outside'
    assert (tmp_path/'victim.txt').read_bytes() == b'overwritten'

def test_a_link_chain_longer_than_path_max_is_refused(server, tmp_path):
    base = tmp_path/'cache'
    (tmp_path/'victim.txt').write_text('precious')
    url = serve(server, 'chain.tgz', chain_tgz(untar_dest_len(base, 'chain')))
    with pytest.raises(ValueError, match="unsafe archive .*member 'a' is a symbolic link"):
        untar_data(url, base=base, show_progress=False)
    assert (tmp_path/'victim.txt').read_text() == 'precious'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['cache', 'victim.txt']  # nothing new above the cache
    assert_clean(base, 'chain')

def test_safe_extract_refuses_the_chain_too(tmp_path):
    dest = tmp_path/'one'/'two'/'dest'
    (tmp_path/'victim.txt').write_text('precious')
    (tmp_path/'chain.tgz').write_bytes(chain_tgz(len(str(dest))))
    with pytest.raises(ValueError, match="is a symbolic link.*nothing was extracted"): safe_extract(tmp_path/'chain.tgz', dest)
    assert not dest.exists() and (tmp_path/'victim.txt').read_text() == 'precious'

def zeros_tgz(n_bytes, name='bomb/zeros.bin'):
    "A .tgz holding one file of `n_bytes` zeros (gzip shrinks it about 1,000 times)."
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tf:
        info = tarfile.TarInfo(name); info.size = n_bytes
        tf.addfile(info, io.BytesIO(bytes(n_bytes)))
    return buf.getvalue()

def test_a_bomb_of_bytes_is_refused_before_writing(server, tmp_path):
    bomb = zeros_tgz(200 << 20)
    assert len(bomb) < 0.25e6  # 0.2 MB that expand to 200 MB
    url = serve(server, 'bomb.tgz', bomb)
    with pytest.raises(ValueError, match="member 'bomb/zeros.bin' takes the total past max_bytes=104,857,600"):
        untar_data(url, base=tmp_path, show_progress=False)
    assert_clean(tmp_path, 'bomb')

def test_a_bomb_of_members_is_refused_before_writing(server, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tf:
        for i in range(60_000): tf.addfile(tarfile.TarInfo(f'many/{i}'), io.BytesIO())
    assert len(buf.getvalue()) < 0.5e6  # 60,000 files in under 0.5 MB
    url = serve(server, 'many.tgz', buf.getvalue())
    with pytest.raises(ValueError, match=r"member 'many/\d+' is one more than max_members=\d"):
        untar_data(url, base=tmp_path, show_progress=False)
    assert_clean(tmp_path, 'many')

def test_limits_can_be_set(server, tmp_path):
    url = serve(server, 'zeros.tgz', zeros_tgz(2 << 20, 'zeros/z.bin'))
    with pytest.raises(ValueError, match='max_bytes=1,000,000'):
        untar_data(url, base=tmp_path, show_progress=False, max_bytes=1_000_000)
    assert (untar_data(url, base=tmp_path, show_progress=False, max_bytes=3 << 20)/'z.bin').stat().st_size == 2 << 20
    url = serve(server, 'two.tgz', make_tgz([('two/a.txt', b'a'), ('two/b.txt', b'b')]))
    with pytest.raises(ValueError, match="member 'two/b.txt' is one more than max_members=1"):
        untar_data(url, base=tmp_path, show_progress=False, max_members=1)

def test_a_declared_size_is_checked_before_the_data_arrive(tmp_path):
    "A header may declare a terabyte: refused at that header, without reading (or writing) on."
    info = tarfile.TarInfo('huge/x.bin'); info.size = 1 << 40
    (tmp_path/'huge.tar').write_bytes(info.tobuf(format=tarfile.PAX_FORMAT) + bytes(1024))
    with pytest.raises(ValueError, match="member 'huge/x.bin' takes the total past max_bytes"):
        safe_extract(tmp_path/'huge.tar', tmp_path/'out')
    assert not (tmp_path/'out').exists()

def test_an_archive_larger_than_the_free_space_is_refused(server, tmp_path, monkeypatch):
    url = serve(server, 'roomy.tgz', zeros_tgz(1 << 20, 'roomy/z.bin'))
    monkeypatch.setattr(shutil, 'disk_usage', lambda p: shutil._ntuple_diskusage(10 << 20, 10 << 20, 1000))
    with pytest.raises(OSError, match='expands to 1,048,576 bytes, but the disk holding .* has 1,000 free') as e:
        untar_data(url, base=tmp_path, show_progress=False)
    assert e.value.errno == errno.ENOSPC
    assert (tmp_path/'archive'/'roomy.tgz').exists()  # kept: free some space and call again
    assert leftovers(tmp_path) == [] and list((tmp_path/'data').iterdir()) == []
