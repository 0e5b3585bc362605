-- Alternates register.json and remove.json of fresh addresses (11.x.y.z), each thread its
-- own range, so one cycle is two requests.
local token = os.getenv("BENCH_TOKEN")
local counter = 0
local base = 0
local threads = 0

function setup(thread)
  thread:set("base", threads * 4000000)
  threads = threads + 1
end

function request()
  local k = math.floor(counter / 2) + base
  local ip = string.format("11.%d.%d.%d", math.floor(k / 65536) % 256, math.floor(k / 256) % 256, k % 256)
  local path
  if counter % 2 == 0 then
    path = "/api/ipl/register.json?ip=" .. ip .. "&type=16&token=" .. token
  else
    path = "/api/ipl/remove.json?ip=" .. ip .. "&type=16&token=" .. token
  end
  counter = counter + 1
  return wrk.format("GET", path)
end
