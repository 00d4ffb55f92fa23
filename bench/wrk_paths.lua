-- wrk script for bench/serve_bench.sh: `wrk ... URL -- LIST` requests the paths in the file LIST
-- (one a line) in turn, each thread from its own starting point, and prints one JSON line of
-- totals when done.
local reqs, n, i = {}, 0, 0

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      n = n + 1
      reqs[n] = wrk.format("GET", line)
    end
  end
  i = math.random(n)
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"duration_us":%d,"requests":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p99":%d,"max":%d}}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
