"""The docs site, opened in headless Chromium the way a reader sees it.

Builds the site when `_docs/` is missing or older than a notebook, serves it on 127.0.0.1, and checks the
home page and every chapter page: navigation, code cells, API signatures, and that every plot saved in a
notebook shows up on its page as an image the browser actually loaded.
"""
import functools, http.server, json, re, shutil, subprocess, sys, threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS, NBS = ROOT / '_docs', ROOT / 'nbs'
CHROMIUM = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))), None)
CHROMEDRIVER = shutil.which('chromedriver')


def _stale():
    index = DOCS / 'index.html'
    return not index.exists() or any(nb.stat().st_mtime > index.stat().st_mtime for nb in NBS.glob('*.ipynb'))


def _page_name(nb_path):
    "The page a notebook becomes (nbdev's rule): its name without the chapter number, `02_data` -> `data`."
    return re.sub(r'^\d+[a-z]?_', '', nb_path.stem)


def _n_plots(nb_path):
    nb = json.loads(nb_path.read_text())
    return sum('image/png' in o.get('data', {}) for c in nb['cells'] if c['cell_type'] == 'code'
               for o in c.get('outputs', []))


@pytest.fixture(scope='module')
def site():
    if _stale():
        subprocess.run([sys.executable, str(ROOT / 'tools' / 'build_docs.py')], check=True, cwd=ROOT)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(DOCS))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_port}'
    server.shutdown()


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("headless Chromium is needed: install Debian's `chromium` and `chromium-driver` "
                    "(`bash tools/setup.sh` does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
              '--disable-background-networking', '--disable-component-update', '--disable-sync',
              '--disable-dev-shm-usage', '--window-size=1280,1600',
              f'--user-data-dir={tmp_path_factory.mktemp("chromium-profile")}'):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _loaded_images(driver):
    "Images in the page's content that the browser decoded (a broken image has naturalWidth 0)."
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('article img'))"
        ".map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]);")


def test_home_page_lists_every_chapter(site, browser, tmp_path):
    browser.get(site + '/index.html')
    assert 'mini_fastai' in browser.title
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference.internal'))"
        ".map(a => a.getAttribute('href'));")
    chapters = [p for p in sorted(NBS.glob('*.ipynb')) if p.stem != 'index']
    for nb in chapters: assert f'{_page_name(nb)}.html' in links, (nb.name, links)
    assert browser.execute_script("return document.querySelector('form.bd-search, .search-button') !== null")
    browser.save_screenshot(str(tmp_path / 'home.png'))


@pytest.mark.parametrize('nb', [p for p in sorted(NBS.glob('*.ipynb')) if p.stem != 'index'], ids=lambda p: p.stem)
def test_chapter_page_shows_code_signatures_and_plots(site, browser, tmp_path, nb):
    browser.get(f'{site}/{_page_name(nb)}.html')
    assert browser.execute_script("return document.querySelectorAll('div.cell_input pre').length") > 0, 'no code cell'
    sigs = browser.execute_script(
        "return Array.from(document.querySelectorAll('div.cell_output pre, div.output pre'))"
        ".map(p => p.textContent).filter(t => /^\\s*(def|class) \\w+/.test(t)).length")
    n_exported = sum('#| export' in ''.join(c['source']) for c in json.loads(nb.read_text())['cells'])
    if n_exported: assert sigs > 0, 'no API signature rendered'
    images = _loaded_images(browser)
    broken = [src for src, ok in images if not ok]
    assert not broken, f'images that did not load: {broken}'
    assert len(images) >= _n_plots(nb), f'{_n_plots(nb)} plots in the notebook, {len(images)} on the page'
    browser.save_screenshot(str(tmp_path / f'{nb.stem}.png'))


def test_a_chapter_with_plots_shows_them(site, browser):
    "The site must show at least one real plot: a rendered PNG with a sensible size."
    with_plots = [p for p in sorted(NBS.glob('*.ipynb')) if _n_plots(p)]
    assert with_plots, 'no notebook has a saved plot'
    browser.get(f'{site}/{_page_name(with_plots[0])}.html')
    sizes = browser.execute_script(
        "return Array.from(document.querySelectorAll('article img')).map(i => [i.naturalWidth, i.naturalHeight]);")
    assert any(w >= 100 and h >= 100 for w, h in sizes), sizes
