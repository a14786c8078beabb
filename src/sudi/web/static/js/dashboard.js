/* The leader's dashboard and the wall screen: every panel fetches its JSON from /api/v1/analytics
   and refreshes every data-refresh seconds, without reloading the page. No inline script (CSP). */
(function () {
  'use strict';
  var API = '/api/v1/analytics/';
  var root, dark, period, grain = 'day', charts = {}, map = null, gridLayer = null, heat = null;

  function get(path) {
    return fetch(API + path, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }
  function q() { return 'period=' + encodeURIComponent(period); }
  function pct(v) { return v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%'; }
  function pick(obj, path) {
    return path.split('.').reduce(function (o, k) { return o === null || o === undefined ? undefined : o[k]; }, obj);
  }
  function field(name) { return root.querySelectorAll('[data-field="' + name + '"]'); }
  function setText(name, text) { field(name).forEach(function (el) { el.textContent = text; }); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function hhmm(iso) {
    var d = new Date(iso);
    return isNaN(d) ? '' : (d.getMonth() + 1) + '-' + d.getDate() + ' ' + String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }
  function chart(name) {
    if (!window.echarts) return null;
    if (!charts[name]) {
      var box = root.querySelector('[data-chart="' + name + '"]');
      if (!box) return null;
      charts[name] = echarts.init(box, dark ? 'dark' : null, { renderer: 'canvas' });
    }
    return charts[name];
  }
  var TEXT = function () { return dark ? '#d7e3f4' : '#333'; };

  // Tiles marked data-from="units" are filled by units(): the district's rates are the assessment's.
  function fill(selector, d) {
    root.querySelectorAll(selector).forEach(function (e) {
      var name = e.getAttribute('data-field');
      if (name === 'period_label') { e.textContent = d.period.label + '诉求'; return; }
      var v = pick(d, name);
      e.textContent = e.getAttribute('data-format') === 'pct' ? pct(v) : (v === undefined || v === null ? '–' : v.toLocaleString('zh-CN'));
    });
  }
  function summary() {
    return get('summary?' + q()).then(function (d) { fill('[data-panel="summary"] [data-field]:not([data-from])', d); });
  }
  function trend() {
    var p = grain === 'day' ? period : (period === '7d' || period === '30d' || period === 'month' ? '365d' : period);
    return get('trend?grain=' + grain + '&period=' + encodeURIComponent(p)).then(function (d) {
      var c = chart('trend'); if (!c) return;
      c.setOption({
        backgroundColor: 'transparent', tooltip: { trigger: 'axis' }, legend: { data: ['登记', '已办结', '超期'], textStyle: { color: TEXT() } },
        grid: { left: 48, right: 16, top: 36, bottom: 28 },
        xAxis: { type: 'category', data: d.labels }, yAxis: { type: 'value', minInterval: 1 },
        series: [{ name: '登记', type: 'line', smooth: true, areaStyle: { opacity: 0.15 }, data: d.received },
                 { name: '已办结', type: 'line', smooth: true, data: d.resolved },
                 { name: '超期', type: 'bar', data: d.overdue }]
      }, true);
    });
  }
  function pie(name, dimension) {
    return get('mix/' + dimension + '?' + q()).then(function (d) {
      var c = chart(name); if (!c) return;
      c.setOption({
        backgroundColor: 'transparent', tooltip: { trigger: 'item', formatter: '{b}：{c}（{d}%）' },
        series: [{ type: 'pie', radius: ['38%', '68%'], label: { color: TEXT(), formatter: '{b}\n{d}%' }, data: d.items }]
      }, true);
    });
  }
  // The assessment's own figures (same as /staff/assessment for the period), as of computed_at.
  function unitsShown(items) {
    var ranked = items.filter(function (i) { return i.ranked; });
    if (!ranked.length) return items.slice(0, 12);
    var shown = ranked.slice(0, 12);
    ranked.forEach(function (i) { if (i.black && shown.indexOf(i) < 0) shown.push(i); });  // the black list too
    return shown;
  }
  function unitName(i) {
    return (i.rank ? i.rank + '. ' : '') + i.unit + (i.red ? '（红榜）' : i.black ? '（黑榜）' : '');
  }
  function units() {
    // On a failure the district's rates are blanked: never the last period's beside this one's counts.
    var blank = function (e) { fill('[data-from="units"]', {}); throw e; };
    return get('units?' + q()).catch(blank).then(function (d) {
      var items = unitsShown(d.items), c = chart('units');
      var note = '考核口径 · ' + d.period.label + ' · 计算于 ' + hhmm(d.computed_at) +
        (d.stale ? '（其后有新的办理记录，定时重算）' : '');
      if (d.red_list.length) note += ' · 红榜：' + d.red_list.join('、');
      if (d.black_list.length) note += ' · 黑榜：' + d.black_list.join('、');
      setText('units_source', note);
      fill('[data-from="units"]', d);
      root.querySelectorAll('[data-link="units"]').forEach(function (a) { a.href = '/staff/assessment?' + d.period.query; });
      if (!c) return;
      var s = function (k) { return items.map(function (i) { return i[k] === null ? null : Math.round(i[k] * 1000) / 10; }); };
      var bar = function (name, k) { return { name: name, type: 'bar', data: s(k) }; };
      c.setOption({
        backgroundColor: 'transparent', tooltip: { trigger: 'axis', valueFormatter: function (v) { return v === null || v === undefined ? '–' : v; } },
        legend: { data: ['响应率', '按时办结率', '解决率', '满意率', '综合得分'], textStyle: { color: TEXT() } },
        grid: { left: 48, right: 16, top: 36, bottom: 72 },
        xAxis: { type: 'category', data: items.map(unitName), axisLabel: { interval: 0, rotate: 30,
          color: function (v) { return v.indexOf('（红榜）') >= 0 ? '#d9363e' : TEXT(); } } },
        yAxis: { type: 'value', min: 0, max: function (v) { return Math.max(100, Math.ceil(v.max)); } },
        series: [bar('响应率', 'response_rate'), bar('按时办结率', 'on_time_rate'), bar('解决率', 'solved_rate'),
                 bar('满意率', 'satisfaction_rate'),
                 { name: '综合得分', type: 'line', symbolSize: 7, data: items.map(function (i) { return i.composite; }) }]
      }, true);
    });
  }
  // Five classes cut at the period's quantiles (median, 75th, 90th, 97th percentile of the grids):
  // the map shows where a grid stands among the others even when all are busy.
  var CLASSES = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];
  function colour(n, quantiles) {
    if (!n) return dark ? '#1b2a40' : '#f2f2f2';
    var k = 0;
    while (k < quantiles.length && n > quantiles[k]) k++;
    return CLASSES[Math.min(k, CLASSES.length - 1)];
  }
  function paint() {
    if (!gridLayer || !heat) return;
    gridLayer.eachLayer(function (l) {
      var id = String(l.feature.properties.id), n = heat.grids[id] || 0;
      l.setStyle({ fillColor: colour(n, heat.quantiles || []), fillOpacity: 0.8, color: dark ? '#3d5a80' : '#888', weight: 0.6 });
      l.setTooltipContent(l.feature.properties.name + '：' + n + ' 件' + (heat.open[id] ? '（在办 ' + heat.open[id] + '）' : ''));
    });
  }
  function heatMap() {
    var box = document.getElementById('heat-map');
    if (!box || !window.L) return Promise.resolve();
    var ready = Promise.resolve();
    if (!map) {
      map = L.map(box, { attributionControl: false, scrollWheelZoom: false, zoomSnap: 0.25 });
      map.setView([34.77, 117.6], 10);
    }
    if (!gridLayer) {
      ready = fetch(box.getAttribute('data-geojson'), { credentials: 'same-origin' })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (g) {
          gridLayer = L.geoJSON(g, { onEachFeature: function (f, l) { l.bindTooltip(f.properties.name); } }).addTo(map);
          if (g.features.length) map.fitBounds(gridLayer.getBounds(), { padding: [6, 6] });
          setText('map_status', g.features.length + ' 个网格，按诉求量分五档：中位数以下、前50%、前25%、前10%、前3%（网格边界为示意）');
        });
    }
    return ready.then(function () { return get('grids?' + q()); }).then(function (d) { heat = d; paint(); });
  }
  function list(name, items, render) {
    var box = root.querySelector('[data-list="' + name + '"]');
    if (!box) return;
    box.replaceChildren.apply(box, items.length ? items.map(render) : [el('li', 'empty', '暂无')]);
  }
  function appealRow(a) {
    var li = el('li'), link = el('a', 'title', a.title);
    link.href = '/staff/appeals/' + encodeURIComponent(a.number);
    li.appendChild(link);
    li.appendChild(el('span', 'meta', (a.unit ? a.unit + ' · ' : '') + hhmm(a.received_at)));
    return li;
  }
  // A 主动治理 task past its deadline, listed above the appeals and marked as such.
  function taskRow(t) {
    var li = el('li', 'task'), link = el('a', 'title', t.title);
    link.href = t.link;
    li.appendChild(el('span', 'tag', '主动治理任务'));
    li.appendChild(link);
    li.appendChild(el('span', 'meta', (t.unit ? t.unit + ' · ' : '') + '超期 ' + t.days_overdue + ' 天'));
    return li;
  }
  function itemRow(i) { return i.kind === 'governance_task' ? taskRow(i) : appealRow(i); }
  function items(which) {
    return get('items/' + which + '?limit=10').then(function (d) {
      setText(which + '_total', d.appeals_total.toLocaleString('zh-CN') + (d.tasks_total ? ' + 治理任务 ' + d.tasks_total : ''));
      list(which, d.tasks.concat(d.items), itemRow);
    });
  }
  function lists() {
    return Promise.all([
      get('live?limit=10').then(function (d) { list('live', d.items, appealRow); }),
      items('overdue'),
      items('supervised'),
      get('hotspots?top=10').then(function (d) {
        setText('hotspots_title', d.board ? '热点问题' : '热点（近7天增长最快的网格 × 分类）');
        if (d.board) {
          list('hotspots', d.board, function (h) {
            var li = el('li'), a = el('a', 'title', h.title);
            a.href = '/staff/hotspots/' + h.id; li.appendChild(a);
            li.appendChild(el('span', 'meta', (h.place ? h.place + ' · ' : '') + h.size + ' 件 · 热度 ' + h.heat));
            return li;
          });
          return;
        }
        list('hotspots', d.items, function (i) {
          var li = el('li');
          li.appendChild(el('span', 'title', i.grid + ' · ' + i.category));
          li.appendChild(el('span', 'meta', '近7天 ' + i.recent + ' 件，此前周均 ' + i.weekly_before));
          return li;
        });
      }),
      get('warnings?state=open&limit=8').then(function (d) {
        list('warnings', d.items, function (w) {
          var li = el('li', w.severity === 'high' ? 'high' : ''), a = el('a', 'title', w.title);
          a.href = '/staff/warnings/' + w.id; li.appendChild(a);
          li.appendChild(el('span', 'meta', w.kind_label + ' · ' + w.state_label));
          return li;
        });
      }).catch(function () { list('warnings', [], null); })
    ]);
  }
  function refresh() {
    var jobs = [summary(), trend(), pie('category', 'category'), pie('channel', 'channel'), units(), heatMap(), lists()];
    return Promise.all(jobs.map(function (p) { return p.catch(function () { return null; }); })).then(function () {
      var now = new Date();
      setText('updated', '更新于 ' + String(now.getHours()).padStart(2, '0') + ':' + String(now.getMinutes()).padStart(2, '0') + ':' + String(now.getSeconds()).padStart(2, '0'));
    });
  }
  function tick() {
    var n = new Date();
    setText('clock', n.getFullYear() + '-' + String(n.getMonth() + 1).padStart(2, '0') + '-' + String(n.getDate()).padStart(2, '0') + ' ' + n.toLocaleTimeString('zh-CN', { hour12: false }));
  }
  function init() {
    root = document.getElementById('dashboard');
    if (!root) return;
    dark = root.getAttribute('data-theme') === 'dark';
    period = root.getAttribute('data-period') || '30d';
    var seconds = Math.max(5, parseInt(root.getAttribute('data-refresh'), 10) || 30);  // the admin's setting
    var select = root.querySelector('[data-period-select]');
    if (select) select.addEventListener('change', function () {
      period = select.value;
      history.replaceState(null, '', '?period=' + encodeURIComponent(period));
      refresh();
    });
    root.querySelectorAll('[data-grain]').forEach(function (b) {
      b.addEventListener('click', function () {
        grain = b.getAttribute('data-grain');
        root.querySelectorAll('[data-grain]').forEach(function (o) { o.setAttribute('aria-pressed', String(o === b)); });
        trend();
      });
    });
    window.addEventListener('resize', function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
    if (dark) { tick(); setInterval(tick, 1000); }
    refresh();
    setInterval(function () { if (!document.hidden) refresh(); }, seconds * 1000);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
