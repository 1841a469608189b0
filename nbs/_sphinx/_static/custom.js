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
