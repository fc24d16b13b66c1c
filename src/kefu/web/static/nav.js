// The phone menu: below 900 px kefu.css folds the nav away and base.html's button opens and closes it.
(function () {
  function wire() {
    const button = document.querySelector('.menu-toggle');
    if (!button) return;
    button.addEventListener('click', () => {
      const open = button.getAttribute('aria-expanded') !== 'true';
      button.setAttribute('aria-expanded', String(open));
      button.closest('.topbar').classList.toggle('open', open);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wire); else wire();
})();
