"""The docs site, opened in headless Chromium the way a reader sees it, offline.

Builds the site when `_docs/` is missing or older than a notebook or the build's own files, serves it on
127.0.0.1, and crawls it once in a browser that cannot reach any other host: every page reached from the home
page is loaded, and what the reader would see is recorded (links, anchors, the page contents, formulas, console
messages, every request the page made, images, code). The tests below check that record:
- every internal link and anchor leads somewhere, and no page asks another host for anything;
- formulas are typeset (MathJax's output is on the page) and the console has no errors;
- each public name of `mini_fastai.all` has an entry reached from its page's contents and from the index,
  and each exported function's code is on its page; search opens an API name at its entry;
- the navigation opens on a phone and its links work; the sidebar button works on a wide screen;
- the chapters are listed in the book's parts; pages show code, API entries and every saved plot.
"""
import ast, functools, http.server, json, re, shutil, subprocess, sys, threading, time
from pathlib import Path
from urllib.parse import urldefrag, urlparse, unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS, NBS = ROOT / '_docs', ROOT / 'nbs'
CHROMIUM = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))), None)
CHROMEDRIVER = shutil.which('chromedriver')
CHAPTERS = [p for p in sorted(NBS.glob('*.ipynb')) if p.stem != 'index']


def _stale():
    index = DOCS / 'index.html'
    sources = [*NBS.glob('*.ipynb'), *(NBS / '_sphinx').rglob('*.*'), ROOT / 'tools' / 'build_docs.py']
    return not index.exists() or any(f.stat().st_mtime > index.stat().st_mtime for f in sources)


def _page_name(nb_path):
    "The page a notebook becomes (nbdev's rule): its name without the chapter number, `02_data` -> `data`."
    return re.sub(r'^\d+[a-z]?_', '', nb_path.stem)


def _number(nb_path): return int(re.match(r'^(\d+)', nb_path.stem).group(1))


def _cells(nb_path): return json.loads(nb_path.read_text())['cells']


def _n_plots(nb_path):
    return sum('image/png' in o.get('data', {}) for c in _cells(nb_path) if c['cell_type'] == 'code'
               for o in c.get('outputs', []))


def _exported_defs(nb_path):
    "The first line of every function and class that the notebook's `#| export` cells define."
    out = []
    for c in _cells(nb_path):
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or not re.search(r'^#\|\s*export', src, re.M): continue
        for node in ast.parse(src).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                out.append(src.splitlines()[node.lineno - 1].strip())
    return out


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
              '--disable-dev-shm-usage', '--window-size=1280,900',
              # offline: every host but the test server fails to resolve
              '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
              f'--user-data-dir={tmp_path_factory.mktemp("chromium-profile")}'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL', 'performance': 'ALL'})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, js, timeout=15):
    "Wait until the script `js` returns something true; return it (or the last false value)."
    end = time.time() + timeout
    while True:
        v = driver.execute_script(js)
        if v or time.time() > end: return v
        time.sleep(0.1)


_RECORD = """
const article = document.querySelector('article') || document.body;
const toc = document.querySelector('#pst-page-toc-nav');
return {
  title: document.title,
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id)
       .concat(Array.from(document.querySelectorAll('a[name]')).map(a => a.name)),
  toc: toc ? Array.from(toc.querySelectorAll('a[href]')).map(a => a.getAttribute('href')) : [],
  entries: Array.from(document.querySelectorAll('dl.py > dt[id]')).map(dt => [dt.id, dt.textContent.trim()]),
  maths: document.querySelectorAll('span.math, div.math').length,
  typeset: document.querySelectorAll('span.math mjx-container, div.math mjx-container').length,
  images: Array.from(article.querySelectorAll('img')).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0,
                                                              i.naturalWidth, i.naturalHeight]),
  code_cells: article.querySelectorAll('div.cell_input pre').length,
  code: Array.from(article.querySelectorAll('pre')).map(p => p.textContent).join('\\n'),
  wide_code: Array.from(article.querySelectorAll('pre')).filter(p => p.offsetParent && !p.closest('.diagram') &&
                                                                      p.scrollWidth > p.clientWidth + 2)
             .map(p => p.textContent.slice(0, 80)),
  text: article.innerText,
  empty_outputs: Array.from(article.querySelectorAll('div.cell_output > div.output'))
                 .filter(o => !o.innerText.trim() && !o.querySelector('img, svg, table, iframe')).length,
};
"""


@pytest.fixture(scope='module')
def crawl(site, browser):
    "Every page reached by links from the home page: what the browser saw, by page path."
    pages, todo, requests, console = {}, ['/index.html'], [], []
    browser.get_log('performance'), browser.get_log('browser')  # start from empty logs
    while todo:
        path = todo.pop(0)
        if path in pages: continue
        browser.get(site + path)
        if browser.execute_script("return document.querySelectorAll('span.math, div.math').length"):
            _wait(browser, "return document.querySelectorAll('span.math, div.math').length === "
                           "document.querySelectorAll('span.math mjx-container, div.math mjx-container').length")
        if path.startswith('/search.html'): time.sleep(0.5)
        pages[path] = rec = browser.execute_script(_RECORD)
        for entry in browser.get_log('performance'):
            msg = json.loads(entry['message'])['message']
            if msg['method'] == 'Network.requestWillBeSent': requests.append((path, msg['params']['request']['url']))
        console += [(path, l['message']) for l in browser.get_log('browser') if l['level'] in ('SEVERE', 'WARNING')]
        for url in rec['links']:
            u = urlparse(url)
            if u.scheme == 'http' and u.netloc == urlparse(site).netloc and u.path.endswith('.html'):
                todo.append(unquote(u.path))
    return dict(site=site, pages=pages, requests=requests, console=console)


def test_every_internal_link_and_anchor_leads_somewhere(crawl):
    site, pages, broken = crawl['site'], crawl['pages'], []
    assert len(pages) >= len(CHAPTERS) + 3, sorted(pages)
    for path, rec in pages.items():
        for url in rec['links']:
            if not url.startswith(site): continue
            target, anchor = urldefrag(url)
            tpath = unquote(urlparse(target).path)
            if tpath.endswith('.html'):
                if tpath not in pages: broken.append((path, url, 'no such page')); continue
                if anchor and unquote(anchor) not in pages[tpath]['ids']: broken.append((path, url, 'no such anchor'))
            elif not (DOCS / tpath.lstrip('/')).is_file() and not (DOCS / tpath.lstrip('/') / 'index.html').is_file():
                broken.append((path, url, 'no such file'))
    assert not broken, f"{len(broken)} broken links, e.g. {broken[:10]}"


def test_no_request_leaves_the_site(crawl):
    site = urlparse(crawl['site']).netloc
    outside = [(p, u) for p, u in crawl['requests']
               if urlparse(u).scheme in ('http', 'https', 'ws', 'wss') and urlparse(u).netloc != site]
    assert not outside, f"requests to other hosts: {outside[:10]}"
    assert crawl['requests'], 'no request was recorded (the performance log is not working)'


def test_formulas_are_typeset_and_the_console_is_clean(crawl):
    with_math = {p: (r['maths'], r['typeset']) for p, r in crawl['pages'].items() if r['maths']}
    assert with_math, 'no page has a formula'
    assert all(n == t for n, t in with_math.values()), f"formulas not typeset (found, typeset): {with_math}"
    assert not crawl['console'], f"console errors and warnings: {crawl['console'][:10]}"


def _entries(crawl):
    "Every API entry of the site: {anchor: page}."
    return {i: p for p, r in crawl['pages'].items() for i, _ in r['entries']}


def test_every_public_name_has_an_entry_in_the_contents_and_the_index(crawl):
    import mini_fastai.all
    pages, entries = crawl['pages'], _entries(crawl)
    index = {urldefrag(u)[1] for u in pages['/genindex.html']['links'] if '#' in u}
    missing = []
    for name in mini_fastai.all.__all__:
        anchors = [a for a in entries if a.startswith('mini_fastai.') and a.count('.') == 2 and a.endswith('.' + name)]
        ok = [a for a in anchors if f'#{a}' in pages[entries[a]]['toc'] and a in index]
        if not ok: missing.append((name, anchors))
    assert not missing, f"public names without an entry in their page's contents and the index: {missing}"


def test_api_index_links_every_public_name(crawl):
    import mini_fastai.all
    api = crawl['pages']['/api.html']
    targets = {urldefrag(u)[1] for u in api['links']} | set(api['ids'])
    missing = [n for n in mini_fastai.all.__all__ if not any(t.endswith('.' + n) for t in targets)]
    assert not missing, missing


def test_signatures_are_tidy(crawl):
    sigs = [(p, t) for p, r in crawl['pages'].items() for _, t in r['entries']]
    assert sigs
    assert not [s for s in sigs if re.search(r' at 0x[0-9a-f]+|NoneType|<function', s[1])], 'untidy signatures'
    classes = [(p, t) for p, r in crawl['pages'].items() for i, t in r['entries'] if i == 'mini_fastai.learner.Learner']
    assert classes and all(t.startswith('class Learner(') for _, t in classes), classes


@pytest.mark.parametrize('nb', [p for p in CHAPTERS if _exported_defs(p)], ids=lambda p: p.stem)
def test_exported_code_is_on_its_page(crawl, nb):
    code = crawl['pages'][f'/{_page_name(nb)}.html']['code']
    missing = [d for d in _exported_defs(nb) if d not in code]
    assert not missing, f"exported code not shown on the page: {missing}"


def test_pages_show_no_noise(crawl):
    noisy = {p: re.findall(r'<(?:Axes|matplotlib|Figure size|IPython\.core)[^>]*>', r['text'])[:3] for p, r in crawl['pages'].items()}
    assert not any(noisy.values()), noisy
    assert not {p: r['empty_outputs'] for p, r in crawl['pages'].items() if r['empty_outputs']}
    wide = {p: r['wide_code'][:3] for p, r in crawl['pages'].items() if r['wide_code']}
    assert not wide, f"code blocks that scroll sideways: {wide}"


def test_home_page_lists_the_parts_in_order(site, browser):
    browser.get(site + '/index.html')
    assert 'mini_fastai' in browser.title
    groups = browser.execute_script(
        "return Array.from(document.querySelectorAll('article .toctree-wrapper')).map(w => ["
        "  (w.querySelector('.caption-text') || {}).textContent,"
        "  Array.from(w.querySelectorAll('a.reference.internal')).map(a => a.getAttribute('href'))]);")
    expected = [('Part I', range(1, 11)), ('Part II', range(11, 17)), ('Appendix', range(17, 100))]
    for (caption, hrefs), (part, numbers) in zip(groups, expected):
        assert caption.startswith(part), (caption, part)
        assert hrefs == [f'{_page_name(nb)}.html' for nb in CHAPTERS if _number(nb) in numbers], (caption, hrefs)
    sidebar = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav.bd-docs-nav p.caption')).map(c => c.textContent.trim());")
    assert [c.split(':')[0] for c in sidebar[:3]] == ['Part I', 'Part II', 'Appendix'], sidebar
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference.internal')).map(a => a.getAttribute('href'));")
    for nb in CHAPTERS: assert f'{_page_name(nb)}.html' in links, (nb.name, links)
    assert browser.execute_script("return document.querySelector('form.bd-search, .search-button') !== null")


@pytest.mark.parametrize('nb', CHAPTERS, ids=lambda p: p.stem)
def test_chapter_page_shows_code_entries_and_plots(crawl, nb):
    rec = crawl['pages'][f'/{_page_name(nb)}.html']
    assert rec['code_cells'] > 0, 'no code cell'
    if _exported_defs(nb): assert rec['entries'], 'no API entry rendered'
    broken = [src for src, ok, *_ in rec['images'] if not ok]
    assert not broken, f'images that did not load: {broken}'
    assert len(rec['images']) >= _n_plots(nb), f"{_n_plots(nb)} plots in the notebook, {len(rec['images'])} on the page"
    if _n_plots(nb): assert any(w >= 100 and h >= 100 for _, _, w, h in rec['images']), rec['images']


def test_navigation_opens_on_a_phone(site, browser, tmp_path):
    browser.set_window_size(390, 844)
    try:
        browser.get(site + '/learner.html')
        toggles = [b for b in browser.find_elements('css selector', '.primary-toggle') if b.is_displayed()]
        assert toggles, 'no visible navigation button at 390 px'
        toggles[0].click()
        assert _wait(browser, "return document.getElementById('pst-primary-sidebar-modal').open", 5), 'navigation did not open'
        link = next(a for a in browser.find_elements('css selector', '#pst-primary-sidebar-modal a.reference.internal')
                    if a.get_attribute('href').endswith('/schedule.html'))
        assert link.is_displayed()
        link.click()
        assert _wait(browser, "return location.pathname.endsWith('/schedule.html') && document.readyState === 'complete'", 10)
        assert 'Schedule' in browser.find_element('css selector', 'article h1').text
        browser.save_screenshot(str(tmp_path / 'phone.png'))
    finally:
        browser.set_window_size(1280, 900)


def test_sidebar_button_hides_and_shows_the_sidebar_on_a_wide_screen(site, browser):
    browser.get(site + '/learner.html')
    sidebar = browser.find_element('css selector', '#pst-primary-sidebar')
    assert sidebar.is_displayed()
    button = next(b for b in browser.find_elements('css selector', '.primary-toggle') if b.is_displayed())
    button.click()
    assert _wait(browser, "return getComputedStyle(document.getElementById('pst-primary-sidebar')).visibility === 'hidden'", 5)
    button.click()
    assert _wait(browser, "return getComputedStyle(document.getElementById('pst-primary-sidebar')).visibility !== 'hidden'", 5)


def test_search_opens_an_api_name_at_its_entry(site, browser):
    browser.get(site + '/search.html?q=fit_one_cycle')
    href = _wait(browser, "const a = document.querySelector('#search-results li a'); return a && a.href;", 15)
    assert href and href.endswith('#mini_fastai.schedule.Learner.fit_one_cycle'), href
    browser.get(href)
    assert _wait(browser, "const e = document.getElementById('mini_fastai.schedule.Learner.fit_one_cycle');"
                          "const r = e.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight && scrollY > 0;", 5)
