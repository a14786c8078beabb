/* The submit form's map: the district drawn from its own GeoJSON (no tiles, no network beyond
   this site), a point picked by click or by the browser's location, and the similar-appeals panel. */
(function () {
  'use strict';

  var PALETTE = ['#f6d6d9', '#f9e4c8', '#dcefd8', '#d6e6f5', '#e8dcf2', '#f5e9b8', '#d9efee', '#f2d9e6'];

  function ringContains(ring, x, y) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  function polygonContains(rings, x, y) {
    if (!ringContains(rings[0], x, y)) return false;
    for (var k = 1; k < rings.length; k++) if (ringContains(rings[k], x, y)) return false;
    return true;
  }

  function featureContains(feature, lat, lon) {
    var g = feature.geometry;
    if (!g) return false;
    if (g.type === 'Polygon') return polygonContains(g.coordinates, lon, lat);
    if (g.type === 'MultiPolygon') return g.coordinates.some(function (p) { return polygonContains(p, lon, lat); });
    return false;
  }

  function init() {
    var el = document.getElementById('map');
    if (!el || !window.L) return;
    var latInput = document.getElementById('f-lat');
    var lonInput = document.getElementById('f-lon');
    var output = document.getElementById('location-output');
    var useButton = document.getElementById('use-location');
    var clearButton = document.getElementById('clear-location');
    var towns = [];
    var marker = null;

    var map = L.map(el, { attributionControl: false, scrollWheelZoom: false, zoomSnap: 0.25, keyboard: true });
    map.setView([35, 105], 4);  // China, until the district's outline arrives

    function say(text) { output.textContent = text; }

    function townAt(lat, lon) {
      for (var i = 0; i < towns.length; i++) if (featureContains(towns[i], lat, lon)) return towns[i].properties.name;
      return null;
    }

    function setPoint(lat, lon, how) {
      var town = towns.length ? townAt(lat, lon) : '';
      if (town === null) {
        say('该位置不在本区范围内，请在本区范围内选择，或只填写地址。');
        return false;
      }
      latInput.value = lat.toFixed(6);
      lonInput.value = lon.toFixed(6);
      if (marker) marker.setLatLng([lat, lon]); else marker = L.marker([lat, lon], { keyboard: false }).addTo(map);
      say('已选位置' + (how ? '（' + how + '）' : '') + '：' + (town ? town + '，' : '') +
          '北纬 ' + lat.toFixed(5) + '，东经 ' + lon.toFixed(5));
      clearButton.hidden = false;
      document.body.dispatchEvent(new CustomEvent('sudi:point'));
      return true;
    }

    fetch(el.getAttribute('data-geojson'), { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var features = data.features || [];
        towns = features.filter(function (f) { return f.properties.level === 'town'; });
        if (!features.length) return;
        var n = 0;
        var layer = L.geoJSON(data, {
          style: function (f) {
            if (f.properties.level === 'district') return { color: '#7d1420', weight: 3, fill: false, interactive: false };
            return { color: '#a61b29', weight: 1, opacity: 0.7, fillColor: PALETTE[n++ % PALETTE.length], fillOpacity: 0.55 };
          },
          onEachFeature: function (f, l) {
            if (f.properties.level === 'town') {
              l.bindTooltip(f.properties.name, { permanent: true, direction: 'center', className: 'town-label' });
            }
          }
        }).addTo(map);
        map.fitBounds(layer.getBounds(), { padding: [8, 8] });
        if (latInput.value && lonInput.value) setPoint(parseFloat(latInput.value), parseFloat(lonInput.value));
      })
      .catch(function () { say('地图暂时无法显示，请直接填写地址。'); });

    map.on('click', function (e) { setPoint(e.latlng.lat, e.latlng.lng, '地图选点'); });

    clearButton.addEventListener('click', function () {
      latInput.value = ''; lonInput.value = '';
      if (marker) { map.removeLayer(marker); marker = null; }
      clearButton.hidden = true;
      say('尚未选择位置');
    });

    if (navigator.geolocation && window.isSecureContext) {
      useButton.hidden = false;
      useButton.addEventListener('click', function () {
        say('正在获取您的位置…');
        navigator.geolocation.getCurrentPosition(function (pos) {
          var lat = pos.coords.latitude, lon = pos.coords.longitude;
          if (setPoint(lat, lon, '我的位置')) map.setView([lat, lon], Math.max(map.getZoom(), 13));
        }, function (err) {
          say(err.code === 1 ? '您未允许获取位置，请在地图上点选。' : '无法获取您的位置，请在地图上点选。');
        }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
      });
    }
  }

  // The similar-appeals panel needs only the start of a long text.
  document.addEventListener('htmx:configRequest', function (e) {
    if (e.detail.path !== '/submit/similar') return;
    var p = e.detail.parameters;
    var content = String((p.get ? p.get('content') : p.content) || '').slice(0, 300);
    if (p.set) p.set('content', content); else p.content = content;
  });

  if (document.readyState !== 'loading') init(); else document.addEventListener('DOMContentLoaded', init);
})();
