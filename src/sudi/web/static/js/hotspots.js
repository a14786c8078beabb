/* The hotspot board and detail page: member points over the district outline (Leaflet, no tiles) and
   appeals per day (ECharts). Data comes from JSON blocks in the page; the page works without it. */
(function () {
  'use strict';

  var COLOURS = ['#a61b29', '#d9822b', '#2b7bb9', '#3a9a5b', '#7b4fa0', '#b5485d', '#5c6f7b', '#8a6d3b', '#1b7f86', '#444'];

  function json(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent || 'null'); } catch (e) { return null; }
  }

  function drawMap() {
    var el = document.getElementById('hotspot-map');
    var points = json('hotspot-points') || [];
    if (!el || !window.L) return;
    var map = L.map(el, { attributionControl: false, scrollWheelZoom: false, zoomSnap: 0.25 });
    map.setView([34.77, 117.6], 10);
    var markers = L.featureGroup(points.map(function (p) {
      var colour = COLOURS[(p.rank - 1) % COLOURS.length] || '#a61b29';
      return L.circleMarker([p.lat, p.lon], { radius: 6, color: colour, fillColor: colour, fillOpacity: 0.7, weight: 1 })
        .bindTooltip((p.rank ? '第 ' + p.rank + ' 名 · ' : '') + p.number);
    })).addTo(map);
    fetch(el.getAttribute('data-geojson'), { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var outline = L.geoJSON(data, {
          style: function (f) {
            if (f.properties.level === 'district') return { color: '#7d1420', weight: 3, fill: false, interactive: false };
            return { color: '#a61b29', weight: 1, opacity: 0.6, fillColor: '#f6d6d9', fillOpacity: 0.25, interactive: false };
          }
        }).addTo(map);
        markers.bringToFront();
        var bounds = points.length ? markers.getBounds() : outline.getBounds();
        if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 15 });
      })
      .catch(function () { if (points.length) map.fitBounds(markers.getBounds(), { padding: [12, 12], maxZoom: 15 }); });
  }

  function drawTimeline() {
    var el = document.getElementById('hotspot-timeline');
    var data = json('hotspot-timeline-data');
    if (!el || !data || !window.echarts) return;
    var series = (data.series || []).filter(function (s) { return s.data && s.data.length; });
    if (!series.length) { el.textContent = '暂无数据。'; return; }
    var chart = window.echarts.init(el, null, { renderer: 'svg' });
    chart.setOption({
      animation: false,
      color: COLOURS,
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', top: 0 },
      grid: { left: 40, right: 16, top: 40, bottom: 56 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', name: '件', minInterval: 1 },
      dataZoom: [{ type: 'slider', height: 18, bottom: 8 }],
      series: series.map(function (s) { return { name: s.name, type: 'bar', stack: 'all', data: s.data }; })
    });
    window.addEventListener('resize', function () { chart.resize(); });
  }

  function init() { drawMap(); drawTimeline(); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
