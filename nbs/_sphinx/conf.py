# Sphinx configuration for the mini_fastai docs site.
# The pages are nbdev's processed notebooks (`nbdev-proc-nbs` -> `_proc/`), prepared for Sphinx by
# `tools/build_docs.py`, which is the one command that builds the site: locally, in CI and on deploy.
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
nb_render_markdown_format = 'myst'        # `show_doc` writes its signatures as markdown
myst_enable_extensions = ['colon_fence', 'dollarmath', 'attrs_inline']
myst_heading_anchors = 3
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type', 'misc.highlighting_failure', 'myst.xref_missing']

html_theme = 'sphinx_book_theme'
html_title = 'mini_fastai'
html_theme_options = {
    'repository_url': _proj['urls']['Repository'],
    'use_repository_button': True,
    'show_toc_level': 2,
    'home_page_in_toc': True,
}
html_static_path = []
nb_output_folder = str(_root / '_proc' / 'jupyter_execute')  # myst-nb's working copies, out of the source tree
