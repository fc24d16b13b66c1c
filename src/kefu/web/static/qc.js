// The QC queue's bulk bar (templates/qc_queue.html): select the page, count the selection, confirm before sending.
(function () {
  function setup() {
    const form = document.getElementById('qc-bulk');
    if (!form) return;
    const picks = () => Array.from(document.querySelectorAll('input.pick[form="qc-bulk"]'));
    const count = document.getElementById('selected-count');
    const update = () => { const n = picks().filter((p) => p.checked).length; count.textContent = n; count.dataset.count = n; };
    document.getElementById('select-page').addEventListener('change', (e) => { picks().forEach((p) => { p.checked = e.target.checked; }); update(); });
    document.addEventListener('change', (e) => { if (e.target.matches && e.target.matches('input.pick')) update(); });
    form.addEventListener('submit', (e) => {
      const button = e.submitter, scope = button ? button.dataset.scope : 'selected';
      form.querySelector('input[name=scope]').value = scope;
      const n = scope === 'all' ? form.querySelector('input[name=expected]').value : picks().filter((p) => p.checked).length;
      if (scope === 'selected' && n === 0) { e.preventDefault(); return; }
      const text = (scope === 'all' ? form.dataset.confirmAll : form.dataset.confirmSelected).replace('{n}', n).replace('{action}', button ? button.textContent.trim() : '');
      if (!window.confirm(text)) e.preventDefault();
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup); else setup();
})();
