// bare_ort.mjs times an ONNX image model with ONNX Runtime used directly
// from Node (onnxruntime-node, installed by install-node.sh): the
// reference point for ganrt's own overhead. It feeds one fixed random
// float32 tensor "image" [batch, 3, size, size] and times session.run.
//
//   node bare_ort.mjs --model M.onnx [--size 256] [--batch 1] [--iters 20]
//                     [--warmup 3] [--threads 0]
//
// It prints one JSON object: the ORT version and the run times in ms.
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    size: { type: 'string', default: '256' },
    batch: { type: 'string', default: '1' },
    iters: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string', default: '0' },
  },
});
if (!a.model) {
  console.error('bare_ort: --model is required');
  process.exit(2);
}
const size = Number(a.size), batch = Number(a.batch), iters = Number(a.iters),
  warmup = Number(a.warmup), threads = Number(a.threads);

const opts = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
if (threads > 0) opts.intraOpNumThreads = threads;
const session = await ort.InferenceSession.create(a.model, opts);

// A fixed pseudo-random input in [-1, 1] (xorshift32).
const data = new Float32Array(batch * 3 * size * size);
let s = 2463534242;
for (let i = 0; i < data.length; i++) {
  s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
  data[i] = (s / 4294967296) * 2 - 1;
}
const feeds = { image: new ort.Tensor('float32', data, [batch, 3, size, size]) };

for (let i = 0; i < warmup; i++) await session.run(feeds);
const times = [];
for (let i = 0; i < iters; i++) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const sorted = [...times].sort((x, y) => x - y);
const rank = (q) => sorted[Math.max(Math.ceil(q * sorted.length) - 1, 0)];
console.log(JSON.stringify({
  onnxruntime_version: ort.env.versions.common,
  size, batch, iters, warmup, threads,
  p50_ms: rank(0.5), p90_ms: rank(0.9), mean_ms: times.reduce((x, y) => x + y, 0) / times.length,
  min_ms: sorted[0], times_ms: times,
}));
