-- bench/http_search.lua: the wrk script of bench_http's cross-check (bench/bench_http.c).
-- POSTs one fixed search body, the file named by VS_WRK_BODY (bench_http writes its first
-- query there), to the URL given on wrk's command line
-- (http://127.0.0.1:PORT/collections/bench/points/search), keep-alive, no Lua per request:
--   VS_WRK_BODY=body.json wrk -t1 -c64 -d15s --latency -s bench/http_search.lua URL
-- wrk counts answers other than 2xx/3xx itself ("Non-2xx or 3xx responses").
local path = os.getenv("VS_WRK_BODY")
if not path then
  io.stderr:write("http_search.lua: set VS_WRK_BODY to a file holding the search body\n")
  os.exit(2)
end
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
