-- wrk script (issue 12, "a wrk run from outside"): POSTs the same batch of statements (no ids,
-- so every request stores new ones) with Basic auth, and counts the answers by status.
-- Environment: WRK_BODY (file with the JSON array), WRK_AUTH (base64 of key:secret),
-- WRK_BATCH (statements per request, for the statements/s line).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(os.getenv("WRK_BODY"), "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Experience-API-Version"] = "2.0.0"
  wrk.headers["Authorization"] = "Basic " .. os.getenv("WRK_AUTH")
  ok, busy, other = 0, 0, 0
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 503 then
    busy = busy + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_busy, total_other = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_busy = total_busy + thread:get("busy")
    total_other = total_other + thread:get("other")
  end
  local seconds = summary.duration / 1e6
  local batch = tonumber(os.getenv("WRK_BATCH") or "100")
  io.write(string.format("wrk: %d answered 200, %d answered 503, %d other; %.0f statements/s acknowledged\n",
    total_ok, total_busy, total_other, total_ok * batch / seconds))
  io.write(string.format("wrk: latency p50 %.1f ms, p99 %.1f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
