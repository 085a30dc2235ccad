// The operator console's page: plain HTML, a little CSS (a responsive grid: one column on a phone,
// several at 1280 px) and a little JS that polls GET /v1/console every second and writes each
// number into an element of a stable id (devices-accelerometer, funnel-trusted-customer, ...), its
// raw value in data-value. Time series are inline SVG sparklines drawn here: no CDN, no build step.
// A credential given as ?token= is sent on as a bearer header.
export const CONSOLE_POLL_MS = 1000

export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>STEDI operator console</title>
<style>
  :root { --bg: #f5f6f8; --card: #fff; --ink: #1d2430; --muted: #667085; --line: #d0d5dd; --accent: #2e6be6; --warn: #b54708; --bad: #b42318; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
  header { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline; padding: 12px 16px; background: var(--ink); color: #fff; }
  header h1 { font-size: 18px; margin: 0; }
  header .meta { color: #c9d1de; font-size: 12px; }
  #status.bad { color: #fda29b; }
  main { display: grid; gap: 12px; padding: 12px; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 8px; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 3px 6px; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  th { color: var(--muted); font-weight: 500; font-size: 12px; }
  .scroll { overflow-x: auto; }
  .big { font-size: 28px; font-weight: 600; font-variant-numeric: tabular-nums; }
  .row { display: flex; justify-content: space-between; gap: 8px; padding: 2px 0; font-variant-numeric: tabular-nums; }
  .row span:first-child { color: var(--muted); }
  .spark { display: grid; grid-template-columns: 110px 1fr 70px; align-items: center; gap: 8px; margin: 4px 0; }
  .spark svg { width: 100%; height: 36px; background: #f8f9fb; border-radius: 4px; }
  .spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
  .muted { color: var(--muted); font-size: 12px; }
  .reasons { color: var(--warn); font-size: 12px; white-space: normal; text-align: left; }
  .failed { color: var(--bad); }
  .empty { color: var(--muted); font-style: italic; }
  @media (max-width: 480px) { main { padding: 8px; gap: 8px; } .spark { grid-template-columns: 90px 1fr 56px; } .big { font-size: 24px; } }
</style>
</head>
<body>
<header>
  <h1>STEDI operator console</h1>
  <span class="meta">updated <span id="updated-at">-</span> · up <span id="uptime-seconds" data-value="">-</span> s</span>
  <span class="meta" id="status">connecting...</span>
</header>
<main>
  <section>
    <h2>Connected devices</h2>
    <div class="big" id="devices-total" data-value="">-</div>
    <div class="row"><span>step trainers</span><span id="devices-step-trainer" data-value="">-</span></div>
    <div class="row"><span>phones (accelerometer)</span><span id="devices-accelerometer" data-value="">-</span></div>
    <div class="row"><span>services</span><span id="devices-service" data-value="">-</span></div>
  </section>
  <section>
    <h2>Acknowledgement latency</h2>
    <div class="row"><span>p50</span><span><span id="ack-p50" data-value="">-</span> ms</span></div>
    <div class="row"><span>p99</span><span><span id="ack-p99" data-value="">-</span> ms</span></div>
    <div class="row"><span>messages acknowledged</span><span id="ack-count" data-value="">-</span></div>
    <div class="muted">since the gateway started, from the stedi_ack_latency_seconds buckets</div>
  </section>
  <section>
    <h2>Freshness</h2>
    <div class="row"><span>since the last landed batch</span><span id="fresh-landed" data-value="">-</span></div>
    <div class="row"><span>since the last promotion</span><span id="fresh-promoted" data-value="">-</span></div>
  </section>
  <section class="wide">
    <h2>Readings accepted per second, last 15 minutes</h2>
    <div id="rates"></div>
  </section>
  <section>
    <h2>Outbox and landing</h2>
    <div class="scroll"><table>
      <thead><tr><th>dataset</th><th>outbox</th><th>files</th><th>landed</th></tr></thead>
      <tbody id="landing-rows"></tbody>
    </table></div>
  </section>
  <section>
    <h2>Refusals (unacknowledged)</h2>
    <div class="row"><span>total</span><span id="refusals-total" data-value="">-</span></div>
    <div id="refusals-reasons"></div>
    <h2 style="margin-top:10px">Rejected as invalid</h2>
    <div class="row"><span>total</span><span id="rejected-total" data-value="">-</span></div>
    <div id="rejected-reasons"></div>
  </section>
  <section>
    <h2>Failed logins</h2>
    <div class="row"><span>total</span><span id="auth-failures-total" data-value="">-</span></div>
    <div id="auth-failures-reasons"></div>
  </section>
  <section class="wide" id="pipeline" hidden>
    <h2>Zone funnel: landing → trusted → curated</h2>
    <div class="scroll"><table>
      <thead><tr><th>dataset</th><th>landing</th><th>filtered out</th><th>trusted</th><th>curated</th><th>quarantined lines</th></tr></thead>
      <tbody id="funnel-rows"></tbody>
    </table></div>
    <div class="row"><span>machine-learning rows (curated)</span><span id="funnel-curated-machine_learning" data-value="">-</span></div>
    <div class="row"><span>warning: rows pairing a trainer with another customer's phone</span><span id="warning-cross-customer-pairs" data-value="">-</span></div>
    <div class="muted" id="funnel-note"></div>
  </section>
  <section class="wide" id="pipeline-runs" hidden>
    <h2>Recent pipeline runs</h2>
    <div class="scroll"><table>
      <thead><tr><th>run</th><th>status</th><th>started</th><th>duration</th><th>new files</th></tr></thead>
      <tbody id="runs"></tbody>
    </table></div>
  </section>
</main>
<script>
(function () {
  'use strict'
  var DATASETS = ['customer', 'accelerometer', 'step_trainer']
  var token = new URLSearchParams(location.search).get('token')
  var headers = token ? { authorization: 'Bearer ' + token } : {}
  var SVG = 'http://www.w3.org/2000/svg'
  function $ (id) { return document.getElementById(id) }
  function fmt (v) { return v === null || v === undefined ? '-' : (typeof v === 'number' ? v.toLocaleString('en-US') : String(v)) }
  function safe (s) { return String(s).toLowerCase().replace(/[^a-z0-9_-]/g, '_') }
  function set (id, v) {
    var el = $(id)
    if (el === null) return
    var raw = v === null || v === undefined ? '' : String(v)
    if (el.getAttribute('data-value') !== raw) { el.setAttribute('data-value', raw); el.textContent = fmt(v) }
  }
  function ago (s) { return s === null || s === undefined ? 'never' : s < 120 ? s + ' s' : s < 7200 ? Math.round(s / 60) + ' min' : Math.round(s / 3600) + ' h' }
  function cell (tr, id, v, cls) {
    var td = document.createElement('td')
    if (cls) td.className = cls
    if (id) { td.id = id; td.setAttribute('data-value', v === null || v === undefined ? '' : String(v)) }
    td.textContent = fmt(v)
    tr.appendChild(td)
    return td
  }
  function reasons (containerId, prefix, byReason) {
    var box = $(containerId)
    box.textContent = ''
    var keys = Object.keys(byReason).sort()
    if (keys.length === 0) { var e = document.createElement('div'); e.className = 'empty'; e.textContent = 'none'; box.appendChild(e); return }
    keys.forEach(function (k) {
      var row = document.createElement('div'); row.className = 'row'
      var a = document.createElement('span'); a.textContent = k
      var b = document.createElement('span'); b.id = prefix + '-' + safe(k); b.setAttribute('data-value', String(byReason[k])); b.textContent = fmt(byReason[k])
      row.appendChild(a); row.appendChild(b); box.appendChild(row)
    })
  }
  function rates (r) {
    var box = $('rates')
    DATASETS.forEach(function (d) {
      var line = $('spark-row-' + d)
      if (line === null) {
        line = document.createElement('div'); line.className = 'spark'; line.id = 'spark-row-' + d
        var name = document.createElement('span'); name.textContent = d.replace('_', ' ')
        var svg = document.createElementNS(SVG, 'svg'); svg.id = 'spark-' + d; svg.setAttribute('preserveAspectRatio', 'none')
        svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', d + ' readings per second')
        svg.appendChild(document.createElementNS(SVG, 'polyline'))
        var value = document.createElement('span'); value.style.textAlign = 'right'
        var n = document.createElement('span'); n.id = 'rate-' + d; n.setAttribute('data-value', '')
        value.appendChild(n); value.appendChild(document.createTextNode('/s'))
        line.appendChild(name); line.appendChild(svg); line.appendChild(value); box.appendChild(line)
      }
      var series = r.history.series[d]
      var max = Math.max(1, Math.max.apply(null, series))
      var svgEl = $('spark-' + d)
      svgEl.setAttribute('viewBox', '0 0 ' + (series.length - 1) + ' 100')
      svgEl.setAttribute('data-max', String(max))
      var pts = new Array(series.length)
      for (var i = 0; i < series.length; i++) pts[i] = i + ',' + (100 - 96 * series[i] / max).toFixed(1)
      svgEl.firstChild.setAttribute('points', pts.join(' '))
      set('rate-' + d, r.perSecond[d])
    })
    var total = document.getElementById('rates-accepted')
    if (total === null) {
      total = document.createElement('div'); total.id = 'rates-accepted'; total.className = 'muted'
      box.appendChild(total)
    }
    total.textContent = ''
    total.appendChild(document.createTextNode('accepted since start: '))
    DATASETS.forEach(function (d, i) {
      if (i > 0) total.appendChild(document.createTextNode(' · '))
      total.appendChild(document.createTextNode(d.replace('_', ' ') + ' '))
      var s = document.createElement('span'); s.id = 'accepted-' + d; s.setAttribute('data-value', String(r.accepted[d])); s.textContent = fmt(r.accepted[d])
      total.appendChild(s)
    })
  }
  function landing (v) {
    var body = $('landing-rows'); body.textContent = ''
    DATASETS.forEach(function (d) {
      var tr = document.createElement('tr')
      cell(tr, null, d.replace('_', ' '))
      cell(tr, 'outbox-' + d, v.outbox.depth[d])
      cell(tr, 'flushes-' + d, v.landing.flushes[d])
      cell(tr, 'landed-' + d, v.landing.records[d])
      body.appendChild(tr)
    })
  }
  function pipeline (p) {
    $('pipeline').hidden = p === null
    $('pipeline-runs').hidden = p === null
    if (p === null) return
    var f = p.funnel
    var body = $('funnel-rows'); body.textContent = ''
    DATASETS.forEach(function (d) {
      var tr = document.createElement('tr')
      cell(tr, null, d.replace('_', ' '))
      cell(tr, 'funnel-landing-' + d, f ? f.landing[d] : null)
      var why = f ? f.filtered[d] || {} : {}
      var td = document.createElement('td'); td.className = 'reasons'
      var keys = Object.keys(why).filter(function (k) { return why[k] > 0 }).sort()
      if (keys.length === 0) td.textContent = f ? 'none' : '-'
      keys.forEach(function (k, i) {
        if (i > 0) td.appendChild(document.createElement('br'))
        td.appendChild(document.createTextNode(k + ' '))
        var s = document.createElement('span'); s.id = 'funnel-filtered-' + d + '-' + safe(k); s.setAttribute('data-value', String(why[k])); s.textContent = fmt(why[k])
        td.appendChild(s)
      })
      tr.appendChild(td)
      cell(tr, 'funnel-trusted-' + d, f ? f.trusted[d] : null)
      cell(tr, d === 'customer' ? 'funnel-curated-customer' : null, d === 'customer' ? (f ? f.curated.customer : null) : null)
      cell(tr, 'funnel-quarantined-' + d, f ? f.quarantined[d] : null)
      body.appendChild(tr)
    })
    set('funnel-curated-machine_learning', f ? f.curated.machine_learning : null)
    set('warning-cross-customer-pairs', p.warnings.crossCustomerPairs)
    $('funnel-note').textContent = p.problem ? p.problem : (f && f.accountingRun !== null ? 'filtered-out reasons from the accounting of run ' + f.accountingRun : '')
    var runs = $('runs'); runs.textContent = ''
    if (p.runs.length === 0) { var tr0 = document.createElement('tr'); var td0 = document.createElement('td'); td0.colSpan = 5; td0.className = 'empty'; td0.textContent = 'no run yet'; tr0.appendChild(td0); runs.appendChild(tr0) }
    p.runs.forEach(function (r) {
      var tr = document.createElement('tr'); tr.id = 'run-' + r.id
      cell(tr, null, r.id)
      var st = cell(tr, 'run-' + r.id + '-status', r.status, r.status === 'failed' ? 'failed' : '')
      if (r.error) st.title = r.error
      cell(tr, null, r.startedAt.replace('T', ' ').replace(/\\.\\d+Z$/, 'Z'))
      var du = cell(tr, 'run-' + r.id + '-duration-ms', r.durationMs)
      du.textContent = r.durationMs === null ? '-' : (r.durationMs / 1000).toFixed(1) + ' s'
      cell(tr, 'run-' + r.id + '-new-files', r.newFiles)
      runs.appendChild(tr)
    })
  }
  function render (v) {
    $('updated-at').textContent = v.generatedAt.replace('T', ' ').replace(/\\.\\d+Z$/, 'Z')
    $('updated-at').setAttribute('data-value', v.generatedAt)
    set('uptime-seconds', v.uptimeSeconds)
    set('devices-total', v.devices.total)
    ;['step-trainer', 'accelerometer', 'service'].forEach(function (k) { set('devices-' + k, v.devices.byKind[k] || 0) })
    set('ack-p50', v.ackLatencyMs.p50); set('ack-p99', v.ackLatencyMs.p99); set('ack-count', v.ackLatencyMs.count)
    set('fresh-landed', v.freshness.secondsSinceLanded); $('fresh-landed').textContent = ago(v.freshness.secondsSinceLanded)
    set('fresh-promoted', v.freshness.secondsSincePromotion)
    $('fresh-promoted').textContent = v.pipeline === null ? 'no lakehouse (gateway only)' : ago(v.freshness.secondsSincePromotion)
    rates(v.readings)
    landing(v)
    set('refusals-total', v.refusals.total); reasons('refusals-reasons', 'refusals', v.refusals.byReason)
    set('rejected-total', v.rejected.total); reasons('rejected-reasons', 'rejected', v.rejected.byReason)
    set('auth-failures-total', v.authFailures.total); reasons('auth-failures-reasons', 'auth-failures', v.authFailures.byReason)
    pipeline(v.pipeline)
    document.body.setAttribute('data-generated-at', v.generatedAt)
  }
  function poll () {
    fetch('/v1/console', { headers: headers, cache: 'no-store' })
      .then(function (res) { if (!res.ok) throw new Error('HTTP ' + res.status); return res.json() })
      .then(function (v) { render(v); $('status').textContent = 'live'; $('status').className = '' })
      .catch(function (err) { $('status').textContent = 'not updating: ' + err.message; $('status').className = 'bad' })
      .then(function () { setTimeout(poll, ${CONSOLE_POLL_MS}) })
  }
  poll()
})()
</script>
</body>
</html>
`
