// The page header of sphinx-book-theme has its own sidebar buttons; the theme scripts bind only the first
// `.primary-toggle` / `.secondary-toggle` of the page, which is in a header the book theme hides. Every other
// such button passes its click on to that first one, so the buttons a reader sees work: on a phone they open
// the navigation, on a wide screen they show and hide the sidebar.
document.addEventListener('DOMContentLoaded', () => {
  for (const selector of ['.primary-toggle', '.secondary-toggle']) {
    const [bound, ...others] = document.querySelectorAll(selector);
    for (const button of others) {
      button.addEventListener('click', (event) => {
        event.preventDefault();
        event.stopImmediatePropagation();
        bound.click();
      }, true);
    }
  }
});

// Long API names in the page contents (`ActivationStats.before_fit()`) may break after a dot.
document.addEventListener('DOMContentLoaded', () => {
  for (const pre of document.querySelectorAll('#pst-page-toc-nav code span.pre')) {
    const parts = pre.textContent.split('.');
    if (parts.length < 2) continue;
    pre.textContent = '';
    parts.forEach((part, i) => {
      pre.append(i < parts.length - 1 ? part + '.' : part);
      if (i < parts.length - 1) pre.append(document.createElement('wbr'));
    });
  }
});
