-- wrk script: POST /api/v1/cases with a unique case per request (title and phone carry thread and count).
--   wrk -t2 -c8 -d20s --latency -s bench/wrk_intake.lua http://127.0.0.1:PORT -- TOKEN RUNID
-- Titles start "wrk RUNID-", so the cases a run logged can be counted in the database afterwards.
-- WRKJSON: "ok" = answers with a status below 400 (the acknowledged cases); errors = socket errors and timeouts.
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  token = args[1]
  run = args[2] or "norun"
  n = 0
end

local titles = {"小区门口路灯不亮", "道路破损影响通行", "垃圾清运不及时", "企业用工招聘需求", "噪音扰民请求处理", "物业纠纷请求调解"}

function request()
  n = n + 1
  local t = titles[(n % #titles) + 1]
  local body = string.format(
    '{"channel": "walk_in", "case_type": "help", "title": "wrk %s-%d-%d %s", ' ..
    '"description": "青桐路%d号附近，%s，已持续%d天，请尽快处理", "category": "010101", ' ..
    '"petitioner": {"name": "测试", "phone": "139%04d%04d"}}',
    run, tid, n, t, n % 200, t, n % 9 + 1, tid, n % 10000)
  return wrk.format("POST", "/api/v1/cases",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
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
