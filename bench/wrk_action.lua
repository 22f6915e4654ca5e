-- wrk script: fire one workflow action on a list of distinct cases, one request per case, then stop.
--   wrk -t2 -c8 -d10s --latency -s bench/wrk_action.lua http://127.0.0.1:PORT -- TOKEN ACTION FILE THREADS
-- FILE has one line per case, "CASE_NO<TAB>JSON body" (bench/http.py writes it with each case's current version).
-- Thread k (0-based) of THREADS takes lines k+1, k+1+THREADS, ...; a thread whose cases are used up stops, so
-- wrk's duration is the time the cases lasted when that is shorter than -d. (wrk calls request() once before
-- the run to check the script: thread 0's first case is never sent.)
local next_id = 0
local threads = {}
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local token, action, file, threads = args[1], args[2], args[3], tonumber(args[4] or "1")
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % threads == tid then
      local case_no, body = line:match("^([^\t]+)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", "/api/v1/cases/" .. case_no .. "/actions/" .. action, headers, body)
    end
    i = i + 1
  end
  n = 0
  bad = {}  -- status code -> count, for the answers of 400 and above
  -- Sent only as the thread stops (its answer is never counted): a request that touches no database.
  spare = wrk.format("GET", "/livez")
end

function request()
  n = n + 1
  if n > #reqs then
    wrk.thread:stop()
    return spare
  end
  return reqs[n]
end

function response(status, headers, body)
  if status >= 400 then
    bad[status] = (bad[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local parts = {}
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("bad") or {}) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  io.write(string.format(
    'WRKJSON {"statuses": {%s}, "requests": %d, "ok": %d, "seconds": %.3f, "rps": %.1f, "errors": %d, "non2xx": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    table.concat(parts, ", "), summary.requests, summary.requests - summary.errors.status, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
