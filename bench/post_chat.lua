-- wrk script for s1: POST a non-streaming chat completion on every request.
-- `python -m bench` passes the exact s1 body in BENCH_BODY; run by hand, the default below is used:
--   taskset -c 1 wrk -t1 -c64 -d10s -s bench/post_chat.lua http://127.0.0.1:8000/v1/chat/completions
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
  or '{"model":"mock-model","messages":[{"role":"user","content":"Benchmark the mock server: every token of this prompt is echoed back in turn."}],"max_tokens":16,"ignore_eos":true}'
if wrk.path == "/" then
  wrk.path = "/v1/chat/completions"
end
