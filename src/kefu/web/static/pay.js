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
