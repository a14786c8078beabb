/* The assessment page's bar chart: composite score per unit, red-list bars in red, black-list bars in black. */
(function () {
  'use strict';

  function init() {
    var el = document.getElementById('assessment-chart');
    var source = document.getElementById('assessment-chart-data');
    if (!el || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent || '{}');
    if (!data.units || !data.units.length) { el.textContent = '本周期没有可排名的单位。'; return; }
    var chart = window.echarts.init(el, null, { renderer: 'svg' });
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 16, top: 24, bottom: 96 },
      tooltip: { trigger: 'axis', valueFormatter: function (v) { return v == null ? '—' : v.toFixed(2) + ' 分'; } },
      xAxis: { type: 'category', data: data.units, axisLabel: { rotate: 40, interval: 0 } },
      yAxis: { type: 'value', name: '综合得分', min: function (v) { return Math.max(0, Math.floor(v.min - 5)); } },
      series: [{
        type: 'bar', name: '综合得分',
        data: data.composite.map(function (v, i) {
          var color = data.red[i] ? '#a61b29' : data.black[i] ? '#222222' : data.ranked[i] ? '#5b8db8' : '#b8c4cf';
          return { value: v, itemStyle: { color: color } };
        }),
        label: { show: data.units.length <= 20, position: 'top', formatter: function (p) { return p.value.toFixed(1); } }
      }]
    });
    window.addEventListener('resize', function () { chart.resize(); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
