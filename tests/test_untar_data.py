"`untar_data` against an HTTP server on 127.0.0.1 serving archives built by the tests: no internet needed."
import hashlib, http.server, io, os, socket, stat, tarfile, threading, time
from pathlib import Path
import pytest
from mini_fastai.downloads import untar_data, data_home, download_url

def make_tgz(members):
    "Bytes of a .tgz holding `members`: (name, bytes) for files, (name, '->', target) for symlinks, (name, '=>', target) for hard links, (name, 'fifo')."
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tf:
        for m in members:
            info = tarfile.TarInfo(m[0])
            if len(m) == 3: info.type, info.linkname = (tarfile.SYMTYPE if m[1] == '->' else tarfile.LNKTYPE), m[2]
            elif m[1] == 'fifo': info.type = tarfile.FIFOTYPE
            else: info.size = len(m[1])
            tf.addfile(info, io.BytesIO(m[1]) if info.isfile() else None)
    return buf.getvalue()

GOOD = make_tgz([('digits/train/3/a.png', b'three'), ('digits/valid/7/b.png', b'seven')])

class Handler(http.server.BaseHTTPRequestHandler):
    routes, hits = {}, {}  # path -> (body, how), path -> number of requests
    def log_message(self, *args): pass
    def do_GET(self):
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path not in Handler.routes: return self.send_error(404)
        body, how = Handler.routes[self.path]
        if how.startswith('slow'): return self.slowly(body, how)
        self.send_response(200)
        if how == 'html': self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body) + (1000 if how == 'short' else 0)))
        self.end_headers()
        if how == 'cut':  # half the body, then the connection is reset
            self.wfile.write(body[:len(body) // 2]); self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
            self.connection.close()
            return
        self.wfile.write(body)
    def slowly(self, body, how, every=1.5):
        "Send the response one byte every `every` seconds: from its status line on ('slow_headers'), or its body ('slow')."
        head = f"HTTP/1.0 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        if how == 'slow': self.wfile.write(head); head = b''
        try:
            for i in range(len(head + body)):
                self.wfile.write((head + body)[i:i + 1]); self.wfile.flush()
                time.sleep(every)
        except OSError: pass  # the client gave up

@pytest.fixture(scope='module')
def server():
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown(); srv.server_close()

def serve(server, name, body, how='ok'):
    Handler.routes[f'/{name}'] = (body, how)
    return f"{server}/{name}"

def leftovers(base):
    "Hidden temporary files or folders anywhere in the cache (the lock files of `untar_data` stay: they are not temporary)."
    return [p for p in Path(base).rglob('.*') if p.suffix != '.lock']

def assert_clean(base, name):
    "The cache holds neither the archive nor any extracted or temporary folder for `name`."
    base = Path(base)
    assert leftovers(base) == []
    assert not (base/'archive'/f'{name}.tgz').exists()
    assert not (base/'data').exists() or list((base/'data').iterdir()) == []

def test_normal_archive_downloaded_extracted_and_reused(server, tmp_path):
    url = serve(server, 'digits.tgz', GOOD)
    path = untar_data(url, base=tmp_path, show_progress=False)
    assert path == tmp_path/'data'/'digits'
    assert (path/'train'/'3'/'a.png').read_bytes() == b'three'
    assert (path/'valid'/'7'/'b.png').read_bytes() == b'seven'
    assert (tmp_path/'archive'/'digits.tgz').read_bytes() == GOOD
    assert leftovers(tmp_path) == []
    hits = Handler.hits['/digits.tgz']
    assert untar_data(url, base=tmp_path, show_progress=False) == path  # reused: no new request
    assert Handler.hits['/digits.tgz'] == hits
    (path/'train'/'3'/'a.png').unlink()  # force_download downloads and extracts afresh
    assert untar_data(url, force_download=True, base=tmp_path, show_progress=False) == path
    assert Handler.hits['/digits.tgz'] == hits + 1
    assert (path/'train'/'3'/'a.png').read_bytes() == b'three'
    assert leftovers(tmp_path) == []

def test_env_var_sets_the_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv('MINI_FASTAI_HOME', str(tmp_path/'home'))
    assert data_home() == tmp_path/'home'
    url = serve(server, 'digits_env.tgz', make_tgz([('digits_env/x.txt', b'x')]))
    assert untar_data(url, show_progress=False) == tmp_path/'home'/'data'/'digits_env'

def test_checksum(server, tmp_path):
    url = serve(server, 'summed.tgz', GOOD)
    good = hashlib.sha256(GOOD).hexdigest()
    assert untar_data(url, base=tmp_path/'ok', sha256=good, show_progress=False).is_dir()
    with pytest.raises(ValueError, match='checksum mismatch'):
        untar_data(url, base=tmp_path/'bad', sha256='0' * 64, show_progress=False)
    assert_clean(tmp_path/'bad', 'summed')

@pytest.mark.parametrize('how', ['short', 'cut'])
def test_truncated_download(server, tmp_path, how):
    url = serve(server, f'trunc_{how}.tgz', GOOD, how=how)
    with pytest.raises(ConnectionError, match='truncated download'):
        untar_data(url, base=tmp_path, show_progress=False)
    assert_clean(tmp_path, f'trunc_{how}')

@pytest.mark.parametrize('members, why', [
    ([('ok/a.txt', b'a'), ('../escape.txt', b'gotcha')], "'..' component"),
    ([('ok/a.txt', b'a'), ('ok/../../escape.txt', b'gotcha')], "'..' component"),
    ([('/tmp/mini_fastai_abs_escape.txt', b'gotcha')], 'absolute path'),
    ([('ok/link', '->', '/etc'), ('ok/link/passwd', b'gotcha')], "member 'ok/link' is a symbolic link"),
    ([('ok/link', '->', '../../..'), ('ok/link/escape.txt', b'gotcha')], "member 'ok/link' is a symbolic link"),
    ([('ok/hard', '=>', '../../escape.txt')], "member 'ok/hard' is a hard link"),
    ([('ok/pipe', 'fifo')], 'device file or a pipe'),
    ([('ok\\..\\..\\escape.txt', b'gotcha')], "'..' component"),   # Windows' separator
    ([('C:escape.txt', b'gotcha')], 'absolute path'),                 # a drive-relative name on Windows
])
def test_malicious_archive_refused(server, tmp_path, members, why):
    name = f'evil{abs(hash(str(members)))}'
    url = serve(server, f'{name}.tgz', make_tgz(members))
    base = tmp_path/'cache'
    with pytest.raises(ValueError, match='unsafe archive') as e:
        untar_data(url, base=base, show_progress=False)
    assert why in str(e.value)
    assert_clean(base, name)  # nothing extracted, no temporary folder, the refused archive dropped
    assert not (tmp_path/'escape.txt').exists() and not (base/'escape.txt').exists()
    assert not Path('/tmp/mini_fastai_abs_escape.txt').exists()

@pytest.mark.parametrize('link', [('links/b', '->', 'a.txt'), ('links/b', '=>', 'links/a.txt')])
def test_links_are_refused_even_inside_the_archive(server, tmp_path, link):
    "Data sets need no links, and a link is what lets a later member land elsewhere: refused, whatever it points to."
    url = serve(server, 'links.tgz', make_tgz([('links/a.txt', b'a'), link]))
    with pytest.raises(ValueError, match="unsafe archive .*member 'links/b' is a (symbolic|hard) link"):
        untar_data(url, base=tmp_path, show_progress=False)
    assert_clean(tmp_path, 'links')

def test_offline_error_says_where_to_put_the_archive(tmp_path):
    with socket.socket() as s:  # a port on which nobody listens
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mnist_sample.tgz"
    with pytest.raises(ConnectionError) as e: untar_data(url, base=tmp_path, show_progress=False)
    assert str(tmp_path/'archive'/'mnist_sample.tgz') in str(e.value)
    assert_clean(tmp_path, 'mnist_sample')
    (tmp_path/'archive'/'mnist_sample.tgz').write_bytes(make_tgz([('mnist_sample/train/3/a.png', b'3')]))
    assert (untar_data(url, base=tmp_path, show_progress=False)/'train'/'3'/'a.png').exists()  # put there by hand

def test_http_error_and_corrupt_archive(server, tmp_path):
    with pytest.raises(ConnectionError, match='Not Found'):
        untar_data(f"{server}/missing.tgz", base=tmp_path, show_progress=False)
    assert_clean(tmp_path, 'missing')
    url = serve(server, 'corrupt.tgz', GOOD[:len(GOOD) // 2])  # served in full, but the archive itself is cut
    with pytest.raises(ValueError, match='not a complete, readable tar archive'):
        untar_data(url, base=tmp_path, show_progress=False)
    assert_clean(tmp_path, 'corrupt')
    (tmp_path/'archive'/'corrupt.tgz').write_bytes(GOOD[:len(GOOD) // 2])  # a corrupt file put there by hand
    with pytest.raises(ValueError, match='delete it and try again'):
        untar_data(url, base=tmp_path, show_progress=False)
    assert (tmp_path/'archive'/'corrupt.tgz').exists()  # not ours to delete


def test_checksum_with_spaces_or_capitals(server, tmp_path):
    url = serve(server, 'pasted.tgz', GOOD)
    pasted = f"  {hashlib.sha256(GOOD).hexdigest().upper()}\n"  # as copied from a web page
    assert untar_data(url, base=tmp_path, sha256=pasted, show_progress=False).is_dir()
    with pytest.raises(ValueError, match='64 hexadecimal digits'):  # a cut-off copy: refused before downloading
        untar_data(url, base=tmp_path/'short', sha256=pasted.strip()[:-1], show_progress=False)
    assert not (tmp_path/'short'/'archive'/'pasted.tgz').exists()

@pytest.mark.parametrize('how', ['slow', 'slow_headers'])
def test_a_slow_server_is_cut_off_at_the_deadline(server, tmp_path, how):
    "One byte every 1.5 s never trips a per-read timeout; `timeout` bounds the whole download."
    url = serve(server, f'{how}.tgz', GOOD, how=how)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match='longer than timeout=2 s'):
        untar_data(url, base=tmp_path, show_progress=False, timeout=2)
    assert time.monotonic() - t0 < 10
    assert_clean(tmp_path, how)
    t0 = time.monotonic()  # download_url too
    with pytest.raises(TimeoutError, match='longer than timeout=2 s'): download_url(url, tmp_path/'x.tgz', timeout=2)
    assert time.monotonic() - t0 < 10
    assert not (tmp_path/'x.tgz').exists() and leftovers(tmp_path) == []

@pytest.mark.parametrize('how, body', [('html', b'<h1>Sign in</h1>'),  # said by its Content-Type
                                       ('ok', b'\n<!DOCTYPE html><html><body>Not found</body></html>')])  # by its body
def test_a_web_page_is_not_an_archive(server, tmp_path, how, body):
    name = f'page_{how}'
    url = serve(server, f'{name}.tgz', body, how=how)
    with pytest.raises(ValueError, match=f'{url} sent a web page'):
        untar_data(url, base=tmp_path, show_progress=False)
    assert_clean(tmp_path, name)

def test_leftovers_of_a_killed_run_are_deleted(server, tmp_path):
    url = serve(server, 'killed.tgz', make_tgz([('killed/a.txt', b'a')]))
    (tmp_path/'archive').mkdir(parents=True); (tmp_path/'data').mkdir()
    part = tmp_path/'archive'/'.killed.tgz.0123456789ab.part'  # a download killed half-way
    partial = tmp_path/'data'/'.killed.0123456789ab.partial'   # an extraction killed half-way
    old = tmp_path/'data'/'.killed.ba9876543210.old'
    part.write_bytes(b'half'); (partial/'killed').mkdir(parents=True); (partial/'killed'/'a.txt').write_bytes(b'a')
    old.mkdir()
    others = [tmp_path/'archive'/'.other.tgz.0123456789ab.part', tmp_path/'data'/'.other.0123456789ab.partial']
    others[0].write_bytes(b'another data set'); others[1].mkdir()
    assert (untar_data(url, base=tmp_path, show_progress=False)/'a.txt').read_bytes() == b'a'
    assert not part.exists() and not partial.exists() and not old.exists()
    assert all(p.exists() for p in others)  # another data set's files are not ours to judge

def test_a_live_download_is_not_deleted(server, tmp_path):
    "A process that holds the lock is at work: untar_data waits for it instead of deleting its temporary file."
    fcntl = pytest.importorskip('fcntl')
    url = serve(server, 'live.tgz', make_tgz([('live/a.txt', b'a')]))
    (tmp_path/'archive').mkdir(parents=True)
    part, seen = tmp_path/'archive'/'.live.tgz.0123456789ab.part', []
    locked = threading.Event()
    def other_process():  # flock locks belong to an open file: a second open() in this process competes like another process
        with open(tmp_path/'archive'/'.live.tgz.lock', 'a') as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            part.write_bytes(b'in progress'); locked.set()
            time.sleep(1.5)
            seen.append(part.exists())
            part.unlink()
    t = threading.Thread(target=other_process); t.start()
    locked.wait()
    assert untar_data(url, base=tmp_path, show_progress=False).is_dir()
    t.join()
    assert seen == [True]

def test_files_follow_the_umask(server, tmp_path):
    "The archive, the extracted folders and files get the permissions any new file gets (not a fixed 0o644)."
    url = serve(server, 'umask.tgz', GOOD)
    old = os.umask(0o027)
    try:
        path = untar_data(url, base=tmp_path, show_progress=False)
        with open(tmp_path/'plain.txt', 'w') as f: f.write('x')
        download_url(url, tmp_path/'direct.tgz', show_progress=False)
    finally: os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)
    assert mode(tmp_path/'plain.txt') == 0o640
    assert mode(tmp_path/'archive'/'umask.tgz') == mode(tmp_path/'direct.tgz') == 0o640
    assert mode(path/'train'/'3'/'a.png') == 0o640
    assert mode(path) == mode(path/'train') == 0o750
