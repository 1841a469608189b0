# Sphinx configuration for the mini_fastai docs site.
# The pages are nbdev's processed notebooks, prepared for Sphinx by `tools/build_docs.py`, which is the one
# command that builds the site: locally, in CI and on deploy.
import tomllib
from pathlib import Path

_root = Path(__file__).resolve().parents[2]
_proj = tomllib.loads((_root / 'pyproject.toml').read_text())['project']

project = 'mini_fastai'
author = _proj['authors'][0]['name']
copyright = f'2026, {author}'
release = next(l.split('"')[1] for l in (_root / 'mini_fastai' / '__init__.py').read_text().splitlines()
               if l.startswith('__version__'))

extensions = ['myst_nb']
root_doc = 'index'
exclude_patterns = ['_build', '**.ipynb_checkpoints']

nb_execution_mode = 'off'                 # pages show the outputs saved in the notebooks
nb_render_markdown_format = 'myst'        # cells' markdown outputs are rendered as markdown
nb_ipywidgets_js = {}                     # widgets show their saved picture: no widget manager from a CDN
myst_enable_extensions = ['colon_fence', 'dollarmath', 'attrs_inline']
myst_heading_anchors = 3
# Broken links are not silenced (`tools/build_docs.py` fails on them); these are not about links.
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type', 'misc.highlighting_failure']

# API entries (written by `tools/build_docs.py` as Python-domain directives)
add_module_names = False                  # `Learner(...)`, not `mini_fastai.learner.Learner(...)`
nitpicky = True                           # a reference to an API name that has no entry is an error
nitpick_ignore_regex = [('py:class', r'(?!mini_fastai\.).*')]  # type annotations naming other libraries' classes
python_maximum_signature_line_length = 72  # longer signatures get one parameter a line
toc_object_entries_show_parents = 'domain'  # `Learner.fit()` in the page contents

# MathJax served by the site itself (copied from the `sphinx-mathjax-offline` package by the build)
mathjax_path = 'mathjax/tex-chtml.js'

html_theme = 'sphinx_book_theme'
html_title = 'mini_fastai'
html_theme_options = {
    'repository_url': _proj['urls']['Repository'],
    'use_repository_button': True,
    'show_toc_level': 2,
    'home_page_in_toc': True,
}
html_context = {'default_mode': 'light'}  # plots are drawn on white; a reader can switch to dark
html_favicon = '_static/favicon.svg'
html_static_path = ['_static', str(_root / '_proc' / '_vendor')]
html_css_files = ['custom.css']
html_js_files = [('custom.js', {'defer': 'defer'})]
nb_output_folder = str(_root / '_proc' / 'jupyter_execute')  # myst-nb's working copies, out of the source tree
