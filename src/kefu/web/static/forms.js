// Behaviour that would otherwise be inline handlers (the Content-Security-Policy allows scripts from /static only):
// a control marked data-autosubmit submits its form when changed; a button marked data-print prints the page.
document.addEventListener('change', (e) => {
  if (e.target.matches('[data-autosubmit]') && e.target.form) e.target.form.submit();
});
document.addEventListener('click', (e) => {
  if (e.target.closest('[data-print]')) window.print();
});
