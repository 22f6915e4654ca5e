-- wrk script: GET one path with an Authorization header (a case list read alone, or while intake writes).
--   wrk -t1 -c2 -d20s --latency -s bench/wrk_get.lua http://127.0.0.1:PORT -- "Bearer TOKEN" "/api/v1/cases?limit=50"
function init(args)
  req = wrk.format("GET", args[2] or "/", {["Authorization"] = args[1]})
end

function request()
  return req
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %d, "ok": %d, "seconds": %.3f, "rps": %.1f, "errors": %d, "non2xx": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.requests - summary.errors.status, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
