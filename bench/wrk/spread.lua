-- Spreads wrk's threads over several ipls instances (BENCH_PORTS=p1,p2,...): thread i talks to
-- instance i mod N, as a load balancer would spread connections. The requests are those of
-- BENCH_SCRIPT (random_ip.lua or register_remove.lua), loaded here.
dofile(os.getenv("BENCH_SCRIPT"))
local script_setup = setup
local ports = {}
for port in string.gmatch(os.getenv("BENCH_PORTS"), "%d+") do
  table.insert(ports, port)
end
local started = 0

function setup(thread)
  thread.addr = wrk.lookup("127.0.0.1", ports[(started % #ports) + 1])[1]
  started = started + 1
  if script_setup then
    script_setup(thread)
  end
end
