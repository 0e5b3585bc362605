-- GET BENCH_PATH?ip=<one of the BENCH_N seeded addresses>&token=BENCH_TOKEN
local path = os.getenv("BENCH_PATH")
local token = os.getenv("BENCH_TOKEN")
local n = tonumber(os.getenv("BENCH_N"))

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

function request()
  local i = math.random(0, n - 1)
  local ip = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  return wrk.format("GET", path .. "?ip=" .. ip .. "&token=" .. token)
end
