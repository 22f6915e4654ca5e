-- wrk script: GET one page (or API route) again and again with one header that signs the request in.
--   wrk -t1 -c1 -d10s --latency -s bench/wrk_page.lua http://127.0.0.1:PORT -- PATH HEADER VALUE
-- PATH is already URL-encoded ("/cases?q=%E8%B7%AF%E7%81%AF"); HEADER is "Cookie" (a browser session,
-- VALUE "gv_session=...") or "Authorization" (VALUE "Bearer ..."). Prints one WRKJSON line for bench/pages.py.
function init(args)
  path = args[1] or "/"
  headers = {}
  if args[2] then
    headers[args[2]] = args[3]
  end
end

function request()
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %d, "seconds": %.3f, "rps": %.1f, "errors": %d, "non2xx": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
