package main

// What bounds a row, from its profile; the report prints it beside a row that misses.
// Measured on the 2-core shared development machine (go test -cpuprofile, go tool pprof
// -top, GODEBUG=inittrace=1).
const (
	boundEncode = "Codec.Encode returns a fresh 896-byte slice holding the whole envelope, " +
		"schema included (json.Marshal's result is 272 bytes: the bare payload), so its time " +
		"is fresh memory: in its profile the copy of the schema prefix into new, cold memory " +
		"is 35 %, the scavenger's madvise 15 %, the heap lock 14 %, GC and its preemption " +
		"signals most of the rest. The encoding itself, Codec.Append into a reused buffer, " +
		"takes ≈ 145 ns with 0 allocations against 600–900 ns for json.Marshal, and the " +
		"functions only use Append (create-order's pooled buffer, validate-order's batch " +
		"arena). On a quiet machine the runs range 1.0–1.2×; with other work on the two " +
		"cores (load 4–15) single runs ranged 0.8–2.4×, since page faults and the heap lock " +
		"grow with the load and Encode allocates 3.3 times json.Marshal's bytes. The cost " +
		"is the collector's per cycle at the benchmark's 4 MB minimum heap, which Encode's " +
		"bytes reach 3.3 times as often: with GOGC=400 the same pair read 363–385 ns " +
		"against 558–638 ns (the row runs at the default). Returning a copy of an Append " +
		"into a pooled buffer, so that the fresh slice is written in one move, read no " +
		"better (838–861 against 794–844 ns). encoding/json writing the same envelope, " +
		"schema included (BenchmarkEncode/json.Marshal-envelope, 1,004 bytes), takes " +
		"2.3 µs, so Encode reads ≈ 0.35× against output of its own size. On one of this " +
		"machine's slower days (AMD EPYC, hello's init ≈ 14 ms) five make bench runs read " +
		"0.99–1.23× (median 1.19×; single runs 0.67–1.40×, the low ones where json.Marshal " +
		"ran slow) and ten pairs on the quiet machine 1.17–1.42×, Encode 780–880 ns against " +
		"json.Marshal's 615–735 ns. There a first touch of fresh memory costs ≈ 14 µs a " +
		"page (with GOGC=off, every encode on fresh pages, Encode took 3.3 µs), yet the " +
		"page faults are not the gap: GODEBUG=madvdontneed=0, which leaves the pages the " +
		"scavenger frees mapped, cut the faults from ≈ 11,000 to ≈ 2,400 per million " +
		"encodes and the pair read 1.15–1.30× against 1.21–1.33× (five runs each, in turns). " +
		"What is left is writing 3.3 times the bytes into memory the collector has just " +
		"swept, which is no longer in the cache, and the collector's cycles they bring."
	boundProduce = "the handler's own work (≈ 4.7 µs in-process: JSON body, rules, UUIDv5, " +
		"envelope, 201 body, one log line) adds to a produce round trip of ≈ 70 µs that " +
		"is bound by latency, not CPU (the profile shows the two cores half idle, in " +
		"loopback reads and writes and goroutine wake-ups), so the floor is ≈ 1.07×. " +
		"Switching one part off at a time (3 paired runs each) once put the log line " +
		"written after the ack at ≈ 6 % (1.13× without it); on a slower day, 18 passes " +
		"each in turns, the line formatted while the record is in flight and only " +
		"written after the ack read 1.13× against 1.15× (single passes 0.83–1.23× and " +
		"0.95–1.34×), inside the spread, so it is not kept. The produce deadline's context is " +
		"not work (≈ 1 µs with its timer) but a wake-up pattern: with handler and " +
		"ProduceSync requests taking turns in one loop, a handler with it read 1.15–1.17× " +
		"and one without 1.08× (a plain cancelable context as much as the deadline), yet " +
		"with five variants taking turns 1.02–1.06× and 0.98–1.03×; the profile shows " +
		"the broker's response writes taking longer, as they wake a sleeping reader, with " +
		"the same number of system calls. On a machine where a wake-up goes through the " +
		"hypervisor, which request ran before a request moves it by ±10 %. Since the " +
		"broker keeps no log between measurements the runs " +
		"agree within ±2 %; before, the broker's heap grew through both sub-benchmarks and " +
		"the one that ran second, ProduceSync, paid for it, which read 1.01–1.13×. " +
		"Taking turns again on a slower day (hello's init 12–15 ms), the handler read " +
		"1.15–1.20× with or without the deadline's context, with the 201 built during " +
		"the flight or after the ack, and with a ticker that keeps the Go netpoller from " +
		"sleeping without a deadline; in that profile the handler's own CPU is ≈ 12 µs a " +
		"request against 3.8 µs warm in BenchmarkHandle: after each wait for the ack its " +
		"code and data are cold. On a faster day (hello's init 3 ms, ProduceSync 50 µs), " +
		"request by request in turns against ProduceSync (4 runs each): the handler read " +
		"1.11–1.22×, its way of producing alone (the deadline's context, the pooled ack, " +
		"the select, the same record) 0.99–1.01×. So the gap is the handler's own work, " +
		"5–6 µs warm (its profile: the deadline's context and timer ≈ 1 µs, the body's " +
		"JSON 0.5 µs, the log line 0.5 µs, the envelope 0.35 µs, the order id's SHA-1 " +
		"0.3 µs; the 201 body, ≈ 1.2 µs, is built while the record is in flight), which " +
		"the in-process broker's 50 µs round trip makes a tenth of the row. Over five " +
		"make bench runs on a slower day (AMD EPYC, hello's init ≈ 14 ms, ProduceSync " +
		"78–89 µs) the row read 1.11–1.22× (single runs 0.94–1.45×): the handler added " +
		"8.6–21.9 µs a request (median of each run) where BenchmarkHandle, warm and " +
		"without the round trip, took 4.1–5.1 µs. That host's kernel runs with page-table " +
		"isolation and without PCID (pti=on in a PVM guest), so every system call empties " +
		"the TLB: one getppid before each request took BenchmarkHandle from 4.5 µs to " +
		"7.1–7.8 µs, the call alone 1.1–1.3 µs, and a request of the row makes ≈ 10 " +
		"(perf stat over 10,000 requests, kgo's and the in-process broker's together). " +
		"ProduceSync against itself, in the row's place, read 0.95–1.04× a pass (median " +
		"0.98×, 8 passes) while the handler read 1.08–1.34× (median 1.15×, 18 passes): " +
		"the gap is the handler's own work, which costs two to four times its warm time " +
		"after the round trip's system calls."
	boundBatch = "the handler does the baseline's work (base64, envelope decode, rules) and " +
		"then encodes 10,000 new envelopes (schema bytes copied per record), hands them to " +
		"kgo, which serialises and snappy-compresses the batches, while the in-process " +
		"broker decodes and stores them on the same two cores: in the profile route() is " +
		"≈ 43 % of CPU, the codec's Append ≈ 13 %, kgo/kfake request handling ≈ 15 %. The " +
		"per-record log line took ≈ 0.6 µs of route()'s ≈ 4 µs with slog's JSON handler and " +
		"takes ≈ 0.3 µs with logging.NewJSONHandler (the row went from 0.46–0.51× to " +
		"0.51–0.55×). Each variant warms up with one unmeasured batch, keeps only its own " +
		"event live, and produces to a broker whose log is dropped between batches outside " +
		"the timer (a real broker keeps it on its own disk, not on the function's heap). On " +
		"the machine's slower days, when each page fault and each wake-up of an idle core " +
		"goes through the hypervisor (see the cold-start note), two make bench runs read " +
		"0.43× (0.34–0.46×) and 0.41× (0.33–0.47×): the handler's side is system calls, " +
		"wake-ups and fresh memory for the broker, the baseline's is CPU alone. Since the " +
		"handler keeps a settled batch's arena for the next batch (page faults 450–1,200 " +
		"a batch → 50–120), the baseline keeps its decode buffer too, so that neither " +
		"side pays for fresh pages the other does not: in one set of 8 runs 0.54× " +
		"(0.36–0.62×), in a make bench run 0.39× (0.35–0.42×), the baseline reading " +
		"490–520k records/s against 325–420k before."
	boundRequestObserved = "the row takes turns, 32 requests at a time with the order " +
		"swapped every round, on the same API Gateway request with and without the " +
		"invocation's trace and metrics, because run one after the other the two read " +
		"1.16–1.72× within one make bench run; an A/A pair reads 0.99–1.01× this way. " +
		"Switched on one at a time, in turns (4 runs each): the metrics document adds " +
		"0.55–0.75 µs and no allocation (Flush alone, three metrics, ≈ 430 ns: two clock " +
		"reads, three numbers, each name twice), the trace headers 0.15–0.3 µs and 3 " +
		"allocations (512 bytes: the traceparent and X-Ray values and the header slice)."
	boundObserved = "the row takes turns, batch by batch on one handler and one broker (a " +
		"traced batch with its metrics document, then a plain one, the order swapped every " +
		"round), because run apart the two variants moved by up to ±15 % from one run to " +
		"the next (make bench read 0.72× to 1.05× on the same code); an A/A pair, plain " +
		"against plain, reads 0.985–1.03× this way. Both batches come as Lambda delivers " +
		"them: the trigger's JSON, read by decodeEvent, the traced records carrying " +
		"create-order's three headers (ordersync-event, traceparent, X-Ray). Until now the " +
		"harness built the event in memory, and its traced records lacked ordersync-event, " +
		"which flattered the row: the code of that time read 0.88–0.98× that way and " +
		"0.87–0.91× (8 runs) with the event as it comes. Since the handler takes each " +
		"record's headers as Kafka headers from one array the batch shares, as decodeEvent " +
		"reads them, instead of looking each up in a map of its own, the row reads " +
		"0.91–0.96× in five make bench runs (median 0.93×; single runs 0.84–1.04×), and " +
		"0.94–1.00× in five on a faster day (median 0.96×), 0.92–0.95× in five on a " +
		"slower one (median 0.94×; single runs 0.87–1.04×). " +
		"Switched off one at a time, against the same code in turns (5 runs " +
		"each, with the ±3 % spread above): the traceparent attribute on each record's log " +
		"line ≈ 1 % (30 ns warm in a micro-benchmark), the two trace headers carried to " +
		"the outputs ≈ 1 %; reading the header bytes ahead of the records, 32 at a time, " +
		"gained nothing. The rest is the ≈ 160 more bytes (18 %) each traced record puts " +
		"through kgo's serialisation and compression and the in-process broker, on the " +
		"same two cores (the compression codec changes nothing: snappy, lz4 and none read " +
		"alike). Until decodeEvent carved a batch's strings out of one buffer, a traced " +
		"event, read into a heap with more holes than the plain one's, had a record's value " +
		"next to the next one's for a quarter of its records (the plain one: half), and " +
		"routing it cost 220–300 ns a record more (producer acknowledging at once); in one " +
		"buffer, and with one pass over a record's headers, 100–135 ns, and the row reads " +
		"0.93–1.00× (median 0.97×) against 0.87–0.97× (median 0.92×) for the code before, " +
		"10 runs each taking turns. Around each batch, the traced one takes 1.02–1.06× the " +
		"plain one's process CPU time (12 runs). This row starts from the decoded event: " +
		"decodeEvent reads 10,000 traced records in 31–45 ms against 19–30 ms plain over " +
		"the days measured (encoding/json, which aws-lambda-go would use, takes 270–290 ms " +
		"for the traced ones)."
	boundSink = "the sink decodes the next batch while the current one is written, but on " +
		"two cores the decoding competes with MariaDB itself (and the in-process broker) for " +
		"the CPU. Decoding costs ≈ 1.2 µs per row since envelope.Decode recognises the last " +
		"schema by its bytes (it was ≈ 3.5 µs, ¾ of it scanning each record's schema text). " +
		"Per iteration of 100,000 rows the sink's own CPU is ≈ 0.35 s of its ≈ 1.5 s: " +
		"decoding ≈ 140 ms, building the statements' arguments ≈ 60 ms, the per-row INFO " +
		"line ≈ 60 ms on the write loop between batches, GC ≈ 40 ms; the rest is MariaDB's. " +
		"On top: the consumer group join (≈ 2 ms against kfake) and an offset commit per " +
		"batch. The baseline's own speed moves with MariaDB's state: 53k–83k rows/s across " +
		"runs on this machine. On its slower days (see the cold-start note) two make bench " +
		"runs read 0.70× (0.47–0.88×) and 0.83× (0.67–0.87×)."
	boundGetOrders = "both sides wait for MariaDB: the query's answer is most of a request " +
		"(≈ 1.2 ms for a list of 20, ≈ 0.2 ms for one order), and in the handler's profile " +
		"the process is on a CPU 13 % of the time. The handler's own work (the key check, " +
		"the cursor's HMAC, the JSON body) adds 13–31 allocations; what moves the row is " +
		"MariaDB's time from one run to the next. The list of 20 has read " +
		"0.75–1.00× in make bench since it was added, and 0.78×, 1.02×, 1.04× and 1.34× in " +
		"four runs on one of this machine's slower days (single runs 0.67–1.48×)."
	boundColdStart = "what a function does beyond hello, in interleaved starts and " +
		"GODEBUG=inittrace=1, on a quiet machine (hello's init ≈ 2.0–2.3 ms): package init " +
		"ends ≈ 2.7 ms after the start against hello's 1.5 ms; the init functions themselves " +
		"sum to 1.0 against 0.55 ms (the largest: klauspost/compress's snapref, a CRC-32C " +
		"table, 0.19 ms; kgo 0.1 ms), the rest is first touches of a bigger binary. In 30 " +
		"rounds of starts taken in turns, against hello: hello with kgo imported but unused " +
		"(6.6 MB) 1.07×, with every shared package imported but unused 1.15×, get-orders " +
		"(no Kafka; 8.3 MB) 1.29×, create-order 1.34–1.51×: what the functions run costs " +
		"more than what they link. The kgo client's warm-up, a goroutine started during " +
		"init, costs init ≈ 0.5 ms: on two cores it competes with init's own path and with " +
		"the runtime API that receives /next. A build that starts it 50 ms later reads " +
		"1.14× (2.66 against 3.34 ms), and one that starts it once the runtime client has " +
		"sent its first /next reads 1.29–1.32× against 1.42–1.49×, with the same first " +
		"invoke; neither is kept, as it only moves the work after init, and the second " +
		"needs a hook into aws-lambda-go's transport. The first invoke is bound by CPU: the " +
		"function has used 4.7–5.3 ms of it by its answer against hello's 2.7–3.05 ms. In " +
		"instrumented starts the event came 1.0–1.6 ms after run() began, the warm-up's " +
		"produce connection was ready 1.5–2.5 ms after it (kgo.NewClient 0.25–0.5 ms cold; " +
		"its default configuration clones kversion's table of ~40 release maps; then a dial " +
		"and ApiVersions on each of three connections, the producer id and the broker " +
		"list), and the ack came 0.1–0.3 ms later (the topic's metadata, which kgo has no " +
		"public way to ask for before the first record, and the produce). On two cores the " +
		"function's goroutines also wait for the broker process and the runtime API, so " +
		"every hop waits for a CPU; the CPU time beside each median is the steadier " +
		"comparison. On this machine's slower days (hello's init 12.6–15 ms) it runs as a " +
		"paravirtualised guest in which every page fault and page-table update goes " +
		"through the hypervisor, ≈ 17 µs each (touching 18 GiB of fresh memory took 102 s, " +
		"83 s of it in the kernel; its kernel also runs with page-table isolation and no " +
		"PCID, so each fault and system call empties the TLB), so the pages a start " +
		"touches are most of its time: " +
		"until /next hello takes ≈ 335 page faults, create-order and validate-order ≈ 500, " +
		"get-orders ≈ 357. Of create-order's extra faults before /next (perf record -e " +
		"page-faults over several starts): the order codec's build 21–36, the kgo client " +
		"12–54, klauspost/compress's package init 13, the runtime's start-up tables of a " +
		"bigger binary 15. Tried in 60–80 interleaved rounds, none kept: the codec's build " +
		"in the warm-up's goroutine instead of its own (±0.04×); the warm-up started before " +
		"the codec's build (init 1.39/1.35× against 1.31/1.28×, first invoke 1.60/1.61× " +
		"against 1.52/1.53×); the warm-up's thread at nice 19 (no better); GOMAXPROCS=1 " +
		"(init worse, first invoke better but hello's too); a build with the environment's " +
		"credentials only (−0.55 MB, −12 faults, no time measurable); the warm-up opening " +
		"each broker's produce and ordinary connections side by side once the broker list " +
		"is in, instead of one after the other (first invoke 1.59/1.54× against 1.50/1.48× " +
		"and 1.64/1.64× against 1.48/1.53×, 60 rounds each: the steps compete for the two " +
		"CPUs more than they wait on each other); each seed dialled twice as the producer " +
		"is made, so that the client's seed connection and first produce connection find " +
		"a connected socket (init 1.45–1.47× against 1.30–1.38×, first invoke 1.71× " +
		"against 1.67×, 60 rounds each, on a fast day: the same lesson); the producer's " +
		"connections without their version handshake (kgo.MaxVersions pinned to Kafka " +
		"2.4's without ApiVersions, so each connection sends its first request at once: " +
		"first invoke 1.45–1.52× against 1.63–1.67×), not kept because kgo, knowing no " +
		"broker versions, then skips the SASL handshake and sends the pre-0.10 framing, " +
		"which no SCRAM or IAM broker reads: it would speed up KAFKA_AUTH=none alone, the " +
		"mode this row runs in, and not the one Lambda runs in. The first invoke, " +
		"from kgo's connection hooks: the client is built ≈ 2 ms after its goroutine " +
		"starts, the seed connection's ApiVersions takes ≈ 2.5 ms to be answered while the " +
		"runtime hands over the event, and the produce connection is ready ≈ 6 ms after " +
		"the client; each step waits for one of two CPUs shared with the broker and the " +
		"runtime API. On a fast day (hello's init 2.3–3.3 ms in six make bench runs), init " +
		"met its target in 13 of the 24 readings (six runs, four modes) and the first " +
		"invoke missed in all six (1.58–1.83×): the functions' extra time was 0.6–1.1 ms " +
		"at init and 2.0–3.1 ms at the first invoke, a larger share of hello's shorter " +
		"time. Over 30 starts on that day " +
		"kgo's connection hooks give, as medians from the start of run() (p10–p90 " +
		"in brackets): the seed connection's first request goes out at 0.99 ms (0.81–2.01; " +
		"the client's build, then a loopback dial of 0.63 ms that waits for a CPU), the " +
		"event reaches the handler at 1.55 ms, the broker list comes at 2.05 ms, the " +
		"produce connection is ready at 2.44 ms (its dial 0.40 ms) and the ack at 3.22 ms: " +
		"the handler waits ≈ 1.7 ms, for the broker list, then a dial and a version " +
		"handshake on the produce connection, then the produce, each a round trip to a " +
		"broker in another process on the same two cores, where hello answers at once. No " +
		"GC runs before the answer (gctrace). On a slower day (AMD EPYC, hello's init " +
		"13.6–13.9 ms) two make bench runs read init 1.30–1.35× and 1.31–1.38×, and the " +
		"first invoke 1.38–1.42× and 1.58–1.60× (hello's 17.6 and 15.5 ms); on another, " +
		"three make bench runs (hello's init 11.6–12.7 ms) and a cold-start-only run read " +
		"init 1.32–1.51× and the first invoke 1.48–1.70×, the functions 4–6 ms and " +
		"≈ 170 page faults behind hello at init in the three, as on the slower days " +
		"before. Every " +
		"page fault of six starts of validate-order with msk-iam, recorded " +
		"with its stack, against six of hello (520 against 332 a start): kgo ≈ 72 (its " +
		"package init, which compiles a regular expression to check the client's software " +
		"version, 15; NewClient's default configuration, cloning kversion's release maps, " +
		"≈ 18; reading the build information for that version, 6; the rest the client's " +
		"goroutines and first connection attempts), goroutine stacks +38 (stack growth 51 " +
		"against 31), the order codec's build 28, the runtime's start-up tables +19, other " +
		"package inits +19. GODEBUG=inittrace=1 on that day: kgo's package init 0.31–0.58 " +
		"ms and klauspost/compress's snapref (its CRC-32C table) 0.20–0.45 ms, both in " +
		"modules ordersync does not own."
)

// optimisations is the part of BENCHMARKS.md that says what each optimisation bought;
// it is measured once by hand (profile, change, re-run) and kept here with the code.
const optimisations = `
## What the optimisations bought

Measured by hand on the same 2-core shared machine, each pair interleaved run by run so
that drift falls on both sides; medians of 5–6 runs.

| change | before | after |
| --- | --- | --- |
| create-order: ` + "`Produce`" + ` with a pooled promise and a channel, selected against the deadline, instead of ` + "`ProduceSync`" + ` in a goroutine per request | 99.6 µs per request, 1.36× bare ` + "`ProduceSync`" + ` | 92.5 µs, 1.19× (same runs) |
| create-order: the 201 body is built while the record is in flight; log lines skip slog's stack walk for a source location nobody logs | 3.87 µs in-process, 1.12× bare ` + "`ProduceSync`" + ` | 3.66 µs, 1.11× |
| envelope: ` + "`Codec.Append`" + ` into a reused buffer (create-order's pool, validate-order's batch arena) instead of ` + "`Encode`" + `'s fresh slice | 620–930 ns, 1 alloc | 140–185 ns, 0 allocs |
| envelope: generic ` + "`Decode`" + ` recognises a record's schema by comparing it with the last schema's bytes instead of scanning it for the cache key (the sink's decode path) | 3.0 µs, 67 allocs; sink 0.78× plain ` + "`database/sql`" + ` | 1.2 µs, 13 allocs; sink 0.82× |
| envelope: typed decode plan that recognises the codec's own schema bytes without parsing them, against the generic decoder | 3.1 µs, 808 B | 0.72 µs, 240 B (json.Unmarshal of the same bytes: 13 µs) |
| cold start: msk-iam credentials from the SDK's provider modules (environment, shared profile, container, IMDS) instead of ` + "`aws-sdk-go-v2/config`" + ` | package init 8.1 ms beyond hello's (sso, ssooidc, sts, signin endpoint tables and schemas among it); 12.91 MB linux/arm64 | 3.9 ms; 11.01 MB |
| cold start: no ` + "`lambda.WithEnableSIGTERM`" + ` (its flush saved nothing: every answer waits for the ack) | an extension registration, one Runtime API round trip before /next | none |
| cold start: the kgo client is built and connected (producer id, metadata, produce connections) by a goroutine; init builds only its options | ` + "`kafka.NewClient`" + ` on init's path, 1.1–1.3 ms (minimum of 21 starts); the first produce dials, asks ApiVersions, a producer id, metadata, then produces | 57 µs; the first produce finds the connections and producer id ready: metadata, then produce |
| first invoke: the warm-up also opens each broker's ordinary connection, on which kgo asks for a topic's partitions | the first produce dialled a connection and waited for its ApiVersions before its metadata request | the first produce opens no connection (TestProducerWarmsUp counts them) |
| first invoke: validate-order routes a first batch of up to 1,000 records whole, then hands it over at once | a batch going to three topics made two metadata requests in 6 of 15 cold starts, and kgo sends the second no sooner than 10 ms after the first | 1 in 15 |
| logs: ` + "`logging.NewJSONHandler`" + ` writes slog's JSON lines byte for byte (held equal by a fuzz target) without slog's generic attribute machinery, for every function, the sink and the stack | a traced record's line 0.79–0.84 µs; validate-order's batch 0.46–0.51× decode-only | 0.40–0.41 µs; 0.51–0.55× |
| sink: the per-row INFO line goes straight to the handler, without ` + "`slog.Logger`" + `'s stack walk for the caller's program counter, through the JSON handler ` + "`ordersync sink`" + ` logs with | 1.6 µs a row (text handler, with the stack walk); 62.5k rows/s (0.79–0.82× a baseline that read 78k) | 0.77 µs; 66.6k rows/s (0.78–0.83× a baseline that read 83k minutes later) |
| validate-order: a trigger header's one-entry map is read by looking up the trace headers' names before iterating | two headers 92 ns | 40 ns |
| cold start: get-orders makes its one Secrets Manager call, ` + "`GetSecretValue`" + `, itself (signed by the SDK's SigV4 signer, retried by its standard policy) instead of through ` + "`service/secretsmanager`" + ` | init 1.24× hello, 461 page faults until /next; 7.67 MB linux/arm64 | 1.03×, 357; 6.62 MB (25 interleaved rounds) |
| cold start: the project's packages do nothing at package init (sentinel errors without ` + "`fmt.Errorf`" + `, ranges by switch instead of a map literal, the schema cache's map made on first use); ` + "`TestPackageInitBuildsNothing`" + ` holds it | envelope's init 0.16–0.32 ms and 11 allocations, create-order's 0.12 ms (the first use of fmt in the process); validate-order's init 1.28–1.35× hello | 0.02–0.04 ms and none, none; 1.17–1.19× (50–60 interleaved rounds) |
| validate-order reads its trigger's event with the envelope's syntax layer (` + "`decodeEvent`" + `, held to encoding/json's reading by a fuzz target) instead of aws-lambda-go's encoding/json; the function is a ` + "`lambda.Handler`" + ` of the payload bytes | a 10,000-record event of traced records, as the trigger writes it (each header byte a JSON number), 240–265 ms to decode: more than the 65–70 ms the handler takes to validate and publish it; first invoke 1.54–1.55× hello | 31–39 ms (` + "`BenchmarkDecodeEvent`" + `; 22–27 ms without trace headers); 1.40–1.45× (50–80 interleaved rounds) |
| validate-order writes a batch's per-record log lines together once the batch is routed (` + "`logging.Hold`" + `), not one write each; Lambda reads a function's output through a pipe (the Go benchmarks log to io.Discard, so no row shows it) | 10,000 lines of 210 bytes written to a pipe one by one: 30–36 ms | 2.7 ms |
| create-order and get-orders read their API Gateway event and write their answer without encoding/json (` + "`httpapi.ReadRequest`" + `, ` + "`AppendResponse`" + `; a fuzz target holds the reading to encoding/json's) | first invoke 1.57× hello, the reflection decode of the event and encode of the answer cold | 1.50× (80 interleaved rounds) |
| validate-order keeps the arena of a batch whose outputs were all acknowledged (pointers zeroed) for the next batch, instead of carving every batch out of fresh memory | 450–1,200 page faults a 10,000-record batch; 200k records/s (batches in turns, one broker) | 50–120; 250k records/s |
| logs: the JSON handler checks and writes a line's attributes in one pass, not two | a traced record's line 290–300 ns | 270 ns |
| cold start: ` + "`order.Codec`" + ` built lazily, by a goroutine started at the top of run() | package init with 0.4–0.75 ms of reflection; first invoke 26.1 ms (create-order), 29.8 ms (validate-order) | 25.2 ms, 28.0 ms (25 interleaved rounds) |
| validate-order: ` + "`decodeEvent`" + ` reads each record's headers straight into Kafka headers, in one array the batch shares (the names ordersync writes without a copy), instead of a Go map per header that the handler then looked up | a 10,000-record event of traced records (create-order's three headers) 47–51 ms to decode, 160k allocations; the traced batch in turns 0.87–0.91× | 31–35 ms, 40k allocations; 0.92–0.96× |
| validate-order: ` + "`decodeEvent`" + ` carves a batch's keys, values and topics out of one buffer, in record order, instead of allocating each | 40,113 allocations for 10,000 records; a traced event's values lay next to each other for a quarter of its records, and routing it cost 220–300 ns a record more than a plain one (producer acknowledging at once) | 114 allocations; 100–135 ns, with the next change |
| validate-order: one pass over a record's headers copies them into the arena without ordersync-event and finds its traceparent, instead of a copy, a filter and a search | the traced batch in turns 0.87–0.97× (median 0.92×) | 0.93–1.00× (median 0.97×), with the two changes beside it (10 interleaved runs each) |
| logs: the JSON handler reads a string's last bytes as one 8-byte window, not byte by byte | ` + "`BenchmarkJSONHandler`" + ` 389 ns | 337 ns |

Changes to how things are measured, not to what: a Go benchmark's ratio is the median of
per-run ratios (each run against the baseline run next to it), and cold starts take turns
binary by binary, because on this machine the same create-order code read 1.06× in one
` + "`make bench`" + ` and 1.19× in interleaved runs minutes later. ` + "`BenchmarkHandleKfake`" + ` warms both
paths (2,000 requests each) before measuring either: without it the sub-benchmark that ran
first paid for the broker's log and the heap growing, 1.16× with the handler first against
1.07× with ` + "`ProduceSync`" + ` first (6 interleaved runs each); with it, 1.08× and 1.09×. Each cold
start has a Runtime API server of its own: with one shared server, a process's second
/next, sent just before it was killed, could take the next start's event (then the start
hung and stopped the run: one start in 240–400 of functions run with GOMAXPROCS=1, which
answer sooner) or pass for its first /next (a too-short init). Page faults are counted
beside each start's CPU time, and a cold-start row takes 60 rounds of starts, not 30: 25
rounds of the same binaries read medians 0.1× apart from one set to the next. The
traced-batch row takes turns batch by batch (` + "`BenchmarkBatch/observed-in-turns`" + `), and
the plain batch's decode-only baseline keeps its buffer from one batch to the next, as the
handler keeps its arena. The batch rows' events, the baseline's included, are read from the
trigger's JSON by the function's own reader, as in Lambda, where the harness used to build
them in memory; the traced records carry ordersync-event, as create-order writes it.
The Go benchmarks now run in 8 passes, each once per pass, and a row pairs the runs of
one pass: ` + "`go test -count`" + ` runs each benchmark its 8 times in a row, so a run and its
baseline's were 8 runs (10–40 s) apart. The spread within a run did not narrow (in the
first such run the produce row read 1.03–1.47×): it comes from seconds, not minutes.
create-order's traced row takes turns with its baseline, 32 requests at a time
(` + "`BenchmarkHandleObserved`" + ` reports both), and both now serve the same request, with
API Gateway's usual headers (the traced one used to serve a request with none of them).
`
