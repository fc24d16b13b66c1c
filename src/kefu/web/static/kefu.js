// Charts of kefu's pages (Apache ECharts, served locally). Data comes from <script type="application/json"> blocks.
(function () {
  const json = (id) => JSON.parse(document.getElementById(id).textContent);
  const yuan = (v) => v == null ? '—' : '¥' + Number(v).toLocaleString('zh-CN', {maximumFractionDigits: 0});
  const render = {
    'sales-trend'(el) {
      const rows = json('sales-trend-data'), L = JSON.parse(el.dataset.labels);
      return {
        tooltip: {trigger: 'axis'}, legend: {data: [L.sales, L.silent, L.consult]}, grid: {left: 60, right: 50, top: 40, bottom: 30},
        xAxis: {type: 'category', data: rows.map(r => r.day.slice(5))},
        yAxis: [{type: 'value', axisLabel: {formatter: yuan}}, {type: 'value', splitLine: {show: false}}],
        series: [
          {name: L.sales, type: 'bar', stack: 's', data: rows.map(r => r.sales_amount), itemStyle: {color: '#1f6feb'}},
          {name: L.silent, type: 'bar', stack: 's', data: rows.map(r => r.silent_sales), itemStyle: {color: '#c4b5fd'}},
          {name: L.consult, type: 'line', yAxisIndex: 1, smooth: true, data: rows.map(r => r.consult_buyers), itemStyle: {color: '#e0892d'}},
        ],
      };
    },
    'agent-trend'(el) {
      const days = json('agent-trend-data'), values = json('agent-trend-values'), unit = el.dataset.unit;
      const f = unit === 'ratio' ? (v) => (v * 100).toFixed(0) + '%' : unit === 'yuan' ? yuan : (v) => v;
      return {
        tooltip: {trigger: 'axis', valueFormatter: (v) => v == null ? '—' : f(v)}, grid: {left: 60, right: 20, top: 20, bottom: 30},
        xAxis: {type: 'category', data: days.map(d => d.slice(5))}, yAxis: {type: 'value', axisLabel: {formatter: f}},
        series: [{name: el.dataset.label, type: 'line', smooth: true, areaStyle: {opacity: .12}, data: values, itemStyle: {color: '#1f6feb'}}],
      };
    },
    heatmap(el) {
      const data = json('heatmap-data'), field = el.dataset.field;
      const cells = data.cells.map(c => [c.hour, data.days.indexOf(c.day), c[field]]);
      const vals = cells.map(c => c[2]).filter(v => v != null);
      return {
        tooltip: {formatter: (p) => `${data.days[p.value[1]]} ${p.value[0]}:00<br>${el.dataset.label}: ${p.value[2] == null ? '—' : Math.round(p.value[2] * 10) / 10}`},
        grid: {left: 90, right: 20, top: 10, bottom: 90},
        xAxis: {type: 'category', data: [...Array(24).keys()].map(h => h + ':00'), splitArea: {show: true}},
        yAxis: {type: 'category', data: data.days, inverse: true},
        visualMap: {min: 0, max: Math.max(1, ...vals), calculable: true, orient: 'horizontal', left: 'center', bottom: 0,
          inRange: {color: el.dataset.palette === 'bad' ? ['#e6f4ea', '#fde68a', '#cf222e'] : ['#f0f6ff', '#1f6feb']}},
        series: [{type: 'heatmap', data: cells, label: {show: false}}],
      };
    },
  };
  function draw() {
    document.querySelectorAll('[data-chart]').forEach((el) => {
      const chart = echarts.init(el, null, {renderer: 'svg'});
      chart.setOption(Object.assign({animation: false}, render[el.dataset.chart](el)));
      window.addEventListener('resize', () => chart.resize());
    });
    document.body.dataset.chartsReady = '1';
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw); else draw();
})();
