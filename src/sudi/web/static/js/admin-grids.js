/* The admin grid map: every grid from data-geojson drawn on an empty map (no tiles), a label per grid. */
(function () {
  'use strict';
  var PALETTE = ['#f6d5d8', '#d9e8f5', '#dff0e3', '#fbeccc', '#e7defa', '#d8f1f0'];

  function init() {
    var el = document.getElementById('grid-map');
    if (!el || !window.L) return;
    var status = document.getElementById('grid-map-status');
    var map = L.map(el, { attributionControl: false, scrollWheelZoom: false, zoomSnap: 0.25, keyboard: true });
    map.setView([35, 105], 4);
    fetch(el.getAttribute('data-geojson'), { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var features = data.features || [];
        if (!features.length) { status.textContent = '还没有网格。'; return; }
        var n = 0;
        var layer = L.geoJSON(data, {
          style: function () {
            return { color: '#a61b29', weight: 1, opacity: 0.8, fillColor: PALETTE[n++ % PALETTE.length], fillOpacity: 0.6 };
          },
          onEachFeature: function (f, l) {
            l.bindTooltip(f.properties.code + ' ' + f.properties.name + (f.properties.town ? '（' + f.properties.town + '）' : ''));
          }
        }).addTo(map);
        map.fitBounds(layer.getBounds(), { padding: [8, 8] });
        status.textContent = '地图显示 ' + features.length + ' 个网格，鼠标移到网格上可查看名称。';
      })
      .catch(function () { status.textContent = '地图暂时无法显示。'; });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
