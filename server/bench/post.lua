-- wrk script: POST an OFREP request. BODY and PATH come from the
-- environment (bench/run.sh sets them).
wrk.method = "POST"
wrk.body = os.getenv("BODY") or '{"context": {"targetingKey": "user-1"}}'
wrk.headers["Content-Type"] = "application/json"
local path = os.getenv("REQ_PATH")
if path then
  wrk.path = path
end

-- Vary the user per request, so that buckets and answers vary too.
local n = 0
request = function()
  n = n + 1
  local body = string.gsub(wrk.body, "user%-1", "user-" .. n)
  return wrk.format(nil, nil, nil, body)
end
