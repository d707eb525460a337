-- wrk script: POST ingestComplaints batches of BATCH new complaints (unique external ids per
-- run, thread and request), without categories, so each is classified, routed and given
-- deadlines. Every response is checked for "created":BATCH.
local batch = tonumber(os.getenv("BATCH") or "1000")
local texts = {
  "В больнице нет лекарств для льготников, инсулин не выдают с начала месяца",
  "Автобус маршрута №12 не ходит по расписанию, ждём по сорок минут",
  "Огромная яма на дороге у дома 15, повредили колесо",
  "В доме нет горячей воды уже неделю, управляющая компания молчит",
  "В школе холодно в классах, дети сидят в куртках",
  "Свалка мусора за гаражами, жгут отходы, дышать невозможно",
  "Не пришло детское пособие за прошлый месяц",
  "Открытый люк у подъезда, опасно для детей",
  "Прошу установить детскую площадку во дворе",
  "Не работает светофор на перекрёстке, водители не видят знаки",
}
local counter = 0
local bad = 0
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", string.format("%d-%d", os.time(), next_id))
  table.insert(threads, thread)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("CUR_BENCH_TOKEN"), "CUR_BENCH_TOKEN")

request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, batch do
    parts[i] = string.format(
      '{"source":"VK","externalId":"bench-%s-%d-%d","text":"%s","municipalityId":"%d","author":{"name":"Житель %d"}}',
      tid, counter, i, texts[(i % #texts) + 1], (i % 22) + 1, i)
  end
  local body = '{"query":"mutation($input: [IngestComplaintInput!]!) { ingestComplaints(input: $input) { created duplicates rejected } }","variables":{"input":['
    .. table.concat(parts, ",") .. ']}}'
  return wrk.format(nil, "/graphql", nil, body)
end

response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"created":' .. batch, 1, true) then
    bad = bad + 1
  end
end

done = function(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do
    failed = failed + (t:get("bad") or 0)
  end
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT complaints_per_s=%.1f batches=%d p50_ms=%.1f p99_ms=%.1f failed=%d non2xx=%d\n",
    summary.requests * batch / secs, summary.requests,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, failed, summary.errors.status))
end
