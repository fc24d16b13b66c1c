// The payroll chart (Apache ECharts, served locally): each agent's pay stacked by component.
(function () {
  function draw() {
    const el = document.querySelector('[data-chart="pay-stack"]');
    if (el && window.echarts) {
      const d = JSON.parse(document.getElementById('pay-stack-data').textContent);
      const keys = [d.base_key].concat(d.names.slice(1));
      const chart = echarts.init(el, null, {renderer: 'svg'});
      chart.setOption({
        animation: false, tooltip: {trigger: 'axis'}, legend: {type: 'scroll'}, grid: {left: 70, right: 20, top: 40, bottom: 60},
        xAxis: {type: 'category', data: d.rows.map(r => r.agent), axisLabel: {rotate: 30}},
        yAxis: {type: 'value', axisLabel: {formatter: (v) => '¥' + Number(v).toLocaleString('zh-CN')}},
        series: keys.map((k, i) => ({name: d.names[i], type: 'bar', stack: 'pay', data: d.rows.map(r => r[k] ?? 0)})),
      });
      window.addEventListener('resize', () => chart.resize());
    }
    document.body.dataset.chartsReady = '1';
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw); else draw();
})();

// The scheme form (templates/pay_scheme_fields.html): add a component of the chosen kind or a row to a list from
// their <template>s (the placeholders __C__ / __R__ become the next number), remove one. Delegated, so that it
// keeps working after 预览 swaps the form.
(function () {
  function next(holder) {
    const n = Number(holder.dataset.next || 0);
    holder.dataset.next = n + 1;
    return String(n);
  }
  document.addEventListener('click', (e) => {
    const button = e.target.closest('button');
    if (!button || !button.closest('#pay-scheme-form')) return;
    if (button.id === 'add-component') {
      const kind = document.getElementById('add-kind').value;
      const holder = document.getElementById('components');
      const html = document.getElementById('blank-' + kind).innerHTML.replaceAll('__C__', next(holder));
      holder.insertAdjacentHTML('beforeend', html);
      const added = holder.lastElementChild;
      added.querySelector('input:not([type=hidden]), select').focus();
    } else if (button.hasAttribute('data-add-row')) {
      const rows = button.closest('fieldset.rows');
      const tpl = rows.querySelector(':scope > template');
      rows.querySelector(':scope > table > tbody').insertAdjacentHTML('beforeend', tpl.innerHTML.replaceAll('__R__', next(rows)));
    } else if (button.hasAttribute('data-remove')) {
      button.closest('[data-group]').remove();
    }
  });
})();
