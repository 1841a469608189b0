"""Build the docs site into `_docs/`, offline, from the notebooks in `nbs/`.

1. nbdev processes the notebooks into `_proc/` with its own processors (those of `nbdev-proc-nbs`: front matter,
   hidden cells dropped, backticked names linked), except that the exported cells are kept for step 2 instead of
   being run for `show_doc`;
2. each processed notebook becomes a page for Sphinx + myst-nb:
   - each exported cell becomes API entries of Sphinx's Python domain (an anchor, an entry in the page contents,
     the index and the search), each with its signature, its docstring and its code;
   - links to API names and to other pages become Sphinx references, which the build checks: it fails on a
     link to a page or anchor that does not exist;
   - outputs that say nothing (`<Axes: ...>`, empty ones) are dropped; Quarto cell options become cell tags;
   - the home page lists the chapters in the book's parts, grouped by notebook number (`PARTS`), and an API
     index page lists every public name of `mini_fastai.all`;
3. Sphinx renders the pages with the outputs saved in the notebooks (nothing is re-executed), with MathJax
   served from the site itself, so the site works offline.

Run: `python tools/build_docs.py` (the same command locally, in CI and in the deploy workflow).
"""
import ast, importlib, inspect, json, os, re, runpy, shutil, subprocess, sys, textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROC, SRC, OUT = ROOT / '_proc', ROOT / '_proc' / '_sphinx_src', ROOT / '_docs'
VENDOR = ROOT / '_proc' / '_vendor'  # static files taken from installed packages (MathJax), served by the site
LIB = 'mini_fastai'
# The book's parts, by notebook number: a new notebook lands in its part from its number alone.
PARTS = (('Part I: the story', range(1, 11)), ('Part II: under the hood', range(11, 17)), ('Appendix', range(17, 100)))
_directive = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_quarto_attrs = re.compile(r'\{target="_blank"[^}]*\}')
_number = re.compile(r'^(\d+)[a-z]?_')


# ---------------------------------------------------------------------------------------------------------------
# 1. nbdev's processing
def _site_processors():
    "nbdev's processors for the docs, keeping exported cells (marked) instead of running them for `show_doc`."
    from nbdev.processors import (FilterDefaults, populate_language, strip_ansi, hide_line, filter_stream_,
                                  rm_header_dash, clean_show_doc, rm_export, ai_magics, clean_magics, hide_,
                                  add_links, strip_hidden_metadata)
    from nbdev.frontmatter import FrontmatterProc
    from nbdev.process import Processor

    class keep_exports(Processor):
        "Mark each exported cell with its module, so that `rm_export` keeps it for the API entries."
        def begin(self):
            default = next((c.directives_['default_exp'].split()[0] for c in self.nb.cells
                            if 'default_exp' in (getattr(c, 'directives_', None) or {})), None)
            if default: self.nb.metadata['default_exp'] = f'{LIB}.{default}'
            for cell in self.nb.cells:
                dirs = getattr(cell, 'directives_', None) or {}
                kind = next((k for k in ('export', 'exporti', 'exports') if k in dirs), None)
                if cell.cell_type != 'code' or kind is None: continue
                mod = (dirs[kind].split() or [default])[0] if isinstance(dirs[kind], str) else default
                if mod is None: continue
                cell.metadata['exported'] = f"{LIB}.{mod}"
                cell.directives_ = {k: v for k, v in dirs.items() if k not in ('export', 'exporti', 'exports')}

    class SiteProcs(FilterDefaults):
        def base_procs(self):
            return [FrontmatterProc, populate_language, keep_exports, strip_ansi, hide_line, filter_stream_,
                    rm_header_dash, clean_show_doc, rm_export, ai_magics, clean_magics, hide_, add_links,
                    strip_hidden_metadata]
    return SiteProcs


def process_notebooks():
    "Process every notebook of `nbs/` with nbdev's processors into `_proc/`."
    from fastcore.nbio import read_nb, write_nb
    os.chdir(ROOT)
    procs = _site_processors()
    shutil.rmtree(PROC, ignore_errors=True)
    PROC.mkdir()
    for path in sorted((ROOT / 'nbs').glob('*.ipynb')):
        nb = read_nb(path)
        try: procs()(nb)
        except Exception as e: sys.exit(f"nbdev could not process {path.name}: {type(e).__name__}: {e}")
        write_nb(nb, PROC / path.name)


# ---------------------------------------------------------------------------------------------------------------
# 2a. API entries from exported cells
def _src(cell): return _text(cell['source'])


def _strip_directives(src):
    "`src` without its `#|` directive lines."
    return '\n'.join(l for l in src.splitlines() if not _directive.match(l))


def _fence(text, char='`'):
    "A code fence longer than any run of `char` in `text`."
    return char * max(3, max((len(m) for m in re.findall(f'{re.escape(char)}+', text)), default=0) + 1)


def _deco_name(d):
    d = d.func if isinstance(d, ast.Call) else d
    return d.attr if isinstance(d, ast.Attribute) else getattr(d, 'id', '')


def _args_text(args, src, drop_first=False):
    "The argument list as written in the source `src` (defaults included), without `self`/`cls` when `drop_first`."
    seg = lambda n: re.sub(r'\s*\n\s*', ' ', ast.get_source_segment(src, n) or ast.unparse(n))
    def one(a, default=None, star=''):
        s = star + a.arg + (f": {seg(a.annotation)}" if a.annotation is not None else '')
        return s + ((' = ' if a.annotation is not None else '=') + seg(default) if default is not None else '')
    pos = args.posonlyargs + args.args
    items = list(zip(pos, [None] * (len(pos) - len(args.defaults)) + list(args.defaults)))
    n_posonly = len(args.posonlyargs)
    if drop_first and items: items, n_posonly = items[1:], max(n_posonly - 1, 0)
    parts = [one(a, d) for a, d in items]
    if n_posonly: parts.insert(n_posonly, '/')
    if args.vararg: parts.append(one(args.vararg, star='*'))
    elif args.kwonlyargs: parts.append('*')
    parts += [one(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg: parts.append(one(args.kwarg, star='**'))
    return ', '.join(parts)


def _tidy_default(v):
    "How a default value reads in a signature: a function or class by its name, never a memory address."
    if inspect.isfunction(v) or inspect.isclass(v) or inspect.isbuiltin(v): return v.__name__
    if type(v).__name__ == 'partial': return f"partial({_tidy_default(v.func)}, ...)"
    return re.sub(r' at 0x[0-9a-f]+', '', repr(v))


def _signature_text(obj, drop_first=False):
    "A signature from a live object (classes without their own `__init__`), formatted like the source."
    try: sig = inspect.signature(obj)
    except (TypeError, ValueError): return ''
    params = list(sig.parameters.values())[1 if drop_first else 0:]
    if [p.kind for p in params] == [inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD]: return ''
    out, star = [], False
    for p in params:
        if p.kind == p.KEYWORD_ONLY and not star: out.append('*'); star = True
        s = {p.VAR_POSITIONAL: '*', p.VAR_KEYWORD: '**'}.get(p.kind, '') + p.name
        if p.kind == p.VAR_POSITIONAL: star = True
        if p.annotation is not p.empty: s += f": {inspect.formatannotation(p.annotation)}"
        if p.default is not p.empty: s += f"{' = ' if p.annotation is not p.empty else '='}{_tidy_default(p.default)}"
        out.append(s)
    return ', '.join(out)


class Entry:
    "One API entry: a Sphinx Python-domain directive with its signature, docstring and source code."
    def __init__(self, kind, module, qualname, args=None, doc='', source='', options=(), note=''):
        self.kind, self.module, self.qualname, self.args = kind, module, qualname, args
        self.doc, self.source, self.options, self.note = doc, source, list(options), note
        self.name = qualname.split('.')[-1]
        self.private = self.name.startswith('_') and not self.name.startswith('__')
        if self.private: self.options += ['no-index-entry', 'no-contents-entry']

    @property
    def fullname(self): return f"{self.module}.{self.qualname}"

    def markdown(self, links):
        sig = self.qualname + (f"({self.args})" if self.args is not None else '')
        opts = [f":module: {self.module}"] + [f":{o}:" for o in self.options]
        body = [links.convert(self.doc)] if self.doc else []
        if self.note: body.append(links.convert(self.note))
        if self.source:
            fence = _fence(self.source)
            body.append(f'<details class="api-source" open><summary>source</summary>\n\n'
                        f'{fence}python\n{self.source}\n{fence}\n\n</details>')
        colons = _fence('\n'.join(body), ':') + ':'
        return f"{colons}{{py:{self.kind}}} {sig}\n" + '\n'.join(opts) + '\n\n' + '\n\n'.join(body) + f"\n{colons}\n"


def _def_entry(node, module, source, live, src):
    "The entry of a `def` or `class` node (a `@patch`ed function is a method of the class of its `self`)."
    decos = [_deco_name(d) for d in node.decorator_list]
    doc = ast.get_docstring(node) or ''
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == '__init__'), None)
        if init is not None and 'delegates' not in [_deco_name(d) for d in init.decorator_list]:
            args = _args_text(init.args, src, drop_first=True)
        else: args = _signature_text(obj) if (obj := live(node.name)) is not None else ''
        return Entry('class', module, node.name, args or None, doc, source)
    patched = 'patch' in decos and (node.args.posonlyargs or node.args.args)
    first = (node.args.posonlyargs or node.args.args)[0] if patched else None
    if patched and first.annotation is not None:
        cls = first.annotation
        cls = cls.elts[0] if isinstance(cls, ast.Tuple) else cls
        qualname = f"{ast.unparse(cls)}.{node.name}"
        as_prop = any(isinstance(d, ast.Call) and _deco_name(d) == 'patch' and
                      any(k.arg == 'as_prop' and getattr(k.value, 'value', False) for k in d.keywords)
                      for d in node.decorator_list)
        if as_prop or 'property' in decos: return Entry('property', module, qualname, None, doc, source)
        opts = ['classmethod'] if 'classmethod' in decos else ['staticmethod'] if 'staticmethod' in decos else []
        args = _args_text(node.args, src, drop_first=not opts or opts == ['classmethod'])
        return Entry('method', module, qualname, args, doc, source, opts)
    if 'delegates' in decos and (obj := live(node.name)) is not None: args = _signature_text(obj)
    else: args = _args_text(node.args, src)
    return Entry('function', module, node.name, args, doc, source)


def _public_path(obj, name):
    "Where `obj` is best imported from: the shortest parent of its module that has it (`torch.optim.SGD`)."
    mod = getattr(obj, '__module__', None) or ''
    parts, best = mod.split('.'), mod
    for i in range(len(parts) - 1, 0, -1):
        parent = sys.modules.get('.'.join(parts[:i]))
        if parent is not None and getattr(parent, getattr(obj, '__name__', name), None) is obj: best = '.'.join(parts[:i])
    return f"{best}.{getattr(obj, '__qualname__', name)}" if best else name


def _reexport_entries(names, module, live):
    "Entries for the names a module re-exports (`_all_`): where each comes from."
    out = []
    for n in names:
        obj = live(n)
        if obj is None: continue
        kind = 'class' if inspect.isclass(obj) else 'function' if callable(obj) and not inspect.ismodule(obj) else 'data'
        origin = obj.__name__ if inspect.ismodule(obj) else _public_path(obj, n)
        out.append(Entry(kind, module, n, None, note=f"`{origin}`, re-exported by `{module}`."))
    return out


class Cell2Api:
    "Turn exported cells into code pieces and API entries; keeps every entry made, by full name."
    def __init__(self): self.entries, self._mods = {}, {}

    def live(self, module):
        "A function looking a name up in the imported `module` (None when it is not there)."
        if module not in self._mods:
            try: self._mods[module] = importlib.import_module(module)
            except Exception as e: sys.exit(f"cannot import {module} to document it: {type(e).__name__}: {e}")
        mod = self._mods[module]
        def get(qualname):
            obj = mod
            for part in qualname.split('.'):
                obj = getattr(obj, part, None)
                if obj is None: return None
            return obj
        return get

    def pieces(self, src, module, skip=()):
        "[('code', text) | ('entry', Entry)] for the cell `src` exported to `module`, every line shown once."
        src = _strip_directives(src)
        try: tree = ast.parse(src)
        except SyntaxError: return [('code', src)]
        lines, live = src.splitlines(), self.live(module)
        public = set(getattr(self._mods[module], '__all__', []))
        out, start = [], 0
        for i, node in enumerate(tree.body):
            end = node.end_lineno if i < len(tree.body) - 1 else len(lines)
            chunk = '\n'.join(lines[start:end]).strip('\n')
            start = end
            entries = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                entries = [_def_entry(node, module, chunk, live, src)]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if names == ['_all_'] and isinstance(node.value, (ast.List, ast.Tuple)):
                    reexp = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
                    out.append(('code', chunk))
                    out += [('entry', e) for e in _reexport_entries(reexp, module, live)]
                    continue
                entries = [Entry('data', module, n, None, source=chunk) for n in names if n in public]
            entries = [e for e in entries if e.fullname not in skip]
            if not entries:
                if out and out[-1][0] == 'code': out[-1] = ('code', out[-1][1] + '\n' + chunk)
                else: out.append(('code', chunk))
                continue
            out.append(('entry', entries[0]))
            for e in entries[1:]: e.source = ''; out.append(('entry', e))
        for kind, e in out:
            if kind != 'entry': continue
            # a name defined again later (a second version of a function): its first entry keeps the anchor
            if e.fullname in self.entries: e.options = [o for o in e.options if 'entry' not in o] + ['no-index']
            else: self.entries[e.fullname] = e
        return out

    def show_doc(self, expr, module):
        "The entry of an explicit `show_doc(expr)` cell, from the live object's source."
        obj = self.live(module)(expr)
        if obj is None: sys.exit(f"show_doc({expr}): no such name in {module}")
        obj = inspect.unwrap(getattr(obj, 'fget', getattr(obj, '__func__', obj)))
        src = textwrap.dedent(inspect.getsource(obj))
        mod = getattr(obj, '__module__', module)
        pieces = [p for p in self.pieces(src, mod) if p[0] == 'entry']
        return pieces[:1]


# ---------------------------------------------------------------------------------------------------------------
# 2b. links
class Links:
    "Rewrite the links nbdev writes (absolute, to `page.html#anchor`) as Sphinx references the build checks."
    _md_link = re.compile(r'(?<!!)\[([^\]\n]*)\]\(([^)\s]+)\)')
    _page = re.compile(r'^(?:\./)?([\w.-]+?)\.(?:html|ipynb|md)(?:#(.*))?$')

    def __init__(self, base_url, documented, pages):
        d = runpy.run_path(str(ROOT / LIB / '_modidx.py'))['d']
        self.base_url, self.documented, self.pages = base_url, documented, pages
        self.by_url = {}
        for syms in d['syms'].values():
            for full, (url, _) in syms.items(): self.by_url.setdefault(url, full)

    def target(self, full):
        "The documented name `full` or its nearest documented parent (a method written in its class's body)."
        while full:
            if full in self.documented: return full
            full = full.rpartition('.')[0]

    def _sub(self, m):
        text, url = m.groups()
        rel = url[len(self.base_url):] if self.base_url and url.startswith(self.base_url) else url
        if rel in self.by_url:
            label, target = text.strip('`'), self.target(self.by_url[rel])
            if target: return f"{{py:obj}}`{label} <{target}>`"
            return f"`{label}`" if text.startswith('`') else text
        pm = self._page.match(rel)
        if not pm: return m.group(0)  # a link elsewhere, or to an anchor on this page
        page, anchor = _number.sub('', pm.group(1)), pm.group(2)
        if page not in self.pages: return m.group(0)  # not one of our pages: Sphinx reports it if it is missing
        return f"[{text}]({page}.{self.pages[page]}{'#' + anchor if anchor else ''})"

    def convert(self, md): return self._md_link.sub(self._sub, md)


# ---------------------------------------------------------------------------------------------------------------
# 2c. pages
def _front_matter(nb):
    "Remove and return the YAML front matter nbdev puts in the first raw cell."
    if nb['cells'] and nb['cells'][0]['cell_type'] == 'raw':
        text = _src(nb['cells'][0]).strip()
        if text.startswith('---'):
            nb['cells'].pop(0)
            return yaml.safe_load(text.strip('-\n')) or {}
    return {}


# reprs that stand for something drawn or displayed elsewhere (a plot, an HTML display), or for nothing
_noise = re.compile(r'^\[?<(?:Axes|matplotlib\.|Figure size|mpl_toolkits|IPython\.core\.display\.)[^\n]*>\]?$|^Text\(.*\)$', re.S)


def _text(v): return ''.join(v) if isinstance(v, list) else (v or '')


def _empty_html(h):
    "HTML with nothing to see: only a `<style>` block, an empty `<div>`, or nothing."
    h = re.sub(r'<style.*?</style>|<script.*?</script>', '', h, flags=re.S | re.I)
    if re.search(r'<(img|svg|table|progress|canvas|iframe|video|audio|input|math)\b', h, re.I): return False
    return not re.sub(r'<[^>]+>|&nbsp;', '', h).strip()


def clean_outputs(outputs):
    "Drop outputs that say nothing on a page: `<Axes: ...>`-style reprs, empty text or HTML, widget-only views."
    out = []
    for o in outputs:
        if o.get('output_type') == 'stream':
            if _text(o.get('text')).strip(): out.append(o)
            continue
        data = o.get('data')
        if data is None: out.append(o); continue
        # an interactive widget needs a live kernel: the site shows its static picture instead, or nothing
        data.pop('application/vnd.jupyter.widget-view+json', None)
        if 'text/html' in data and _empty_html(_text(data['text/html'])): del data['text/html']
        plain = _text(data.get('text/plain')).strip()
        if 'text/plain' in data and (not plain or _noise.match(plain)):
            if len(data) == 1 or not plain: del data['text/plain']
        if {'text/markdown'} == set(data) - {'text/plain'} and not _text(data['text/markdown']).strip():
            del data['text/markdown']
        if set(data) - {'text/plain'} or plain and not _noise.match(plain): out.append(o)
    return out


def convert_code_cell(cell, links):
    "A processed code cell as myst-nb renders it, or None to drop it."
    src = _src(cell)
    lines, opts = src.splitlines(), {}
    while lines and _directive.match(lines[0]):
        k, v = _directive.match(lines.pop(0)).groups()
        opts[k] = v.lower()
    if opts.get('include') == 'false': return None
    tags = cell.setdefault('metadata', {}).setdefault('tags', [])
    if opts.get('echo') == 'false' or not ''.join(lines).strip(): tags.append('remove-input')
    if opts.get('output') == 'false': tags.append('remove-output')
    cell['source'] = '\n'.join(lines)
    cell['outputs'] = clean_outputs(cell.get('outputs', []))
    for out in cell['outputs']:
        md = out.get('data', {}).get('text/markdown')
        if md is not None:
            md = _quarto_attrs.sub('', _text(md)).lstrip()
            if md.startswith('---'): md = md[3:]  # a horizontal rule cannot start a docutils output block
            out['data']['text/markdown'] = links.convert(md)
    if 'remove-input' in tags and not cell['outputs']: return None
    return cell


_show_doc = re.compile(r'^\s*show_doc\(\s*([\w.]+)[^)]*\)\s*$')


def _md_cell(text): return {'cell_type': 'markdown', 'metadata': {}, 'source': text}


def _code_cell(text): return {'cell_type': 'code', 'metadata': {'tags': ['exported']}, 'source': text,
                              'outputs': [], 'execution_count': None}


_fenced = re.compile(r'^(`{3,})[ \t]*(text|)[ \t]*\n(.*?)\n\1[ \t]*$', re.M | re.S)
_box = re.compile('[\u2500-\u257f\u2190-\u21ff\u25b2-\u25c0]')


def _diagrams(md):
    "A fenced block drawn with box and arrow characters is a diagram: it keeps its lines (no wrapping)."
    sub = lambda m: (f"{m.group(1)}{{code-block}} text\n:class: diagram\n\n{m.group(3)}\n{m.group(1)}"
                     if _box.search(m.group(3)) else m.group(0))
    return _fenced.sub(sub, md)


class Page:
    "A processed notebook on its way to a Sphinx page."
    def __init__(self, path):
        self.nb = json.loads(path.read_text())
        self.fm = _front_matter(self.nb)
        self.number = int(_number.match(path.stem).group(1)) if _number.match(path.stem) else None
        self.name = 'index' if path.stem == 'index' else Path(self.fm.get('output-file', path.stem + '.html')).stem
        self.title = self.fm.get('title') or self.name
        self.module = self.nb.get('metadata', {}).get('default_exp')

    def show_docs(self):
        "The names this notebook documents with an explicit `show_doc` cell."
        return [m.group(1) for c in self.nb['cells'] if c['cell_type'] == 'code'
                for m in [_show_doc.match(_strip_directives(_src(c)))] if m]

    def api_pieces(self, api):
        "Make this page's API entries (before any page is converted, so that links can find every entry)."
        explicit = {f"{self.module}.{n}" for n in self.show_docs()} if self.module else set()
        self.pieces = {}
        for i, c in enumerate(self.nb['cells']):
            if c['cell_type'] != 'code': continue
            mod = c.get('metadata', {}).get('exported')
            if mod: self.pieces[i] = api.pieces(_src(c), mod, skip=explicit)
            else:
                m = _show_doc.match(_strip_directives(_src(c)))
                if m: self.pieces[i] = api.show_doc(m.group(1), self.module or f'{LIB}.all')

    def cells(self, links):
        "The page's cells, ready for myst-nb."
        head = f"# {self.title}\n" + (f"\n> {self.fm['description']}\n" if self.fm.get('description') else '')
        cells = [_md_cell(head)]
        if self.module and any(self.pieces.values()):
            cells.append(_md_cell(f":::{{py:module}} {self.module}\n:no-index-entry:\n:::\n"))
        for i, c in enumerate(self.nb['cells']):
            if i in self.pieces:
                for kind, p in self.pieces[i]:
                    cells.append(_code_cell(p) if kind == 'code' else _md_cell(p.markdown(links)))
            elif c['cell_type'] == 'markdown':
                src = _src(c)
                if src.strip().startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'): continue
                c['source'] = _diagrams(links.convert(src))
                cells.append(c)
            elif c['cell_type'] == 'code':
                c = convert_code_cell(c, links)
                if c: cells.append(c)
            else: cells.append(c)
        for i, c in enumerate(cells): c['id'] = f'cell-{i}'
        nb = dict(self.nb, cells=cells)
        nb['metadata'] = {k: v for k, v in nb.get('metadata', {}).items() if k not in ('widgets', 'default_exp')}
        return nb


def _part(page):
    return next((title for title, numbers in PARTS if page.number in numbers), PARTS[-1][0])


def api_index(pages, api):
    "A page listing every public name of `mini_fastai.all`, by module, each linked to its entry."
    import mini_fastai.all as everything
    mods = {}
    for n in everything.__all__:
        hits = [f for f in api.entries if f.rsplit('.', 1)[-1] == n and f.count('.') == 2 and
                n in getattr(sys.modules.get(f.rsplit('.', 1)[0]), '__all__', ())]
        obj = getattr(everything, n)
        hits.sort(key=lambda f: f.rsplit('.', 1)[0] != getattr(obj, '__module__', None))
        mods.setdefault(hits[0].rsplit('.', 1)[0] if hits else f'{LIB}.all', []).append((n, hits[0] if hits else None))
    page_of = {p.module: p for p in pages if p.module}
    md = ["# API index\n", "Every public name that `from mini_fastai.all import *` brings, by module. Each links to its "
          "entry: signature, documentation and code, on the page that teaches it. The [index](genindex) lists them "
          "alphabetically, with their methods.\n"]
    reexported = []
    for mod in sorted(mods, key=lambda m: (m == f'{LIB}.all', list(page_of).index(m) if m in page_of else 0)):
        if mod == f'{LIB}.all': reexported = mods[mod]; continue
        p = page_of.get(mod)
        md.append(f"## `{mod}`\n" + (f"\n[{p.title}]({p.name}.ipynb)\n" if p else ''))
        for n, full in sorted(mods[mod], key=lambda t: t[0].lower()):
            doc = api.entries[full].doc.strip().split('\n')[0] if api.entries[full].doc else ''
            md.append(f"- {{py:obj}}`{n} <{full}>`" + (f": {doc}" if doc else ''))
        md.append('')
    if reexported:
        md.append(f"## Re-exported by `{LIB}.all`\n\nPackages every chapter imports, re-exported so that "
                  f"`from {LIB}.all import *` brings them too.\n")
        md += [_plain_entry(e) for e in _reexport_entries([n for n, _ in reexported], f'{LIB}.all', api.live(f'{LIB}.all'))]
    return '\n'.join(md) + '\n'


def _plain_entry(e):
    sig = e.qualname + (f"({e.args})" if e.args is not None else '')
    return f":::{{py:{e.kind}}} {sig}\n:module: {e.module}\n\n{e.note}\n:::\n"


def prepare_pages():
    "Write every processed notebook as a page, the chapters listed on the home page by part, and the API index."
    import tomllib
    proj = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    base_url = proj.get('urls', {}).get('Documentation', '').rstrip('/') + '/'
    shutil.rmtree(SRC, ignore_errors=True)
    SRC.mkdir(parents=True)
    sys.path.insert(0, str(ROOT))
    pages = [Page(p) for p in sorted(PROC.glob('*.ipynb'))]
    api = Cell2Api()
    for p in pages: p.api_pieces(api)
    links = Links(base_url, set(api.entries), {**{p.name: 'ipynb' for p in pages}, 'api': 'md'})
    for p in pages: (SRC / f'{p.name}.ipynb').write_text(json.dumps(p.cells(links)))
    (SRC / 'api.md').write_text(api_index(pages, api))
    # images and other files the notebooks link to, where the pages can find them
    for f in (ROOT / 'nbs').rglob('*'):
        rel = f.relative_to(ROOT / 'nbs')
        if f.is_file() and f.suffix.lower() in ('.png', '.jpg', '.jpeg', '.gif', '.svg') and \
                not any(part.startswith(('.', '_')) or part in ('data', 'models') for part in rel.parts[:-1]):
            (SRC / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, SRC / rel)
    chapters = [p for p in pages if p.name != 'index']
    index = json.loads((SRC / 'index.ipynb').read_text())
    for title, _ in PARTS:
        names = [p.name for p in chapters if _part(p) == title]
        if names: index['cells'].append(_md_cell(f'```{{toctree}}\n:maxdepth: 1\n:caption: {title}\n\n' + '\n'.join(names) + '\n```\n'))
    index['cells'].append(_md_cell('```{toctree}\n:maxdepth: 1\n:caption: Reference\n\napi\ngenindex\n```\n'))
    for i, c in enumerate(index['cells']): c['id'] = f'cell-{i}'
    (SRC / 'index.ipynb').write_text(json.dumps(index))
    return [p.name for p in chapters]


# ---------------------------------------------------------------------------------------------------------------
# 3. Sphinx
def vendor_mathjax():
    "MathJax 3 from the installed `sphinx-mathjax-offline` package, into the site's static files: no CDN."
    from importlib.metadata import distribution, PackageNotFoundError
    try: src = Path(distribution('sphinx-mathjax-offline').locate_file('sphinx-mathjax-offline/static/mathjax'))
    except PackageNotFoundError: src = None
    if not src or not (src / 'tex-chtml.js').exists():
        sys.exit("MathJax is needed to build the site offline: `pip install sphinx-mathjax-offline` (in the dev extra)")
    dst = VENDOR / 'mathjax'
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    shutil.copy2(src / 'tex-chtml.js', dst)
    for sub in ('input/tex', 'output/chtml', 'a11y', 'ui', 'adaptors'):
        if (src / sub).exists(): shutil.copytree(src / sub, dst / sub)
    for f in ('LICENSE', 'README.md'):
        if (src.parent.parent / f).exists(): shutil.copy2(src.parent.parent / f, dst)


# Warnings about links, anchors, references and pages that do not exist fail the build.
_broken = re.compile(r'xref_missing|reference target not found|undefined label|unknown document|nonexisting document|'
                     r'Unknown target name|duplicate object description|'
                     r'not readable|toctree contains reference|Unknown interpreted text role|Unknown directive type|'
                     r'failed to import|local id not found|does not contain the anchor', re.I)


def build_site():
    "Render the pages with Sphinx into `_docs/`; fail on a broken link or reference."
    shutil.rmtree(OUT, ignore_errors=True)
    warnings = PROC / 'sphinx-warnings.txt'
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-w', str(warnings), '-c', str(ROOT / 'nbs' / '_sphinx'),
           str(SRC), str(OUT)]
    subprocess.run(cmd, check=True)
    broken = [l for l in warnings.read_text().splitlines() if _broken.search(l)]
    if broken:
        sys.exit("the site has broken links or references:\n" + '\n'.join(broken))
    (OUT / '.nojekyll').touch()  # GitHub Pages: serve folders that start with `_`


if __name__ == '__main__':
    process_notebooks()
    chapters = prepare_pages()
    vendor_mathjax()
    build_site()
    print(f"docs site: {OUT}/index.html ({len(chapters)} chapters: {', '.join(chapters)})")
