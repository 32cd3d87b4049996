-- wrk script for the portal benchmarks (bench/harness.py::run_wrk sets the environment).
-- GET: sends the session cookie. POST: a form body whose {key} becomes a new idempotency key on
-- every request, unique per thread and run, with the CSRF token in the header and the body.
-- done() prints the figures as one JSON line that the harness reads.

local method = os.getenv("WRK_METHOD") or "GET"
local cookie = os.getenv("WRK_COOKIE") or ""
local body_template = os.getenv("WRK_BODY") or ""
local csrf = os.getenv("WRK_CSRF") or ""
local referer = os.getenv("WRK_REFERER") or ""
local run_id = tonumber(os.getenv("WRK_RUN") or "0")
local authorization = os.getenv("WRK_AUTHORIZATION") or ""
local content_type = os.getenv("WRK_CONTENT_TYPE") or "application/x-www-form-urlencoded"

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

local sent = 0

function request()
  local headers = {}
  if cookie ~= "" then headers["Cookie"] = cookie end
  if authorization ~= "" then headers["Authorization"] = authorization end
  if method == "POST" then
    sent = sent + 1
    local key = string.format("%08x-%04x-4000-8000-%012x", thread_id, run_id % 65536, sent)
    local body = string.gsub(body_template, "{key}", key)
    headers["Content-Type"] = content_type
    if authorization ~= "" then
      headers["Idempotency-Key"] = key
    else
      headers["X-CSRFToken"] = csrf
      headers["Referer"] = referer
    end
    return wrk.format("POST", nil, headers, body)
  end
  return wrk.format("GET", nil, headers, nil)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
